/**
 * The security guarantees, each against a running server: the engine binds loopback
 * unless told otherwise; model control refuses names and files that leave the repository;
 * the API key guards /score and never reaches the log; answers show no stack traces or
 * internal paths; bodies and headers have size limits. (The Docker image's non-root user
 * is checked with the other deployment files in test/examples/deployment.test.ts.)
 */
import net from 'node:net';
import os from 'node:os';
import { Agent } from 'undici';
import { resolveServeOptions } from '../../src/frontend/serve-options';
import { startEngine, type RunningEngine } from '../helpers/start-engine';
import { PACKAGE_ROOT, call, postJson } from '../frontend/helpers/serve-process';
import { reportFigures } from './helpers/figures';
import { FAULTY, startFaultServer, type FaultServer } from './helpers/fault-server';
import { INTERNALS } from './helpers/fuzz';
import { until } from './helpers/load';
import { mlpRepository, type Repository } from './helpers/repositories';

const agent = new Agent({ pipelining: 0 });
let repository: Repository;
beforeAll(async () => {
  repository = await mlpRepository();
});
afterAll(async () => {
  await agent.close();
  await repository?.remove();
});

/** One request written as raw bytes (no client normalises its path): status and body. */
function raw(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
  });
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('the engine', () => {
  let engine: RunningEngine;
  beforeAll(async () => {
    // No --host: the default.
    engine = await startEngine({ modelRepository: repository.dir, args: ['--model-control-mode', 'explicit', '--load-model', 'mlp', '--http-max-input-size', '4096'] });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('binds HTTP, gRPC and metrics to 127.0.0.1 unless told otherwise, and is not reachable on other addresses', async () => {
    expect(engine.output()).toMatch(/HTTP service listening on 127\.0\.0\.1:/);
    expect(engine.output()).toMatch(/GRPC service listening on 127\.0\.0\.1:/);
    expect(engine.output()).toMatch(/Metrics service listening on 127\.0\.0\.1:/);
    const external = Object.values(os.networkInterfaces()).flat().find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);
    if (external !== undefined) expect(await accepts(external.address, engine.port)).toBe(false);
    expect(await accepts('127.0.0.1', engine.port)).toBe(true);
    // scoreline serve starts its engine on loopback too.
    const serve = resolveServeOptions(['--entry-script', FAULTY], {}, PACKAGE_ROOT);
    expect(!serve.help && serve.options.engineHost).toBe('127.0.0.1');
  });

  it.each([
    ['..%2F..%2Fetc', 'load'],
    ['..', 'load'],
    ['%2E%2E', 'load'],
    ['.', 'load'],
    ['%2E', 'load'],
    ['a%2F..%2F..%2Fb', 'load'],
    ['..%5C..%5Cwindows', 'load'],
    ['%2Fetc%2Fpasswd', 'load'],
    ['mlp%00', 'load'],
    ['..%2F..%2Fetc', 'unload'],
  ])('refuses to %s model %s with 400 and a message', async (name, action) => {
    // Raw: an HTTP client would resolve `..` in the path before sending it.
    const reply = await raw(engine.port, `POST /v2/repository/models/${name}/${action} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).error).toMatch(/invalid model name|not loaded|malformed/);
    expect(reply.body).not.toMatch(INTERNALS);
  });

  it.each([
    ['a label file', { output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4], label_filename: '../../../../etc/passwd' }] }, /label_filename.*must name a file inside the model directory/],
    ['an absolute label file', { output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4], label_filename: '/etc/passwd' }] }, /label_filename.*must name a file inside the model directory/],
    ['a model file', { default_model_filename: '../../../mlp/1/model.onnx' }, /no version directory holds/],
  ])('refuses a config override that names %s outside the model directory', async (_case, config, message) => {
    const reply = await call(agent, `${engine.url}/v2/repository/models/mlp/load`, {
      method: 'POST',
      body: JSON.stringify({ parameters: { config: JSON.stringify({ name: 'mlp', ...config }) } }),
    });
    expect(reply.status).toBe(400);
    expect(reply.json().error).toMatch(message);
  });

  it('refuses a body over --http-max-input-size with 413 and headers over 16 KiB with 431', async () => {
    const big = await call(agent, `${engine.url}/v2/models/mlp/infer`, { method: 'POST', body: 'x'.repeat(8192) });
    expect([big.status, big.json().error]).toEqual([413, expect.stringMatching(/exceeds the limit of 4096 bytes/)]);
    const headers = await call(agent, `${engine.url}/v2/health/ready`, { headers: { 'x-big': 'y'.repeat(20_000) } });
    expect(headers.status).toBe(431);
  });
});

describe('the front end', () => {
  const KEY = 'sk-live-0123456789abcdef';
  let server: FaultServer;
  beforeAll(async () => {
    server = await startFaultServer(['--entry-script', FAULTY, '--log-bodies', '--max-body-bytes', '1024'], { env: { SCORELINE_API_KEY: KEY } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  // The key is compared as SHA-256 digests with timingSafeEqual (src/frontend/http/api-key.ts): a
  // wrong key of any length costs the same and gets the same 401.
  it('requires the API key on /score (a wrong one of any length gets 401), and never logs or echoes it', async () => {
    const none = await postJson(agent, `${server.url}/score`, { action: 'pid' });
    const wrong = await postJson(agent, `${server.url}/score`, { action: 'pid', note: KEY }, { authorization: `Bearer ${KEY.slice(0, -1)}x` });
    const long = await postJson(agent, `${server.url}/score`, { action: 'pid' }, { authorization: `Bearer ${'k'.repeat(4096)}` });
    const right = await postJson(agent, `${server.url}/score`, { action: 'pid', note: 'hello' }, { authorization: `Bearer ${KEY}` });
    const echoed = await postJson(agent, `${server.url}/score`, { action: 'echo' }, { authorization: `Bearer ${KEY}`, 'x-request-id': 'f-key' });
    reportFigures('security API key', { no_key: none.status, wrong_key: wrong.status, right_key: right.status, key_in_log: server.dump().includes(KEY) });

    expect([none.status, none.headers['www-authenticate'], none.json().message]).toEqual([401, 'Bearer', 'Authorization: Bearer <key> is required']);
    expect([wrong.status, wrong.json().message]).toEqual([401, 'the API key is not valid']);
    expect([long.status, long.json().message]).toEqual([401, 'the API key is not valid']);
    expect(right.status).toBe(200);
    for (const reply of [none, wrong, right, echoed]) expect(reply.text).not.toContain(KEY);
    // --log-bodies logs bodies, never headers; a refused request's body (this one held the key) is never read.
    await until(() => server.loggedStatus('f-key') !== undefined, 5_000, 'the request log');
    expect(server.dump()).not.toContain(KEY);
  });

  it.each([
    ['a body over --max-body-bytes', 413, { method: 'POST', body: 'x'.repeat(4096) }, /exceeds the limit of 1024 bytes/],
    ['headers over 16 KiB', 431, { method: 'GET', headers: { 'x-big': 'y'.repeat(20_000) } }, /headers are larger than the server accepts/],
    ['a request id over 100 characters', 431, { method: 'GET', headers: { 'x-request-id': 'z'.repeat(101) } }, /must not exceed 100 characters/],
  ] as const)('refuses %s with %i and a message', async (_case, status, options, message) => {
    const reply = await call(agent, `${server.url}/score`, { ...options, headers: { authorization: `Bearer ${KEY}`, ...('headers' in options ? options.headers : {}) } });
    expect([reply.status, reply.json().message]).toEqual([status, expect.stringMatching(message)]);
  });

  it.each([
    ['run() that throws with a path in its message', { action: 'throw' }, /run\(\) failed .*\/srv\/secret/],
    ['a result whose toJSON throws with a source location', { action: 'toJSON-throws' }, /cannot be sent as JSON.*model\.ts:12/],
  ])('shows no stack trace or internal path for %s (the log has the details)', async (_case, body, logged) => {
    const reply = await call(agent, `${server.url}/score`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(reply.status).toBe(500);
    expect(reply.text).not.toMatch(INTERNALS);
    expect(reply.text).not.toMatch(/srv/);
    await server.waitForLog(logged, 5_000);
  });
});
