/**
 * A score module with zod schemas behind an API key: requests are validated against the
 * inputSchema, /swagger.json is generated from both schemas, and /score wants the key
 * while the probes and the swagger document do not. With --log-bodies the request log
 * shows the body (never the key).
 */
import { Agent } from 'undici';
import { call, fixture, postJson, startServe, waitForOutput, type ServeProcess } from './helpers/serve-process';

const API_KEY = 'test-key-0123456789';
const AUTH = { authorization: `Bearer ${API_KEY}` };

let serve: ServeProcess;
const agent = new Agent();

beforeAll(async () => {
  serve = await startServe(['--entry-script', fixture('schema.ts'), '--log-bodies'], {
    env: { SCORELINE_API_KEY: API_KEY, SERVICE_NAME: 'feature-summer', SERVICE_VERSION: '2.1' },
  });
});

afterAll(async () => {
  await agent.close();
  await serve?.stop();
});

describe('API key', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer wrong-key' }],
    ['the key without Bearer', { authorization: API_KEY }],
  ])('refuses /score with %s: 401 and WWW-Authenticate', async (_case, headers) => {
    const reply = await postJson(agent, `${serve.url}/score`, { data: [[1]] }, headers);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe('Bearer');
    expect(typeof reply.json().message).toBe('string');
  });

  it('serves /score with the key', async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { data: [[1, 2]] }, AUTH);
    expect(reply.status).toBe(200);
  });

  it.each(['/', '/ready', '/swagger.json'])('leaves %s open', async (route) => {
    expect((await call(agent, `${serve.url}${route}`)).status).toBe(200);
  });
});

describe('inputSchema', () => {
  it("gives run() the schema's parsed value (defaults applied)", async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { data: [[1, 2], [3, 4]] }, AUTH);
    expect(reply.json()).toEqual({ sums: [3, 7] });
    const scaled = await postJson(agent, `${serve.url}/score`, { data: [[1, 2]], scale: 10 }, AUTH);
    expect(scaled.json()).toEqual({ sums: [30] });
  });

  it.each([
    ['a wrong type', { data: 'not rows' }, ['data']],
    ['a missing field', { scale: 2 }, ['data']],
    ['a wrong nested type', { data: [[1, 'x']] }, ['data', 0, 1]],
  ])('refuses %s with 400 and the zod issues', async (_case, body, issuePath) => {
    const reply = await postJson(agent, `${serve.url}/score`, body, AUTH);
    expect(reply.status).toBe(400);
    const { message, issues } = reply.json();
    expect(message).toMatch(/does not match the score module's inputSchema/);
    expect(issues[0].path).toEqual(issuePath);
    expect(reply.headers['x-ms-run-function-failed']).toBe('False');
  });
});

describe('/swagger.json', () => {
  it('is Swagger 2.0 by default, with the schemas as ServiceInput and ServiceOutput', async () => {
    const doc = (await call(agent, `${serve.url}/swagger.json`)).json();
    expect(doc.swagger).toBe('2.0');
    expect(doc.info).toMatchObject({ title: 'feature-summer', version: '2.1' });
    expect(doc.definitions.ServiceInput).toMatchObject({
      type: 'object',
      properties: { data: { type: 'array', description: 'rows of features', items: { type: 'array', items: { type: 'number' } } } },
      required: ['data'],
    });
    expect(doc.definitions.ServiceOutput).toMatchObject({ type: 'object', properties: { sums: { type: 'array' } } });
    expect(doc.paths['/score'].post.parameters[0].schema).toEqual({ $ref: '#/definitions/ServiceInput' });
    expect(doc.paths['/score'].post.security).toEqual([{ Bearer: [] }]);
  });

  it.each([
    ['3', '3.0.1'],
    ['3.1', '3.1.0'],
  ])('is OpenAPI for ?version=%s', async (version, openapi) => {
    const doc = (await call(agent, `${serve.url}/swagger.json?version=${version}`)).json();
    expect(doc.openapi).toBe(openapi);
    expect(doc.components.schemas.ServiceInput.properties.data.description).toBe('rows of features');
    expect(doc.paths['/score'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ServiceInput' });
    // As azmlinfsrv's OpenAPI template: the Bearer requirement at the top and on /score.
    expect(doc.security).toEqual([{ Bearer: [] }]);
    expect(doc.paths['/score'].post.security).toEqual([{ Bearer: [] }]);
    expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: 'apiKey', name: 'Authorization', in: 'header' });
  });

  it('answers an unknown version with 404 naming the supported ones', async () => {
    const reply = await call(agent, `${serve.url}/swagger.json?version=4`);
    expect(reply.status).toBe(404);
    expect(reply.json().message).toBe('Swagger version [4] is not valid. Supported versions: [2, 3, 3.1].');
  });
});

describe('--log-bodies', () => {
  it('adds the request body to the request log line, and never the API key', async () => {
    await postJson(agent, `${serve.url}/score`, { data: [[42, 43]] }, { ...AUTH, 'x-request-id': 'logged-body' });
    await waitForOutput(serve, (output) => output.includes('request_id=logged-body'));
    const line = serve.output().split('\n').find((each) => each.includes('request_id=logged-body'));
    expect(line).toContain('body="{\\"data\\":[[42,43]]}"');
    expect(serve.output()).not.toContain(API_KEY);
  });
});
