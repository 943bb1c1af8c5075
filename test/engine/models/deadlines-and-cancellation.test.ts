/**
 * Deadlines and cancellation, from the outside: a real `scoreline engine` child process,
 * models from the project's ONNX generator, plain HTTP (fetch, node:http) and @grpc/grpc-js.
 *
 * Most models here batch with a long max_queue_delay and a preferred batch size larger
 * than anything sent, so a request sits in the queue for the whole delay: long enough to
 * disconnect, to let a timeout expire, or to pile up work ahead of a request. A control
 * request without a timeout rides in the same queue; its answer (after the delay) is the
 * point at which the queue has been served, so the tests wait on it rather than on a
 * fixed sleep, and then read /v2/models/M/stats and /metrics.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  Client,
  Metadata,
  ServiceError,
  credentials,
  loadPackageDefinition,
  status as GrpcStatus,
  type GrpcObject,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadInferencePackageDefinition } from '../../../src/util/proto-files';
import { addSub, mlp } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { getJson, waitFor } from './helpers/engine-http';
import { scrapedValue } from '../metrics/parse-prometheus';

 

/** How long the batching models hold a batch that has not reached its preferred size. */
const LONG_DELAY_US = 1_500_000;
/** The shedding model's delay: long enough to queue 200 requests on a busy machine. */
const SHED_DELAY_US = 3_000_000;
const SHED_LAYERS = [32, 1024, 1024, 8];
const SHED_MAX_BATCH = 256;
const WIDTH = 16;

let repo: string;
let engine: RunningEngine;

/** add_sub (INT32 [16]) batching up to 8 rows, waiting LONG_DELAY_US for a batch of 8. */
function longDelayConfig(name: string, extraBatching = ''): string {
  return configText({
    name,
    maxBatchSize: 8,
    inputs: ['INPUT0', 'INPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [WIDTH] })),
    outputs: ['OUTPUT0', 'OUTPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [WIDTH] })),
    extra: [
      `dynamic_batching { max_queue_delay_microseconds: ${LONG_DELAY_US} preferred_batch_size: [ 8 ] ${extraBatching} }`,
      'instance_group [{ count: 1, kind: KIND_CPU }]',
    ],
  });
}

const LONG_DELAY_MODELS = {
  cancel: 'cancel_delay',
  timeout: 'timeout_delay',
  policy: 'policy_delay',
  badTimeout: 'bad_timeout_delay',
  grpc: 'grpc_delay',
};

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-deadlines-'));
  const addSubBytes = addSub({ width: WIDTH }).bytes;
  for (const name of Object.values(LONG_DELAY_MODELS)) {
    // Triton's rule: a queue policy given without allow_timeout_override ignores request timeouts.
    const config = longDelayConfig(name, name === LONG_DELAY_MODELS.policy ? 'default_queue_policy { }' : '');
    await writeRepositoryModel(repo, { name, versions: { 1: addSubBytes }, config });
  }
  await writeRepositoryModel(repo, {
    name: 'shed',
    versions: { 1: mlp({ layers: SHED_LAYERS, batchDim: 'batch', seed: 42 }).bytes },
    config: configText({
      name: 'shed',
      maxBatchSize: SHED_MAX_BATCH,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [SHED_LAYERS[0]!] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [SHED_LAYERS[SHED_LAYERS.length - 1]!] }],
      extra: [
        `dynamic_batching { max_queue_delay_microseconds: ${SHED_DELAY_US} }`,
        'instance_group [{ count: 1, kind: KIND_CPU }]',
        'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }',
      ],
    }),
  });
  engine = await startEngine({ modelRepository: repo });
});

afterAll(async () => {
  const code = await engine?.stop();
  if (repo) await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

// ---- helpers ----------------------------------------------------------------------

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

function addSubBody(k: number, parameters?: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, WIDTH], data: range(WIDTH, (i) => i + k) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, WIDTH], data: range(WIDTH, () => k) },
    ],
  };
  if (parameters) body.parameters = parameters;
  return body;
}

interface Reply {
  status: number;
  json: any;
  /** Milliseconds from sending to the answer. */
  ms: number;
}

async function infer(model: string, body: unknown): Promise<Reply> {
  const started = Date.now();
  const res = await fetch(`${engine.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text), ms: Date.now() - started };
}

/** The control request's OUTPUT0 must be a + b for the body addSubBody(k). */
function expectAddSubOk(reply: Reply, k: number): void {
  expect(reply.status).toBe(200);
  const out0 = reply.json.outputs.find((o: { name: string }) => o.name === 'OUTPUT0');
  expect(out0.data).toEqual(range(WIDTH, (i) => i + 2 * k));
}

async function statsOf(model: string): Promise<{ inference_count: number; execution_count: number }> {
  return (await getJson(`${engine.url}/v2/models/${model}/stats`)).model_stats[0];
}

/** One sample of a Prometheus family from /metrics whose labels include `labels`; 0 when absent. */
const metric = (name: string, labels: Record<string, string>): Promise<number> => scrapedValue(engine.metricsUrl!, name, labels);

const failures = (model: string, reason: string): Promise<number> => metric('nv_inference_request_failure', { model, reason });
const pending = (model: string): Promise<number> => metric('nv_inference_pending_request_count', { model });

async function waitForPending(model: string, atLeast: number, timeoutMs = 10_000): Promise<void> {
  await waitFor(`${atLeast} request(s) queued at '${model}'`, async () => (await pending(model)) >= atLeast, timeoutMs);
}

/**
 * Sends an infer on a connection of its own (no agent, no keep-alive pool), so destroying
 * it closes exactly that TCP connection. Errors from the destroyed socket are swallowed.
 */
function rawInfer(model: string, body: unknown): { request: http.ClientRequest; answered: () => boolean } {
  const payload = Buffer.from(JSON.stringify(body));
  let answered = false;
  const request = http.request({
    host: '127.0.0.1',
    port: engine.port,
    path: `/v2/models/${model}/infer`,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': payload.length },
  });
  request.on('response', (res) => {
    answered = true;
    res.resume();
  });
  request.on('error', () => undefined);
  request.end(payload);
  return { request, answered: () => answered };
}

// ---- cancellation -------------------------------------------------------------------

describe('a queued HTTP request whose client disconnects', () => {
  it('is dropped before it joins a batch: the model never computes it, it counts as CANCELED, and a request on another connection is computed', async () => {
    const model = LONG_DELAY_MODELS.cancel;
    const before = await statsOf(model);
    const leaving = rawInfer(model, addSubBody(5));
    await waitForPending(model, 1);
    const control = infer(model, addSubBody(7));
    await waitForPending(model, 2);
    leaving.request.destroy();

    // The control answers once the delay has passed and its batch ran.
    const reply = await control;
    expectAddSubOk(reply, 7);
    expect(reply.ms).toBeGreaterThanOrEqual(LONG_DELAY_US / 1000 - 300);
    expect(leaving.answered()).toBe(false);

    const after = await statsOf(model);
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(after.execution_count - before.execution_count).toBe(1);
    await waitFor('the CANCELED failure in /metrics', async () => (await failures(model, 'CANCELED')) === 1, 5_000);
    expect(await failures(model, 'REJECTED')).toBe(0);
    expect(await pending(model)).toBe(0);
  }, 20_000);
});

// ---- request timeouts -----------------------------------------------------------------

describe("a request's timeout parameter", () => {
  it('on a model with no queue policy: the request still queued at its timeout is answered 503 "Request timeout expired" and never run', async () => {
    const model = LONG_DELAY_MODELS.timeout;
    const before = await statsOf(model);
    const control = infer(model, addSubBody(3));
    const expired = await infer(model, addSubBody(4, { timeout: 200_000 }));

    expect(expired.status).toBe(503);
    expect(expired.json.error).toBe('Request timeout expired');
    // ≈200 ms: well after the request was queued, well before the 1.5 s delay.
    expect(expired.ms).toBeGreaterThanOrEqual(150);
    expect(expired.ms).toBeLessThan(LONG_DELAY_US / 1000 - 300);

    const reply = await control;
    expectAddSubOk(reply, 3);
    const after = await statsOf(model);
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(after.execution_count - before.execution_count).toBe(1);
    expect(await failures(model, 'REJECTED')).toBe(1);
    expect(await failures(model, 'CANCELED')).toBe(0);
  }, 20_000);

  it('on a model with `default_queue_policy { }` (allow_timeout_override false) is ignored, as Triton: the request is answered 200 after the delay', async () => {
    const model = LONG_DELAY_MODELS.policy;
    const before = await statsOf(model);
    const reply = await infer(model, addSubBody(6, { timeout: 200_000 }));
    expectAddSubOk(reply, 6);
    expect(reply.ms).toBeGreaterThanOrEqual(LONG_DELAY_US / 1000 - 300);
    const after = await statsOf(model);
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(await failures(model, 'REJECTED')).toBe(0);
  }, 20_000);

  it.each<[string, unknown]>([
    ['negative', -1],
    ['not an integer', 1.5],
    ['a string', 'abc'],
  ])('that is %s (%p) is answered 400 naming parameter "timeout", and nothing is queued or run', async (_what, timeout) => {
    const model = LONG_DELAY_MODELS.badTimeout;
    const before = await statsOf(model);
    const reply = await infer(model, addSubBody(1, { timeout }));
    expect(reply.status).toBe(400);
    expect(reply.json.error).toMatch(/'timeout'/);
    // Refused before the queue: no 1.5 s wait.
    expect(reply.ms).toBeLessThan(LONG_DELAY_US / 1000 - 300);
    expect(await pending(model)).toBe(0);
    expect((await statsOf(model)).inference_count).toBe(before.inference_count);
  });
});

// ---- gRPC deadline ----------------------------------------------------------------------

describe('a gRPC ModelInfer with a deadline', () => {
  let client: Client | undefined;

  afterAll(() => client?.close());

  it('fails once the deadline passes while it is queued, and the engine never computes it', async () => {
    const model = LONG_DELAY_MODELS.grpc;
    const pkg = loadPackageDefinition(
      loadInferencePackageDefinition({ keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }),
    );
    const Service = (pkg.inference as GrpcObject).GRPCInferenceService as ServiceClientConstructor;
    client = new Service(engine.grpcUrl!, credentials.createInsecure());
    const before = await statsOf(model);

    const x = range(WIDTH, (i) => i * 2);
    const started = Date.now();
    const failed = new Promise<ServiceError>((resolve, reject) => {
      const request = {
        model_name: model,
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, WIDTH], contents: { int_contents: x } },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, WIDTH], contents: { int_contents: x } },
        ],
      };
      (client as any).ModelInfer(request, new Metadata(), { deadline: Date.now() + 200 }, (err: ServiceError | null) =>
        err ? resolve(err) : reject(new Error('ModelInfer succeeded but its deadline should have expired in the queue')),
      );
    });
    const control = infer(model, addSubBody(2));

    const err = await failed;
    const failedAfterMs = Date.now() - started;
    // The client's own deadline, or the engine's 503 "Request timeout expired" (UNAVAILABLE): either way it failed.
    expect([GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.UNAVAILABLE]).toContain(err.code);
    expect(failedAfterMs).toBeLessThan(LONG_DELAY_US / 1000 - 300);

    const reply = await control;
    expectAddSubOk(reply, 2);
    // Only the control ran: the gRPC request left the queue before its batch was taken.
    const after = await statsOf(model);
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(after.execution_count - before.execution_count).toBe(1);
    await waitFor(
      'the gRPC request counted as a failure (REJECTED or CANCELED)',
      async () => (await failures(model, 'REJECTED')) + (await failures(model, 'CANCELED')) === 1,
      5_000,
    );
  }, 20_000);
});

// ---- shedding -----------------------------------------------------------------------------

describe('shedding at enqueue', () => {
  const features = SHED_LAYERS[0]!;
  const shedBody = (rows: number, parameters?: Record<string, unknown>): Record<string, unknown> => {
    const body: Record<string, unknown> = {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [rows, features], data: range(rows * features, (i) => ((i % 17) - 8) / 8) }],
    };
    if (parameters) body.parameters = parameters;
    return body;
  };

  it('refuses at once, with 503 "cannot be served within its timeout", a request whose timeout the queued work outlasts; every queued request is still answered 200', async () => {
    const model = 'shed';

    // No cost estimate yet (nothing ran): no shedding. The request is queued and expires there.
    const unmeasured = await infer(model, shedBody(1, { timeout: 1000 }));
    expect(unmeasured.status).toBe(503);
    expect(unmeasured.json.error).toBe('Request timeout expired');

    // A full batch goes at once (it cannot grow) and gives the engine its cost per row.
    for (let i = 0; i < 2; i++) {
      const warm = await infer(model, shedBody(SHED_MAX_BATCH));
      expect(warm.status).toBe(200);
    }
    const before = await statsOf(model);

    // 200 one-row requests without a timeout: they wait out the 3 s delay together.
    const QUEUED = 200;
    let answered = 0;
    const queued = range(QUEUED, () => 0).map(() =>
      infer(model, shedBody(1)).then((reply) => {
        answered++;
        return reply;
      }),
    );
    await waitForPending(model, QUEUED, SHED_DELAY_US / 1000);
    expect(answered).toBe(0);

    // 1 ms is clearly positive, and far less than 200 rows of this MLP take.
    const refused = await infer(model, shedBody(1, { timeout: 1000 }));
    const answeredAtRefusal = answered;
    expect(refused.status).toBe(503);
    const m = /^the request cannot be served within its timeout of 1\.0 ms: the work queued ahead of it takes about ([\d.]+) ms$/.exec(
      refused.json.error,
    );
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1);
    // At once: before any of the queued work ran (it waits for the delay), and quickly.
    expect(answeredAtRefusal).toBe(0);
    expect(refused.ms).toBeLessThan(1000);

    const replies = await Promise.all(queued);
    expect(replies.map((r) => r.status)).toEqual(range(QUEUED, () => 200));
    for (const r of replies) expect(r.json.outputs[0].shape).toEqual([1, SHED_LAYERS[SHED_LAYERS.length - 1]]);
    const after = await statsOf(model);
    // The refused request never ran; the 200 did.
    expect(after.inference_count - before.inference_count).toBe(QUEUED);
    // The expired request and the refused one.
    expect(await failures(model, 'REJECTED')).toBe(2);
    expect(await failures(model, 'CANCELED')).toBe(0);
  }, 30_000);
});
