/**
 * Scenario 7, over the wire: hostile bodies and headers against running servers (the
 * engine on the test repository, and `scoreline serve` with scoring/score.ts in front of
 * it), fuzzed with fast-check. Property: every request is answered within 5 s with 200 or
 * a 4xx that carries a message, no answer shows a stack trace or an internal path, and
 * the same processes keep serving to the end.
 */
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { makeTestRepository } from '../fixtures/test-repository';
import { startEngine, type RunningEngine } from '../helpers/start-engine';
import { reportFigures } from './helpers/figures';
import { startFaultServer, type FaultServer } from './helpers/fault-server';
import { FUZZ_SEED, INTERNALS, fuzzParameters, headerValue, inferBody, rawHeaderBytes, scoreBodies } from './helpers/fuzz';
import { mlpRepository, type Repository } from './helpers/repositories';

const ANSWER_WITHIN_MS = 5_000;
const MODELS = ['mlp', 'add_sub', 'string_identity', 'fixed', 'scale', 'classifier', 'identity_all', 'nope', '..', '%2e%2e'];

interface Answer {
  status: number;
  text: string;
}

let repository: Repository;
let engine: RunningEngine;
let server: FaultServer;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const statuses = new Map<string, Map<number, number>>();

function count(surface: string, status: number): void {
  const bySurface = statuses.get(surface) ?? new Map<number, number>();
  statuses.set(surface, bySurface);
  bySurface.set(status, (bySurface.get(status) ?? 0) + 1);
}

beforeAll(async () => {
  repository = await mlpRepository();
  await makeTestRepository(repository.dir);
  engine = await startEngine({ modelRepository: repository.dir });
  server = await startFaultServer(['--engine-url', engine.url, '--headers-timeout-ms', '500', '--request-timeout-ms', '1000', '--max-body-bytes', '65536']);
}, 120_000);

afterAll(async () => {
  agent.destroy();
  for (const [surface, byStatus] of statuses) {
    reportFigures(`fuzz ${surface}`, { cases: [...byStatus.values()].reduce((a, b) => a + b, 0), statuses: [...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(',') });
  }
  await server?.stop();
  await engine?.stop();
  await repository?.remove();
});

function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', agent, headers: options.headers, timeout: ANSWER_WITHIN_MS });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(options.body);
  });
}

/** What is wrong with an answer: not 200 or a 4xx with a non-empty JSON `key`, or internals shown. */
function problemWith(answer: Answer, key: 'message' | 'error'): string | undefined {
  if (INTERNALS.test(answer.text)) return `internals shown: ${answer.text}`;
  if (answer.status === 200) return undefined;
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text}`;
  let message: unknown;
  try {
    message = (JSON.parse(answer.text) as Record<string, unknown>)[key];
  } catch {
    // not JSON: reported below
  }
  return typeof message === 'string' && message !== '' ? undefined : `no ${key} in ${answer.status} ${answer.text}`;
}

it('answers any /score body with 200 or a 4xx and a message', async () => {
  await fc.assert(
    fc.asyncProperty(scoreBodies, async (body) => {
      const answer = await send(`${server.url}/score`, { headers: { 'content-type': 'application/json' }, body });
      count('/score body', answer.status);
      expect(problemWith(answer, 'message')).toBeUndefined();
    }),
    fuzzParameters(300),
  );
});

it("answers any inference body on the engine's /infer with 200 or a 4xx and an error", async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...MODELS), inferBody, async (model, { body, header }) => {
      const headers: Record<string, string> = { 'content-type': header === undefined ? 'application/json' : 'application/octet-stream' };
      if (header !== undefined) headers['inference-header-content-length'] = header;
      const answer = await send(`${engine.url}/v2/models/${model}/infer`, { headers, body });
      count('engine /infer body', answer.status);
      expect(problemWith(answer, 'error')).toBeUndefined();
    }),
    fuzzParameters(300),
  );
});

it('answers any header values on /score with 200 or a 4xx and a message', async () => {
  const body = Buffer.from(JSON.stringify({ model: 'mlp', data: [[1, 2, 3, 4, 5, 6, 7, 8]] }));
  const names = ['x-request-id', 'x-ms-client-request-id', 'x-ms-request-id', 'authorization', 'content-type', 'traceid', 'origin', 'accept', 'content-encoding', 'expect'];
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom(...names), headerValue, { minKeys: 1, maxKeys: 5 }), async (headers) => {
      const answer = await send(`${server.url}/score`, { headers, body });
      count('/score headers', answer.status);
      expect(problemWith(answer, 'message')).toBeUndefined();
    }),
    fuzzParameters(300),
  );
});

it('answers any header values on the engine with 200 or a 4xx and an error', async () => {
  const names = ['inference-header-content-length', 'content-type', 'content-encoding', 'expect'];
  const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }] }));
  await fc.assert(
    fc.asyncProperty(fc.dictionary(fc.constantFrom(...names), headerValue, { minKeys: 1, maxKeys: 4 }), async (headers) => {
      const answer = await send(`${engine.url}/v2/models/mlp/infer`, { headers, body });
      count('engine headers', answer.status);
      expect(problemWith(answer, 'error')).toBeUndefined();
    }),
    fuzzParameters(200),
  );
});

/** Writes `bytes` on a new connection and reads until the server closes it (or 5 s pass). */
function raw(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      // One answer is enough: a kept-alive connection would otherwise wait for more.
      if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
        const length = Number(/content-length: (\d+)/i.exec(text)![1]);
        if (text.length >= text.indexOf('\r\n\r\n') + 4 + length) socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    setTimeout(() => socket.destroy(), ANSWER_WITHIN_MS).unref();
  });
}

it('answers raw bytes in the request head with a status line, never a 5xx, 4xx with a message', async () => {
  const heads = fc.oneof(
    rawHeaderBytes.map((junk) => Buffer.concat([Buffer.from('POST /score HTTP/1.1\r\nHost: x\r\n'), junk, Buffer.from('\r\n\r\n')])),
    rawHeaderBytes.map((junk) => Buffer.concat([junk, Buffer.from('\r\n\r\n')])),
    rawHeaderBytes.map((junk) => Buffer.concat([Buffer.from('GET /'), junk, Buffer.from(' HTTP/1.1\r\n\r\n')])),
  );
  // Sampled and sent in parallel: an incomplete head is only answered at the headers timeout.
  const samples = fc.sample(heads, { numRuns: 120, seed: FUZZ_SEED });
  const answers = await Promise.all(samples.map((bytes) => raw(server.port, bytes)));
  const problems: string[] = [];
  answers.forEach((answer, i) => {
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
    count('/ raw head', status === null ? 0 : Number(status[1]));
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    if (status === null) problems.push(`no status line for ${JSON.stringify(samples[i]!.toString('latin1'))}: ${JSON.stringify(answer)}`);
    else if (Number(status[1]) >= 500) problems.push(`${status[1]} for ${JSON.stringify(samples[i]!.toString('latin1'))}`);
    else if (Number(status[1]) >= 400 && !/"message":"[^"]+"/.test(body)) problems.push(`no message in ${JSON.stringify(answer)}`);
    else if (INTERNALS.test(answer)) problems.push(`internals in ${JSON.stringify(answer)}`);
  });
  expect(problems).toEqual([]);
});

it('kept the same worker and engine serving through all of it', async () => {
  expect((await send(`${server.url}/`, { method: 'GET' })).status).toBe(200);
  expect((await send(`${server.url}/ready`, { method: 'GET' })).status).toBe(200);
  expect(server.log()).not.toMatch(/died|restarting/);
  expect(engine.child.exitCode).toBeNull();
});
