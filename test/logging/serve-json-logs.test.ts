/**
 * `scoreline serve --log-format json` from the outside (the built CLI on a free port, with
 * its embedded engine on an empty repository): every line on stdout and stderr is a JSON
 * object; a /score request's lines (the request line, the module's context.logger lines,
 * run()'s failure) carry its request id. And the default text lines of the same requests,
 * as they have always been written.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { postJson, startServe, waitForOutput, type ServeProcess } from '../frontend/helpers/serve-process';

const MODULE = path.join(__dirname, 'fixtures', 'logging-module.cjs');

/** The child's stdout and stderr apart (the helper interleaves them). */
function streams(serve: ServeProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  serve.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  serve.child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { out: () => out, err: () => err };
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('scoreline serve --log-format json', () => {
  let serve: ServeProcess;
  let output: { out: () => string; err: () => string };
  const agent = new Agent({ connections: 2 });

  beforeAll(async () => {
    const repository = mkdtempSync(path.join(tmpdir(), 'scoreline-empty-repository-'));
    serve = await startServe(
      ['--entry-script', MODULE, '--log-format', 'json', '--model-repository', repository, '--engine-http-port', '0', '--engine-grpc-port=-1', '--engine-metrics-port', '0'],
      { waitUntilServing: false },
    );
    output = streams(serve);
    await waitForOutput(serve, (text) => text.includes('"logger":"serve primary","message":"serving on'), 60_000);
  }, 90_000);

  afterAll(async () => {
    await serve?.stop();
    await agent.close();
  });

  it("puts a request's id on its request line and on the lines its module logs", async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { rows: [1, 2, 3] }, { 'x-request-id': 'json-req-1' });
    expect(reply.status).toBe(200);
    await waitForOutput(serve, (text) => /"message":"request".*"request_id":"json-req-1"/.test(text));
    const records = lines(output.out()).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => r.message === 'request' && r.request_id === 'json-req-1')).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      logger: 'serve worker 1',
      message: 'request',
      method: 'POST',
      path: '/score',
      status: 200,
      duration_ms: expect.stringMatching(/^\d+\.\d{3}$/),
      request_id: 'json-req-1',
    });
    expect(records.find((r) => r.message === 'scoring' && r.request_id === 'json-req-1')).toMatchObject({ level: 'info', logger: 'serve worker 1', rows: 3 });
  });

  it("writes run()'s failure to stderr as one JSON line with the request id, its stack in the message", async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { fail: true }, { 'x-request-id': 'json-req-2' });
    expect(reply.status).toBe(500);
    await waitForOutput(serve, (text) => text.includes('"request_id":"json-req-2"') && text.includes('run() failed'));
    const failure = lines(output.err()).map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.request_id === 'json-req-2');
    expect(failure).toMatchObject({ level: 'error', logger: 'serve worker 1', message: expect.stringMatching(/^run\(\) failed: Error: asked to fail\n\s+at /) });
    expect(lines(output.out()).some((line) => line.includes('run() failed'))).toBe(false);
  });

  it('writes nothing but JSON objects, the embedded engine and the primary included', async () => {
    const records = [...lines(output.out()), ...lines(output.err())].map((line) => JSON.parse(line) as Record<string, unknown>);
    const loggers = new Set(records.map((r) => r.logger));
    expect(loggers).toEqual(new Set(['serve primary', 'serve worker 1', 'engine']));
    expect(records.find((r) => r.logger === 'engine' && /^HTTP service listening on /.test(String(r.message)))).toBeDefined();
    expect(records.find((r) => r.logger === 'serve primary' && r.message === 'serving on ' + serve.url)).toMatchObject({ workers: 1, engine: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  });
});

describe('scoreline serve, default text logs', () => {
  let serve: ServeProcess;
  let output: { out: () => string; err: () => string };
  const agent = new Agent({ connections: 2 });

  beforeAll(async () => {
    serve = await startServe(['--entry-script', MODULE]);
    output = streams(serve);
  }, 90_000);

  afterAll(async () => {
    await serve?.stop();
    await agent.close();
  });

  it('are the lines they always were: key=value fields, the request id in the failure message', async () => {
    expect((await postJson(agent, `${serve.url}/score`, { rows: [1] }, { 'x-request-id': 'text-req-1' })).status).toBe(200);
    expect((await postJson(agent, `${serve.url}/score`, { fail: true }, { 'x-request-id': 'text-req-2' })).status).toBe(500);
    await waitForOutput(serve, (text) => text.includes('request_id=text-req-2\n'));
    const stamp = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    expect(output.out()).toMatch(new RegExp(`^${stamp} INFO serve worker 1: scoring rows=1$`, 'm'));
    expect(output.out()).toMatch(new RegExp(`^${stamp} INFO serve worker 1: request method=POST path=/score status=200 duration_ms=\\d+\\.\\d{3} request_id=text-req-1$`, 'm'));
    expect(output.err()).toMatch(new RegExp(`^${stamp} ERROR serve worker 1: run\\(\\) failed request_id=text-req-2: Error: asked to fail$`, 'm'));
    expect(output.out()).not.toContain('{"');
  });
});
