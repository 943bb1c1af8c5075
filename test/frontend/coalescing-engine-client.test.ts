/**
 * The front end's merging client (what serve's workers give score modules with
 * --coalesce-infer) against the real engine (`scoreline engine`, built CLI, free port) serving
 * the project's test repository: merged calls answer as calls alone would, with fewer engine
 * requests; models that cannot batch and failed merges fall back to one request per call; each
 * merged call keeps its own CLIENT span, and the merged request carries the first call's.
 * infer-coalescer.test.ts covers the merging rules with a scripted backend; engine-backed.test.ts
 * shows serve's workers merging with --coalesce-infer and not without.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SpanKind, context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { InferInput, InferenceServerClient } from '../../src/client';
import { CoalescingEngineClient } from '../../src/frontend/worker/coalescing-engine-client';
import { makeTestRepository, testModels } from '../fixtures/test-repository';
import { mlpForward } from '../fixtures/mlp-reference';
import { RunningEngine, startEngine } from '../helpers/start-engine';

let repository: string;
let engine: RunningEngine;
/** The plain client: statistics and model control. */
let client: InferenceServerClient;
let merging: CoalescingEngineClient;

beforeAll(async () => {
  repository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-coalescing-'));
  await makeTestRepository(repository);
  engine = await startEngine({ modelRepository: repository, args: ['--model-control-mode', 'explicit', '--load-model', '*'] });
  client = new InferenceServerClient({ url: engine.url });
  merging = new CoalescingEngineClient({ url: engine.url });
  await client.waitUntilReady({ timeoutMs: 30_000, models: ['mlp', 'add_sub', 'fixed', 'string_identity'] });
}, 120_000);

afterAll(async () => {
  await merging?.close();
  await client?.close();
  await engine?.stop();
  if (repository) await rm(repository, { recursive: true, force: true });
});

const addSubInputs = (a: Int32Array, b: Int32Array, batch = 1) => [
  new InferInput('INPUT0', [batch, 16], 'INT32').setData(a),
  new InferInput('INPUT1', [batch, 16], 'INT32').setData(b),
];

describe('concurrent calls merged into batch requests', () => {

  const stats = async (model: string) => {
    const s = (await client.getInferenceStatistics(model)).model_stats[0]!;
    return { requests: s.inference_stats.success.count, rows: s.inference_count };
  };

  it('answers 40 concurrent one-row calls correctly with fewer requests than calls', async () => {
    const model = testModels().mlp;
    const before = await stats('mlp');
    const rows = Array.from({ length: 40 }, (_, i) => Float32Array.from({ length: 8 }, (__, k) => Math.sin(i * 8 + k)));
    const results = await Promise.all(rows.map((x) => merging.infer('mlp', [new InferInput('INPUT0', [1, 8], 'FP32').setData(x)])));
    results.forEach((result, i) => {
      expect(result.getOutput('OUTPUT0')?.shape).toEqual([1, 4]);
      const expected = mlpForward(model, rows[i]!, 1);
      result.asTypedArray<Float32Array>('OUTPUT0').forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 4));
    });
    const after = await stats('mlp');
    expect(after.rows - before.rows).toBe(40);
    expect(after.requests - before.requests).toBeLessThan(40);
  });

  it('keeps BYTES elements with their callers', async () => {
    const words = Array.from({ length: 12 }, (_, i) => `word ${i} ${'é'.repeat(i)}`);
    const results = await Promise.all(words.map((w) => merging.infer('string_identity', [new InferInput('INPUT0', [1, 1], 'BYTES').setData([w])])));
    expect(results.map((r) => r.asTypedArray('OUTPUT0', { bytesAs: 'string' })[0])).toEqual(words);
  });

  it('leaves a model that cannot batch, and unknown models, to one request per call', async () => {
    const before = await stats('fixed');
    const results = await Promise.all([1, 2, 3].map((v) => merging.infer('fixed', [new InferInput('INPUT0', [4], 'FP32').setData([v, v, v, v])])));
    expect(results.map((r) => r.asTypedArray<Float32Array>('OUTPUT0')[0])).toEqual([2, 4, 6]);
    expect((await stats('fixed')).requests - before.requests).toBe(3);
    await expect(merging.infer('no_such_model', [new InferInput('INPUT0', [1, 4], 'FP32').setData([1, 2, 3, 4])])).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/no_such_model/),
    });
  });

  it('recovers when the model is reloaded with a smaller max_batch_size: the rejected merge is retried call by call', async () => {
    const a = (i: number) => Int32Array.from({ length: 16 }, (_, k) => i + k);
    const call = (i: number) => merging.infer('add_sub', addSubInputs(a(i), new Int32Array(16).fill(1)));
    await Promise.all([0, 1].map(call)); // learns max_batch_size 8
    const config = await client.getModelConfig('add_sub');
    await client.loadModel('add_sub', { config: { ...config, max_batch_size: 2, dynamic_batching: undefined } });
    try {
      const results = await Promise.all([0, 1, 2, 3, 4, 5].map(call));
      results.forEach((r, i) => expect(r.asTypedArray('OUTPUT0')).toEqual(a(i).map((v) => v + 1)));
      expect((await client.getModelConfig('add_sub')).max_batch_size).toBe(2);
    } finally {
      await client.loadModel('add_sub');
    }
    expect((await client.getModelConfig('add_sub')).max_batch_size).toBe(8);
  });
});

/** A pass-through HTTP proxy to the engine that records each request's path and headers. */
async function recordingProxy(target: string): Promise<{ url: string; seen: Array<{ path: string; headers: IncomingHttpHeaders }>; close(): Promise<void> }> {
  const upstream = new URL(target);
  const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('traces of merged calls', () => {
  it("gives each call its own CLIENT span and sends the merged request with the first call's traceparent", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register(); // the async-local context manager and the W3C propagator, as telemetry/ sets them up
    const proxy = await recordingProxy(engine.url);
    const traced = new CoalescingEngineClient({ url: proxy.url });
    try {
      const tracer = trace.getTracer('coalescing-engine-client.test');
      const rows = [0, 1, 2].map((i) => Float32Array.from({ length: 8 }, (_, k) => Math.cos(i * 8 + k)));
      // Each call inside a span of its own, so its CLIENT span says which call it belongs to.
      const results = await Promise.all(
        rows.map((x, i) =>
          tracer.startActiveSpan(`call ${i}`, async (span) => {
            try {
              return await traced.infer('mlp', [new InferInput('INPUT0', [1, 8], 'FP32').setData(x)]);
            } finally {
              span.end();
            }
          }),
        ),
      );
      results.forEach((result, i) => {
        const expected = mlpForward(testModels().mlp, rows[i]!, 1);
        result.asTypedArray<Float32Array>('OUTPUT0').forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 4));
      });

      const spans = exporter.getFinishedSpans();
      const callSpans = new Map(spans.filter((s) => s.name.startsWith('call ')).map((s) => [s.spanContext().spanId, s.name]));
      const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT);
      expect(clientSpans.map((s) => callSpans.get(s.parentSpanContext?.spanId ?? '')).sort()).toEqual(['call 0', 'call 1', 'call 2']);

      const infers = proxy.seen.filter((r) => r.path.endsWith('/infer'));
      expect(infers).toHaveLength(1); // merged
      const [, traceId, spanId] = String(infers[0]!.headers.traceparent).split('-');
      const sentFrom = clientSpans.find((s) => s.spanContext().spanId === spanId);
      expect(sentFrom?.spanContext().traceId).toBe(traceId);
      expect(callSpans.get(sentFrom?.parentSpanContext?.spanId ?? '')).toBe('call 0');
    } finally {
      await traced.close();
      await proxy.close();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });
});
