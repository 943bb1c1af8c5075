/**
 * The front end's merging client (what serve's workers give score modules with
 * --coalesce-infer) against the real engine (`scoreline engine`, built CLI, free port) serving
 * the project's test repository: merged calls answer as calls alone would, with fewer engine
 * requests; models that cannot batch and failed merges fall back to one request per call.
 * infer-coalescer.test.ts covers the merging rules with a scripted backend; engine-backed.test.ts
 * shows serve's workers merging with --coalesce-infer and not without.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InferInput, InferenceServerClient } from '../../src/client';
import { CoalescingEngineClient } from '../../src/frontend/coalescing-engine-client';
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
