/**
 * The response cache from the outside: `scoreline engine --cache-config local,size=1048576`
 * in its own process over a repository with cache-enabled and plain models, driven over
 * KServe v2 HTTP (and gRPC for the statistics), then /stats and /metrics read back. A
 * second engine without --cache-config serves the same repository without caching, as
 * Triton does (no load error, no cache stats, no nv_cache_* families).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scaleBy } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { testModels } from '../../fixtures/test-repository';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { parsePrometheus, valueOf } from '../metrics/parse-prometheus';
import { GrpcTestClient, connectGrpc } from '../grpc/helpers/grpc-test-client';

let repo: string;
let cached: RunningEngine;
let uncached: RunningEngine;
let grpc: GrpcTestClient;

const CACHE = 'response_cache {\n  enable: true\n}';

async function writeRepository(): Promise<void> {
  const models = testModels();
  const addSub = (name: string, extra: string[]) =>
    configText({
      name,
      maxBatchSize: 8,
      inputs: ['INPUT0', 'INPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
      outputs: ['OUTPUT0', 'OUTPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
      extra: ['dynamic_batching { }', ...extra],
    });
  await writeRepositoryModel(repo, { name: 'add_sub_cached', versions: { 1: models.addSub.bytes }, config: addSub('add_sub_cached', [CACHE]) });
  await writeRepositoryModel(repo, { name: 'add_sub', versions: { 1: models.addSub.bytes }, config: addSub('add_sub', []) });
  await writeRepositoryModel(repo, {
    name: 'string_cached',
    versions: { 1: models.stringIdentity.bytes },
    config: configText({
      name: 'string_cached',
      maxBatchSize: 8,
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', dims: [1] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'BYTES', dims: [1] }],
      extra: [CACHE],
    }),
  });
  await writeRepositoryModel(repo, {
    name: 'classifier_cached',
    versions: { 1: models.classifier.bytes },
    labels: models.classifier.labels,
    config: configText({
      name: 'classifier_cached',
      maxBatchSize: 8,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [models.classifier.labels.length], labelFilename: 'labels.txt' }],
      extra: [CACHE],
    }),
  });
  await writeScale(1);
  // `fixed` (2·x) without a cache of its own, under an ensemble whose top level caches.
  await writeRepositoryModel(repo, {
    name: 'fixed',
    versions: { 1: models.fixed.bytes },
    config: configText({
      name: 'fixed',
      maxBatchSize: 0,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [4] }],
    }),
  });
  const ensemble = [
    'name: "double_cached"',
    'platform: "ensemble"',
    'max_batch_size: 0',
    'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]',
    'output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]',
    'ensemble_scheduling { step [ { model_name: "fixed" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "OUT" } } ] }',
    CACHE,
  ].join('\n');
  await writeRepositoryModel(repo, { name: 'double_cached', versions: {}, config: ensemble });
  await fs.mkdir(path.join(repo, 'double_cached', '1'));
}

/** `scale_cached` version 1 as k·x: rewritten with another k and reloaded by a test. */
async function writeScale(k: number): Promise<void> {
  await writeRepositoryModel(repo, {
    name: 'scale_cached',
    versions: { 1: scaleBy(k).bytes },
    config: configText({
      name: 'scale_cached',
      maxBatchSize: 8,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [-1] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [-1] }],
      extra: [CACHE],
    }),
  });
}

interface Stats {
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_infer' | 'cache_hit' | 'cache_miss', { count: number; ns: number }>;
}

async function stats(engine: RunningEngine, model: string): Promise<Stats> {
  const res = await fetch(`${engine.url}/v2/models/${model}/stats`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { model_stats: Stats[] }).model_stats[0]!;
}

async function infer(engine: RunningEngine, model: string, body: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`${engine.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

const addSubBody = (k: number, extra: object = {}) => ({
  inputs: ['INPUT0', 'INPUT1'].map((name, i) => ({
    name,
    datatype: 'INT32',
    shape: [1, 16],
    data: Array.from({ length: 16 }, (_, j) => j * (i + 1) + k),
  })),
  ...extra,
});

async function scrape(engine: RunningEngine) {
  const res = await fetch(engine.metricsUrl!);
  return parsePrometheus(await res.text());
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-cache-'));
  await writeRepository();
  [cached, uncached] = await Promise.all([
    startEngine({
      modelRepository: repo,
      args: ['--cache-config', 'local,size=1048576', '--model-control-mode', 'explicit', '--load-model', '*'],
    }),
    startEngine({ modelRepository: repo }),
  ]);
  grpc = connectGrpc(cached.grpcUrl!);
}, 120_000);

afterAll(async () => {
  grpc?.close();
  const codes = await Promise.all([cached?.stop(), uncached?.stop()]);
  await fs.rm(repo, { recursive: true, force: true });
  expect(codes).toEqual([0, 0]);
});

describe('--cache-config local,size=1048576 with response_cache { enable: true }', () => {
  it('answers the same request twice: a miss that executes, then a hit that does not', async () => {
    const before = await stats(cached, 'add_sub_cached');
    const first = await infer(cached, 'add_sub_cached', addSubBody(1, { id: 'first' }));
    const afterMiss = await stats(cached, 'add_sub_cached');
    const second = await infer(cached, 'add_sub_cached', addSubBody(1, { id: 'second' }));
    const afterHit = await stats(cached, 'add_sub_cached');
    expect([first.status, second.status]).toEqual([200, 200]);
    // The same outputs, shapes and data; the id is each request's own.
    expect(second.json.outputs).toEqual(first.json.outputs);
    expect([first.json.id, second.json.id]).toEqual(['first', 'second']);
    expect(first.json.outputs[0].data).toEqual(Array.from({ length: 16 }, (_, j) => j + 1 + (2 * j + 1)));

    expect(afterMiss.inference_stats.cache_miss.count - before.inference_stats.cache_miss.count).toBe(1);
    expect(afterMiss.inference_stats.cache_hit.count).toBe(before.inference_stats.cache_hit.count);
    expect(afterMiss.execution_count - before.execution_count).toBe(1);
    // Triton: a hit is a success, with a cache_hit and a queue entry; no execution, no inference.
    expect(afterHit.inference_stats.cache_hit.count - afterMiss.inference_stats.cache_hit.count).toBe(1);
    expect(afterHit.inference_stats.cache_hit.ns).toBeGreaterThan(afterMiss.inference_stats.cache_hit.ns);
    expect(afterHit.inference_stats.cache_miss.count).toBe(afterMiss.inference_stats.cache_miss.count);
    expect(afterHit.inference_stats.success.count - afterMiss.inference_stats.success.count).toBe(1);
    expect(afterHit.inference_stats.queue.count - afterMiss.inference_stats.queue.count).toBe(1);
    expect(afterHit.execution_count).toBe(afterMiss.execution_count);
    expect(afterHit.inference_count).toBe(afterMiss.inference_count);
    expect(afterHit.inference_stats.compute_infer).toEqual(afterMiss.inference_stats.compute_infer);
  });

  it('misses for a different input and for the same input with other outputs requested', async () => {
    await infer(cached, 'add_sub_cached', addSubBody(2));
    const before = await stats(cached, 'add_sub_cached');
    const other = await infer(cached, 'add_sub_cached', addSubBody(3));
    const subset = await infer(cached, 'add_sub_cached', addSubBody(2, { outputs: [{ name: 'OUTPUT1' }] }));
    const binary = await fetch(`${cached.url}/v2/models/add_sub_cached/infer`, {
      method: 'POST',
      body: JSON.stringify(addSubBody(2, { outputs: [{ name: 'OUTPUT1', parameters: { binary_data: true } }] })),
      headers: { 'content-type': 'application/json' },
    });
    await binary.arrayBuffer();
    const after = await stats(cached, 'add_sub_cached');
    expect([other.status, subset.status, binary.status]).toEqual([200, 200, 200]);
    expect(subset.json.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT1']);
    // The subset request is its own entry (never the two-output response); binary_data only
    // changes the wire encoding, so that one is a hit on the subset's entry.
    expect(after.inference_stats.cache_miss.count - before.inference_stats.cache_miss.count).toBe(2);
    expect(after.inference_stats.cache_hit.count - before.inference_stats.cache_hit.count).toBe(1);
    expect(after.execution_count - before.execution_count).toBe(2);
  });

  it('keys classification apart from the raw tensor, and BYTES inputs by their bytes', async () => {
    const body = (classes?: number) => ({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [0.1, 0.9, 0.3, 0.2] }],
      ...(classes ? { outputs: [{ name: 'OUTPUT0', parameters: { classification: classes } }] } : {}),
    });
    const raw = await infer(cached, 'classifier_cached', body());
    const top2 = await infer(cached, 'classifier_cached', body(2));
    const top2Again = await infer(cached, 'classifier_cached', body(2));
    expect(raw.json.outputs[0].datatype).toBe('FP32');
    expect(top2.json.outputs[0].datatype).toBe('BYTES');
    expect(top2Again.json.outputs).toEqual(top2.json.outputs);
    const c = await stats(cached, 'classifier_cached');
    expect([c.inference_stats.cache_miss.count, c.inference_stats.cache_hit.count, c.execution_count]).toEqual([2, 1, 2]);

    const text = (s: string) => ({ inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], data: [s] }] });
    const a = await infer(cached, 'string_cached', text('héllo'));
    const b = await infer(cached, 'string_cached', text('héllo'));
    const other = await infer(cached, 'string_cached', text('hello'));
    expect(b.json.outputs).toEqual(a.json.outputs);
    expect(other.json.outputs[0].data).toEqual(['hello']);
    const s = await stats(cached, 'string_cached');
    expect([s.inference_stats.cache_miss.count, s.inference_stats.cache_hit.count, s.execution_count]).toEqual([2, 1, 2]);
  });

  it('caches an ensemble at its top level: a hit never reaches the composing model', async () => {
    const body = { inputs: [{ name: 'IN', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }] };
    const first = await infer(cached, 'double_cached', body);
    const fixedBefore = await stats(cached, 'fixed');
    const second = await infer(cached, 'double_cached', body);
    expect(first.json.outputs[0].data).toEqual([2, 4, 6, 8]);
    expect(second.json.outputs).toEqual(first.json.outputs);
    expect((await stats(cached, 'fixed')).execution_count).toBe(fixedBefore.execution_count);
    const e = await stats(cached, 'double_cached');
    expect([e.inference_stats.cache_miss.count, e.inference_stats.cache_hit.count, e.inference_stats.success.count]).toEqual([1, 1, 2]);
  });

  it("never answers a reloaded model with the previous load's responses", async () => {
    const body = { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] };
    expect((await infer(cached, 'scale_cached', body)).json.outputs[0].data).toEqual([1, 2]);
    expect((await infer(cached, 'scale_cached', body)).json.outputs[0].data).toEqual([1, 2]); // a hit
    await writeScale(3);
    const load = await fetch(`${cached.url}/v2/repository/models/scale_cached/load`, { method: 'POST' });
    expect(load.status).toBe(200);
    const after = await infer(cached, 'scale_cached', body);
    expect(after.json.outputs[0].data).toEqual([3, 6]);
    const s = await stats(cached, 'scale_cached');
    // The new load's own statistics: its first request was a miss that executed.
    expect([s.inference_stats.cache_miss.count, s.inference_stats.cache_hit.count, s.execution_count]).toEqual([1, 0, 1]);
  });

  it('never caches a model whose config does not enable it', async () => {
    for (let i = 0; i < 3; i++) expect((await infer(cached, 'add_sub', addSubBody(7))).status).toBe(200);
    const s = await stats(cached, 'add_sub');
    expect(s.inference_stats.cache_hit.count + s.inference_stats.cache_miss.count).toBe(0);
    expect(s.execution_count).toBe(3);
  });

  it('does not cache failures: an invalid request fails every time, with no cache stats', async () => {
    const before = await stats(cached, 'add_sub_cached');
    const bad = { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array(16).fill(0) }] };
    expect((await infer(cached, 'add_sub_cached', bad)).status).toBe(400);
    expect((await infer(cached, 'add_sub_cached', bad)).status).toBe(400);
    const after = await stats(cached, 'add_sub_cached');
    expect(after.inference_stats.fail.count - before.inference_stats.fail.count).toBe(2);
    expect(after.inference_stats.cache_hit).toEqual(before.inference_stats.cache_hit);
    expect(after.inference_stats.cache_miss).toEqual(before.inference_stats.cache_miss);
  });

  it('reports the same cache counts over gRPC ModelStatistics as over HTTP', async () => {
    const http = await stats(cached, 'add_sub_cached');
    const wire = (await grpc.rpc('ModelStatistics', { name: 'add_sub_cached' })).model_stats[0];
    expect(Number(wire.inference_stats.cache_hit.count)).toBe(http.inference_stats.cache_hit.count);
    expect(Number(wire.inference_stats.cache_miss.count)).toBe(http.inference_stats.cache_miss.count);
    expect(Number(wire.inference_stats.cache_hit.ns)).toBe(http.inference_stats.cache_hit.ns);
  });

  it("exposes Triton's nv_cache_*_per_model counters for caching models only, equal to /stats", async () => {
    const families = await scrape(cached);
    const s = await stats(cached, 'add_sub_cached');
    const labels = { model: 'add_sub_cached', version: '1' };
    expect(families.get('nv_cache_num_hits_per_model')?.type).toBe('counter');
    expect(valueOf(families, 'nv_cache_num_hits_per_model', labels)).toBe(s.inference_stats.cache_hit.count);
    expect(valueOf(families, 'nv_cache_num_misses_per_model', labels)).toBe(s.inference_stats.cache_miss.count);
    expect(valueOf(families, 'nv_cache_hit_duration_per_model', labels)).toBe(Math.round(s.inference_stats.cache_hit.ns / 1000));
    expect(valueOf(families, 'nv_cache_miss_duration_per_model', labels)).toBe(Math.round(s.inference_stats.cache_miss.ns / 1000));
    // Hits are successes but not inferences (Triton's nv_inference_count excludes cached requests).
    expect(valueOf(families, 'nv_inference_request_success', labels)).toBe(s.inference_stats.success.count);
    expect(valueOf(families, 'nv_inference_count', labels)).toBe(s.inference_count);
    const models = families.get('nv_cache_num_hits_per_model')!.samples.map((x) => x.labels.model).sort();
    expect(models).toEqual(['add_sub_cached', 'classifier_cached', 'double_cached', 'scale_cached', 'string_cached']);
  });
});

describe('without --cache-config (as Triton: enabled models load and simply execute)', () => {
  it('loads the enabled model, executes every request, and reports no cache activity', async () => {
    const ready = await fetch(`${uncached.url}/v2/models/add_sub_cached/ready`);
    expect(ready.status).toBe(200);
    const first = await infer(uncached, 'add_sub_cached', addSubBody(1));
    const second = await infer(uncached, 'add_sub_cached', addSubBody(1));
    expect(second.json.outputs).toEqual(first.json.outputs);
    const s = await stats(uncached, 'add_sub_cached');
    expect(s.execution_count).toBe(2);
    expect(s.inference_stats.cache_hit.count + s.inference_stats.cache_miss.count).toBe(0);
    const families = await scrape(uncached);
    expect(families.has('nv_cache_num_hits_per_model')).toBe(false);
    expect(uncached.output()).not.toMatch(/error/i);
  });
});
