/**
 * Issue 20, over the wire: the costliest inference bodies per byte (helpers/hostile-bodies)
 * POSTed to a real engine's /v2/models/M/infer, to one-input identities over [batch, n] so
 * that a body whose shape tells the truth is decoded and run in full. Each must be answered
 * 200 or a 4xx with an error message within ANSWER_MS, growing the engine's peak RSS by at
 * most AMPLIFICATION × the body + SLACK; afterwards the engine answers health and an MLP
 * inference correctly.
 */
import http from 'node:http';
import fc from 'fast-check';
import { reportFigures } from '../faults/helpers/figures';
import { fuzzParameters } from '../faults/helpers/fuzz';
import { FUZZ_RUNS, MAX_BYTES, MiB, StatusTally, hostileCase, startHostileEngine, type HostileEngine } from './helpers/hostile';
import { hostileBody, hostileBodySpec, isBytesSpec, type BodyTarget } from './helpers/hostile-bodies';

const ANSWER_MS = 20_000;
/** As in process (decoders.test.ts): a request may cost a few times its body, not tens of times; the engine's own buffers on top. */
const AMPLIFICATION = 16;
const SLACK = 128 * MiB;
const TARGET: BodyTarget = { numeric: { input: 'INPUT_INT32', output: 'OUTPUT_INT32' }, bytes: { input: 'INPUT_STRING', output: 'OUTPUT_STRING' }, batch: true };

let hostile: HostileEngine;
const statuses = new StatusTally();
/** The first message of each kind and status, for the report. */
const samples = new Map<string, string>();

beforeAll(async () => {
  hostile = await startHostileEngine();
}, 120_000);

beforeEach(async () => {
  await hostile.revive();
}, 120_000);

afterAll(async () => {
  statuses.report('hostile HTTP infer');
  for (const [key, text] of samples) reportFigures(`hostile HTTP infer ${key}`, { first_answer: text });
  await hostile?.stop();
});

interface Answer {
  status: number;
  text: string;
}

/** POSTs `body`; keeps the first 400 characters of the answer (a 200 may be megabytes). */
function post(url: string, body: Buffer, header: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': header === undefined ? 'application/json' : 'application/octet-stream', 'content-length': String(body.length) };
    if (header !== undefined) headers['inference-header-content-length'] = header;
    const req = http.request(url, { method: 'POST', agent: false, headers, timeout: ANSWER_MS + 2_000 });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        if (text.length < 400) text += chunk.toString('utf8', 0, Math.min(chunk.length, 400));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.end(body);
  });
}

function judge(kind: string): (answer: Answer) => string | undefined {
  return (answer) => {
    statuses.count(kind, answer.status);
    if (!samples.has(`${kind} ${answer.status}`)) samples.set(`${kind} ${answer.status}`, answer.text.slice(0, 160));
    if (answer.status === 200) return undefined;
    if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text}`;
    return /"error":"[^"]+"/.test(answer.text) ? undefined : `${answer.status} without an error message: ${answer.text}`;
  };
}

it('answers the costliest bodies per byte with 200 or a 4xx, in bounded time and engine memory', async () => {
  await fc.assert(
    fc.asyncProperty(hostileBodySpec, async (spec) => {
      const { body, header } = hostileBody(spec, TARGET);
      const model = isBytesSpec(spec) ? 'ident_bytes' : 'ident_int32';
      await hostileCase(
        hostile,
        `POST /v2/models/${model}/infer (${spec.kind}, ${(body.length / MiB).toFixed(2)} MiB)`,
        { answerMs: ANSWER_MS, growthBytes: AMPLIFICATION * body.length + SLACK },
        () => post(`${hostile.engine.url}/v2/models/${model}/infer`, body, header),
        judge(spec.kind),
      );
    }),
    fuzzParameters(FUZZ_RUNS * 3),
  );
}, 600_000);

it('answers zero-length BYTES elements filling the body, JSON or binary, shape true or lying, with 200 or a 4xx, in bounded time and engine memory', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('zero-length BYTES (JSON)' as const, 'zero-length BYTES (binary)' as const), fc.boolean(), fc.integer({ min: 1, max: 4 }), async (kind, truthful, quarter) => {
      // A quarter to all of MAX_BYTES: the flood is the point here, so no small cases.
      const spec = { kind, truthful, n: Math.floor((quarter * MAX_BYTES) / 4 / (kind === 'zero-length BYTES (JSON)' ? 3 : 4)) };
      const { body, header } = hostileBody(spec, TARGET);
      await hostileCase(
        hostile,
        `POST /v2/models/ident_bytes/infer (${kind}, ${truthful ? 'true' : 'lying'} shape, ${(body.length / MiB).toFixed(2)} MiB)`,
        { answerMs: ANSWER_MS, growthBytes: AMPLIFICATION * body.length + SLACK },
        () => post(`${hostile.engine.url}/v2/models/ident_bytes/infer`, body, header),
        judge(kind),
      );
    }),
    fuzzParameters(FUZZ_RUNS),
  );
}, 600_000);
