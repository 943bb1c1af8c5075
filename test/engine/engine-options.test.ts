/**
 * Engine flags and config features that change what a model becomes: instance kinds,
 * auto-complete's batch size and its absence, queue policy limits. Each from the outside,
 * on a real engine.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mlp } from '../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../tools/onnx/repository-writer';
import { RunningEngine, startEngine } from '../helpers/start-engine';

let repo: string;
const small = mlp({ layers: [8, 16, 4], batchDim: 'batch', seed: 3 });
// Big enough that a burst of requests piles up behind the one running.
const slow = mlp({ layers: [256, 1024, 1024, 10], batchDim: 'batch', seed: 5 });
const io = (dims: [number, number]) => ({
  inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, dims: [dims[0]] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32' as const, dims: [dims[1]] }],
});

 
async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

 
async function index(engine: RunningEngine): Promise<any[]> {
  return (await (await fetch(`${engine.url}/v2/repository/index`, { method: 'POST' })).json()) as any[];
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-options-'));
  await writeRepositoryModel(repo, { name: 'auto_mlp', versions: { 1: small.bytes } });
  await writeRepositoryModel(repo, {
    name: 'gpu_only',
    versions: { 1: small.bytes },
    config: configText({ name: 'gpu_only', maxBatchSize: 8, ...io([8, 4]), extra: ['instance_group [{ kind: KIND_GPU, count: 1 }]'] }),
  });
  await writeRepositoryModel(repo, {
    name: 'two_instances',
    versions: { 1: small.bytes },
    config: configText({
      name: 'two_instances',
      maxBatchSize: 8,
      ...io([8, 4]),
      extra: [
        'instance_group [{ kind: KIND_CPU, count: 2 }]',
        // Warmup runs on every instance, each in its own thread, and the engine logs each run:
        // the test reads there how many instances ran the model.
        'model_warmup [{ name: "rows" batch_size: 1 inputs { key: "INPUT0" value: { data_type: TYPE_FP32 dims: [ 8 ] random_data: true } } }]',
      ],
    }),
  });
  await writeRepositoryModel(repo, {
    name: 'queue_limited',
    versions: { 1: slow.bytes },
    config: configText({
      name: 'queue_limited',
      maxBatchSize: 1,
      ...io([256, 10]),
      extra: [
        'dynamic_batching { default_queue_policy { max_queue_size: 1 } }',
        'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }',
      ],
    }),
  });
});

afterAll(async () => {
  await fs.rm(repo, { recursive: true, force: true });
});

describe('with auto-complete', () => {
  let engine: RunningEngine;
  beforeAll(async () => {
    engine = await startEngine({ modelRepository: repo, args: ['--backend-config', 'onnxruntime,default-max-batch-size=16'] });
  });
  afterAll(async () => {
    expect(await engine.stop()).toBe(0);
  });

  it('gives a batchable model the max_batch_size from --backend-config', async () => {
    const config = await getJson(`${engine.url}/v2/models/auto_mlp/config`);
    expect(config.max_batch_size).toBe(16);
  });

  it('fails a KIND_GPU model without CUDA with a reason that says how to get it, and loads the rest', async () => {
    const entries = await index(engine);
    const gpu = entries.find((e) => e.name === 'gpu_only');
    expect(gpu.state).toBe('UNAVAILABLE');
    expect(gpu.reason).toMatch(/KIND_GPU/);
    expect(gpu.reason).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(entries.find((e) => e.name === 'auto_mlp').state).toBe('READY');
    expect(engine.output()).toMatch(/KIND_AUTO runs on CPU/);
  });

  it('runs a model with two CPU instances', async () => {
    const input = Array.from({ length: 8 }, (_, i) => i / 8);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        fetch(`${engine.url}/v2/models/two_instances/infer`, {
          method: 'POST',
          body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: input }] }),
        }).then(async (r) => ({ status: r.status, json: (await r.json()) as any })),
      ),
    );
    for (const r of results) expect(r.status).toBe(200);
    const ran = [...engine.output().matchAll(/model 'two_instances' version 1 instance (\d+): warmup sample 'rows' ran 1 time/g)].map((m) => Number(m[1]));
    expect(ran.sort()).toEqual([0, 1]);
    // Same input, same model: every instance must give the same answer.
    const first = JSON.stringify(results[0]!.json.outputs[0].data);
    for (const r of results) expect(JSON.stringify(r.json.outputs[0].data)).toBe(first);
  });

  it('rejects requests over max_queue_size with 503 "Exceeds maximum queue size" and completes the accepted ones', async () => {
    const body = JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 256], data: Array.from({ length: 256 }, (_, i) => (i % 7) / 7) }],
    });
    const results = await Promise.all(
      Array.from({ length: 24 }, () =>
        fetch(`${engine.url}/v2/models/queue_limited/infer`, { method: 'POST', body }).then(async (r) => ({
          status: r.status,
          json: (await r.json()) as any,
        })),
      ),
    );
    const rejected = results.filter((r) => r.status === 503);
    const accepted = results.filter((r) => r.status === 200);
    expect(rejected.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    expect(rejected.length + accepted.length).toBe(24);
    for (const r of rejected) expect(r.json.error).toBe('Exceeds maximum queue size');
    for (const r of accepted) expect(r.json.outputs[0].shape).toEqual([1, 10]);
    const stats = await getJson(`${engine.url}/v2/models/queue_limited/stats`);
    expect(stats.model_stats[0].inference_stats.success.count).toBe(accepted.length);
  });
});

describe('with --disable-auto-complete-config', () => {
  let engine: RunningEngine;
  beforeAll(async () => {
    engine = await startEngine({ modelRepository: repo, args: ['--disable-auto-complete-config', '--model-control-mode', 'explicit', '--load-model', 'auto_mlp', '--load-model', 'two_instances'] });
  });
  afterAll(async () => {
    expect(await engine.stop()).toBe(0);
  });

  it('leaves a model without config.pbtxt unavailable, naming the reason', async () => {
    const entries = await index(engine);
    const auto = entries.find((e) => e.name === 'auto_mlp');
    expect(auto.state).toBe('UNAVAILABLE');
    expect(auto.reason).toMatch(/auto_mlp.*no config\.pbtxt.*--disable-auto-complete-config/);
  });

  it('loads only the models named with --load-model in explicit mode', async () => {
    const entries = await index(engine);
    expect(entries.find((e) => e.name === 'two_instances').state).toBe('READY');
    expect(entries.find((e) => e.name === 'queue_limited').state).toBeUndefined();
  });
});
