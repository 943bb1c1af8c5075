/**
 * The HTTP contract of `scoreline serve`, row by row, against the built CLI serving a real
 * TypeScript score module (fixtures/behaviours.ts) without an engine.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { PACKAGE_ROOT, call, fixture, postJson, startServe, waitForOutput, type ServeProcess } from './helpers/serve-process';

const TIMEOUT_MS = 1500;
const ALLOWED_ORIGIN = 'https://allowed.example';

let serve: ServeProcess;
let modelDir: string;
const agent = new Agent({ connections: 16 });

beforeAll(async () => {
  modelDir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-model-dir-'));
  await writeFile(path.join(modelDir, 'weights.bin'), 'w');
  serve = await startServe(
    ['--entry-script', fixture('behaviours.ts'), '--worker-count', '1', '--model-dir', modelDir, '--max-body-bytes', '1024', '--max-concurrency', '2'],
    { env: { SCORING_TIMEOUT_MS: String(TIMEOUT_MS), AML_CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://other.example` } },
  );
});

afterAll(async () => {
  await agent.close();
  const exit = await serve?.stop();
  expect(exit).toEqual({ code: 0, signal: null });
  await rm(modelDir, { recursive: true, force: true });
});

const score = (value: unknown, headers: Record<string, string> = {}) => postJson(agent, `${serve.url}/score`, value, headers);

describe('health', () => {
  it('answers GET / with 200 Healthy', async () => {
    const reply = await call(agent, `${serve.url}/`);
    expect([reply.status, reply.text]).toEqual([200, 'Healthy']);
  });

  it('answers GET /ready with 200 when init() finished and no engine is configured', async () => {
    const reply = await call(agent, `${serve.url}/ready`);
    expect(reply.status).toBe(200);
  });
});

describe('init()', () => {
  it('ran once in the worker, with the model directory, no engine and AZUREML_MODEL_DIR set', async () => {
    const reply = await score({ action: 'init' });
    expect(reply.json()).toEqual({ initCalls: 1, modelDir, engineUrl: null, hasClient: false, workerId: 1, azuremlModelDir: modelDir });
  });
});

describe('POST /score', () => {
  it('passes the parsed JSON body to run() and sends its result as JSON', async () => {
    const reply = await score({ action: 'echo', value: [1, { a: 'b' }] });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.json()).toMatchObject({ value: [1, { a: 'b' }] });
    expect(reply.headers['x-ms-run-function-failed']).toBe('False');
    expect(reply.headers['x-ms-run-fn-exec-ms']).toMatch(/^\d+\.\d{3}$/);
  });

  it('passes a body that is not JSON to run() as the raw string', async () => {
    const reply = await call(agent, `${serve.url}/score`, { method: 'POST', body: 'hello, not json' });
    expect(reply.json()).toEqual({ received: 'hello, not json' });
  });

  it('refuses a body that is not UTF-8 with 400', async () => {
    const reply = await call(agent, `${serve.url}/score`, { method: 'POST', body: Buffer.from([0xff, 0xfe, 0x00]) });
    expect(reply.status).toBe(400);
    expect(reply.json().message).toMatch(/UTF-8/);
  });

  it.each([
    ['undefined', {}],
    ['string', 'a string'],
  ])('sends a run() result of %s as %j', async (action, expected) => {
    const reply = await score({ action });
    expect([reply.status, reply.json()]).toEqual([200, expected]);
  });

  it('sends a web Response returned by run() as it is, with the server headers added', async () => {
    const reply = await score({ action: 'response' });
    expect(reply.status).toBe(418);
    expect(reply.text).toBe('short and stout');
    expect(reply.headers['x-teapot']).toBe('yes');
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.headers['x-request-id']).toBeDefined();
  });

  it('refuses a body over the limit with 413', async () => {
    const reply = await call(agent, `${serve.url}/score`, { method: 'POST', body: 'x'.repeat(4096) });
    expect(reply.status).toBe(413);
    expect(reply.json().message).toBe('Request body exceeds the limit of 1024 bytes');
  });
});

describe('GET /score', () => {
  it.each([
    ['?a=1&b=[1,2]&c=x&d=null', { a: 1, b: [1, 2], c: 'x', d: null }],
    ['?foo=bar1&foo=bar2&x=y', { foo: ['bar1', 'bar2'], x: 'y' }],
    ['?s=%22quoted%22&t=true', { s: 'quoted', t: true }],
    ['', {}],
  ])('parses the query %s as JSON values', async (query, expected) => {
    const reply = await call(agent, `${serve.url}/score${query}`);
    expect(reply.json()).toEqual({ received: expected });
  });
});

describe('run() failures', () => {
  it('answers a throwing run() with 500, AzureML message and x-ms-run-function-failed: True; the worker lives on', async () => {
    const reply = await score({ action: 'throw', message: 'boom in run' });
    expect(reply.status).toBe(500);
    expect(reply.json()).toEqual({ message: 'An unexpected error occurred in scoring script. Check the logs for more info.' });
    expect(reply.headers['x-ms-run-function-failed']).toBe('True');
    const logged = new RegExp(`run\\(\\) failed request_id=${reply.headers['x-request-id']}: Error: boom in run`);
    await waitForOutput(serve, (output) => logged.test(output));
    expect((await score({ action: 'pid' })).status).toBe(200);
  });

  it('passes a scoreline InvalidArgumentError thrown by run() through as 400 with its message', async () => {
    const reply = await score({ action: 'invalid', message: 'data must have 4 features' });
    expect([reply.status, reply.json()]).toEqual([400, { message: 'data must have 4 features' }]);
    expect(reply.headers['x-ms-run-function-failed']).toBe('False');
  });

  it('answers 500 when the result cannot be sent as JSON', async () => {
    const reply = await score({ action: 'bigint' });
    expect(reply.status).toBe(500);
    expect(reply.headers['x-ms-run-function-failed']).toBe('True');
  });

  it('answers at SCORING_TIMEOUT_MS with 500 "Scoring timeout" (as azmlinfsrv), not when run() finishes, and aborts context.signal', async () => {
    const started = performance.now();
    const reply = await score({ action: 'sleep', ms: 20_000 });
    const elapsed = performance.now() - started;
    expect(reply.status).toBe(500);
    expect(reply.json()).toEqual({ message: `Scoring timeout after ${TIMEOUT_MS} ms` });
    expect(reply.headers['x-ms-run-function-failed']).toBe('True');
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1000);
    expect((await score({ action: 'lastAbort' })).json()).toEqual({ lastAbort: `Scoring timeout after ${TIMEOUT_MS} ms` });
  });
});

describe('x-ms-server-version', () => {
  it.each([
    ['/score', () => score({ action: 'echo' })],
    ['/', () => call(agent, `${serve.url}/`)],
    ['a 404', () => call(agent, `${serve.url}/no-such-route`)],
  ])('is scoreline/<version> on %s, as azmlinfsrv sends azmlinfsrv/<version>', async (_route, send) => {
    const { version } = JSON.parse(await readFile(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect((await send()).headers['x-ms-server-version']).toBe(`scoreline/${version}`);
  });
});

describe('request ids', () => {
  it('echoes x-request-id and x-ms-client-request-id and hands them to run()', async () => {
    const reply = await score({ action: 'echo' }, { 'x-request-id': 'req-1', 'x-ms-client-request-id': 'client-1' });
    expect(reply.headers['x-request-id']).toBe('req-1');
    expect(reply.headers['x-ms-client-request-id']).toBe('client-1');
    expect(reply.headers['x-ms-request-id']).toBe('client-1');
    expect(reply.json()).toMatchObject({ requestId: 'req-1', clientRequestId: 'client-1' });
  });

  it('generates a UUID x-request-id when the client sends none', async () => {
    const reply = await score({ action: 'echo' });
    expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(reply.json().requestId).toBe(reply.headers['x-request-id']);
    expect(reply.headers['x-ms-client-request-id']).toBeUndefined();
  });

  it.each(['x-request-id', 'x-ms-client-request-id', 'x-ms-request-id'])('refuses a %s over 100 characters with 431', async (header) => {
    const ok = await score({ action: 'echo' }, { [header]: 'a'.repeat(100) });
    expect(ok.status).toBe(200);
    const reply = await score({ action: 'echo' }, { [header]: 'a'.repeat(101) });
    expect(reply.status).toBe(431);
    expect(reply.json().message).toMatch(/must not exceed 100 characters/);
  });

  it('writes one log line per request with method, path, status, duration and request id, and no body', async () => {
    await score({ action: 'echo', value: 'secret-body-value' }, { 'x-request-id': 'logged-request' });
    // The line is written once the response has gone out, which may be just after the client has it.
    await waitForOutput(serve, (output) => output.includes('request_id=logged-request'));
    const lines = serve.output().split('\n').filter((line) => line.includes('request_id=logged-request'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO serve worker 1: request method=POST path=\/score status=200 duration_ms=\d+\.\d{3} request_id=logged-request$/);
    expect(serve.output()).not.toContain('secret-body-value');
  });
});

describe('concurrency limit', () => {
  it('answers 429 with Retry-After beyond --max-concurrency in flight, and serves again once they finish', async () => {
    const slow = [score({ action: 'sleep', ms: 700 }), score({ action: 'sleep', ms: 700 })];
    await new Promise((resolve) => setTimeout(resolve, 150));
    const refused = await score({ action: 'pid' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect((await Promise.all(slow)).map((reply) => reply.status)).toEqual([200, 200]);
    expect((await score({ action: 'pid' })).status).toBe(200);
  });
});

describe('CORS and OPTIONS', () => {
  it('answers a preflight from an allowed origin with the CORS headers', async () => {
    const reply = await call(agent, `${serve.url}/score`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(reply.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    expect(reply.headers['access-control-allow-headers']).toBe('content-type, authorization');
  });

  it('gives a preflight from another origin no CORS headers', async () => {
    const reply = await call(agent, `${serve.url}/score`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(reply.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('marks responses to an allowed origin readable, ids included', async () => {
    const reply = await score({ action: 'echo' }, { origin: ALLOWED_ORIGIN });
    expect(reply.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(reply.headers['access-control-expose-headers']).toContain('x-request-id');
    expect(reply.headers.vary).toBe('Origin');
  });

  it('answers a plain OPTIONS /score with 200, as AzureML does', async () => {
    const reply = await call(agent, `${serve.url}/score`, { method: 'OPTIONS' });
    expect(reply.status).toBe(200);
  });
});

describe('other routes and methods', () => {
  it.each([
    ['GET', '/nope', 404],
    ['PUT', '/score', 405],
    ['DELETE', '/', 405],
  ])('answers %s %s with %i and a JSON message', async (method, route, status) => {
    const reply = await call(agent, `${serve.url}${route}`, { method });
    expect(reply.status).toBe(status);
    expect(typeof reply.json().message).toBe('string');
  });
});
