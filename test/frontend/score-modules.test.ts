/**
 * Entry scripts in every format the server loads (`.ts` is covered by the other suites),
 * and raw modules that handle HTTP themselves.
 */
import { Agent } from 'undici';
import { call, fixture, postJson, startServe, type ServeProcess } from './helpers/serve-process';

const agent = new Agent();
afterAll(() => agent.close());

describe.each([
  ['echo.mjs', 'mjs'],
  ['echo.cjs', 'cjs'],
  ['echo.js', 'js'],
])('an entry script %s', (file, format) => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture(file)]);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it('is loaded, initialised once and run', async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { x: 1 });
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ format, ready: true, data: { x: 1 } });
  });

  if (format === 'js') {
    it("resolves require('scoreline') to the serving copy", async () => {
      const reply = await postJson(agent, `${serve.url}/score`, {});
      expect(reply.json().registry).toBe(true);
    });
  }
});

describe('a raw module (rawHttp = true)', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture('raw.ts')]);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it.each([
    ['POST', '?a=1', 'payload bytes'],
    ['GET', '?q=%5B1%5D', undefined],
    ['PUT', '', 'put body'],
    ['DELETE', '', undefined],
  ])('gets the web Request for %s and its Response is sent as it is', async (method, search, body) => {
    const reply = await call(agent, `${serve.url}/score${search}`, { method, body, headers: { 'x-custom': 'custom-value', 'x-request-id': 'raw-1' } });
    expect(reply.status).toBe(201);
    expect(reply.headers['x-raw']).toBe('yes');
    expect(reply.headers['x-request-id']).toBe('raw-1');
    expect(reply.json()).toEqual({ method, path: '/score', search, body: body ?? '', custom: 'custom-value' });
  });
});
