/**
 * Triton's latency summaries (--metrics-config summary_latencies=true) and the batch-size
 * histogram, from the outside: `scoreline engine` from dist on free ports, known traffic,
 * /metrics parsed strictly. Also counter_latencies=false, custom quantiles, and a bad
 * setting failing the start-up.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { makeTestRepository, testModels } from '../../fixtures/test-repository';
import { CLI, PACKAGE_ROOT, RunningEngine, startEngine } from '../../helpers/start-engine';
import { ParsedFamily, parsePrometheus, sampleValue, valueOf } from './parse-prometheus';

type Families = Map<string, ParsedFamily>;

let repo: string;
let summaries: RunningEngine;
let custom: RunningEngine;

async function scrape(e: RunningEngine): Promise<Families> {
  const res = await fetch(e.metricsUrl!);
  expect(res.status).toBe(200);
  return parsePrometheus(await res.text());
}

async function infer(e: RunningEngine, model: string, body: unknown, version?: string): Promise<void> {
  const res = await fetch(`${e.url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
}

const fixedInput = (k: number) => ({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [k, 1, 2, 3] }] });
const scaleRows = (rows: number) => ({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [rows, 2], data: Array.from({ length: rows * 2 }, (_, i) => i) }] });

const SUMMARIES = [
  ['nv_inference_request_summary_us', 'Summary of inference request duration in microseconds (includes cached requests)', 'nv_inference_request_duration_us'],
  ['nv_inference_queue_summary_us', 'Summary of inference queuing duration in microseconds (includes cached requests)', 'nv_inference_queue_duration_us'],
  ['nv_inference_compute_input_summary_us', 'Cumulative compute input duration in microseconds (does not include cached requests)', 'nv_inference_compute_input_duration_us'],
  ['nv_inference_compute_infer_summary_us', 'Cumulative compute inference duration in microseconds (does not include cached requests)', 'nv_inference_compute_infer_duration_us'],
  [
    'nv_inference_compute_output_summary_us',
    'Cumulative inference compute output duration in microseconds (does not include cached requests)',
    'nv_inference_compute_output_duration_us',
  ],
] as const;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-summaries-'));
  await makeTestRepository(repo);
  await writeRepositoryModel(repo, {
    name: 'add_sub_cached',
    versions: { 1: testModels().addSub.bytes },
    config: configText({
      name: 'add_sub_cached',
      maxBatchSize: 8,
      inputs: ['INPUT0', 'INPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
      outputs: ['OUTPUT0', 'OUTPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
      extra: ['response_cache {\n  enable: true\n}'],
    }),
  });
  [summaries, custom] = await Promise.all([
    startEngine({ modelRepository: repo, args: ['--metrics-config', 'summary_latencies=true', '--cache-config', 'local,size=1048576'] }),
    startEngine({
      modelRepository: repo,
      args: ['--metrics-config=summary_latencies=true', '--metrics-config=counter_latencies=false', '--metrics-config=summary_quantiles=0.5:0.05,0.99:0.001'],
    }),
  ]);
}, 120_000);

afterAll(async () => {
  const codes = await Promise.all([summaries?.stop(), custom?.stop()]);
  await fs.rm(repo, { recursive: true, force: true });
  expect(codes).toEqual([0, 0]);
});

describe('--metrics-config summary_latencies=true', () => {
  it("serves Triton's five summaries per loaded version, empty (NaN quantiles, count 0) before traffic", async () => {
    const families = await scrape(summaries);
    for (const [name, help] of SUMMARIES) {
      expect(families.get(name)).toMatchObject({ type: 'summary', help });
      const labels = { model: 'mlp', version: '1' };
      expect(sampleValue(families, name, `${name}_count`, labels)).toBe(0);
      expect(sampleValue(families, name, name, { ...labels, quantile: '0.5' })).toBeNaN();
    }
  });

  it('counts each success once, sums to the matching counter, and answers ordered quantiles at 0.5 … 0.999', async () => {
    const model = { model: 'fixed', version: '1' };
    const N = 20;
    for (let i = 0; i < N; i++) await infer(summaries, 'fixed', fixedInput(i));
    const families = await scrape(summaries);
    expect(valueOf(families, 'nv_inference_request_success', model)).toBe(N);
    for (const [name, , counter] of SUMMARIES) {
      expect(sampleValue(families, name, `${name}_count`, model)).toBe(N);
      // The sum and the counter add the same observations; each rounds once.
      expect(Math.abs(sampleValue(families, name, `${name}_sum`, model) - valueOf(families, counter, model))).toBeLessThanOrEqual(1);
      const quantiles = families.get(name)!.samples.filter((s) => s.name === name && s.labels.model === 'fixed');
      expect(quantiles.map((s) => s.labels.quantile)).toEqual(['0.5', '0.9', '0.95', '0.99', '0.999']);
      const values = quantiles.map((s) => s.value);
      for (const v of values) expect(Number.isFinite(v)).toBe(true);
      expect([...values].sort((a, b) => a - b)).toEqual(values);
    }
    // A request's end-to-end time holds its compute time, so the medians are ordered too.
    const median = (name: string) => sampleValue(families, name, name, { ...model, quantile: '0.5' });
    expect(median('nv_inference_request_summary_us')).toBeGreaterThanOrEqual(median('nv_inference_compute_infer_summary_us'));
  });

  it('gives a version that caches no request summary (as Triton) and cache hit and miss summaries instead', async () => {
    const body = { inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) })) };
    await infer(summaries, 'add_sub_cached', body); // miss: executes, then stored
    await infer(summaries, 'add_sub_cached', body); // hit
    const families = await scrape(summaries);
    const cached = { model: 'add_sub_cached', version: '1' };
    expect(families.get('nv_inference_request_summary_us')!.samples.filter((s) => s.labels.model === 'add_sub_cached')).toEqual([]);
    const count = (family: string) => sampleValue(families, family, `${family}_count`, cached);
    expect(count('nv_inference_queue_summary_us')).toBe(2);
    expect(count('nv_inference_compute_infer_summary_us')).toBe(1);
    expect(families.get('nv_cache_hit_summary_per_model')).toMatchObject({ type: 'summary', help: 'Summary of cache hit counts/durations per model, in microseconds.' });
    expect(count('nv_cache_hit_summary_per_model')).toBe(1);
    expect(count('nv_cache_miss_summary_per_model')).toBe(1);
    // Versions that do not cache have no cache summaries.
    expect(families.get('nv_cache_hit_summary_per_model')!.samples.filter((s) => s.labels.model === 'fixed')).toEqual([]);
  });

  it('keeps the cumulative latency counters (counter_latencies defaults to true)', async () => {
    expect((await scrape(summaries)).get('nv_inference_request_duration_us')?.type).toBe('counter');
  });
});

describe('counter_latencies=false with summary_quantiles', () => {
  it('drops the *_duration_us counters but keeps the counts, and serves only the quantiles asked for', async () => {
    await infer(custom, 'fixed', fixedInput(1));
    const families = await scrape(custom);
    for (const [name, , counter] of SUMMARIES) {
      expect(families.has(counter)).toBe(false);
      const quantiles = families.get(name)!.samples.filter((s) => s.name === name && s.labels.model === 'fixed');
      expect(quantiles.map((s) => s.labels.quantile)).toEqual(['0.5', '0.99']);
    }
    expect(valueOf(families, 'nv_inference_request_success', { model: 'fixed', version: '1' })).toBe(1);
    expect(valueOf(families, 'nv_inference_exec_count', { model: 'fixed', version: '1' })).toBe(1);
  });
});

describe('scoreline_inference_batch_size', () => {
  it('has buckets 1, 2, 4, … up to max_batch_size and +Inf, and places each execution by its rows', async () => {
    const v2 = { model: 'scale', version: '2' };
    const before = await scrape(summaries);
    // One request at a time, so each execution is exactly that request's rows.
    for (const rows of [1, 3, 3, 8]) await infer(summaries, 'scale', scaleRows(rows), '2');
    const after = await scrape(summaries);
    const family = after.get('scoreline_inference_batch_size')!;
    expect(family.type).toBe('histogram');
    expect(family.help).toMatch(/max_queue_delay_microseconds/);
    expect(family.help).toMatch(/preferred_batch_size/);
    const buckets = family.samples.filter((s) => s.name === 'scoreline_inference_batch_size_bucket' && s.labels.model === 'scale' && s.labels.version === '2');
    expect(buckets.map((s) => s.labels.le)).toEqual(['1', '2', '4', '8', '+Inf']);
    const moved = (le: string) =>
      sampleValue(after, 'scoreline_inference_batch_size', 'scoreline_inference_batch_size_bucket', { ...v2, le }) -
      sampleValue(before, 'scoreline_inference_batch_size', 'scoreline_inference_batch_size_bucket', { ...v2, le });
    expect(['1', '2', '4', '8', '+Inf'].map(moved)).toEqual([1, 1, 3, 4, 4]);
    const d = (sample: string, f: Families) => sampleValue(f, 'scoreline_inference_batch_size', sample, v2);
    expect(d('scoreline_inference_batch_size_count', after) - d('scoreline_inference_batch_size_count', before)).toBe(4);
    expect(d('scoreline_inference_batch_size_sum', after) - d('scoreline_inference_batch_size_sum', before)).toBe(15);
    // count and sum are Triton's exec_count and inference_count: their ratio is the average batch.
    expect(d('scoreline_inference_batch_size_count', after)).toBe(valueOf(after, 'nv_inference_exec_count', v2));
    expect(d('scoreline_inference_batch_size_sum', after)).toBe(valueOf(after, 'nv_inference_count', v2));
  });

  it('gives a model that cannot batch the one bucket 1', async () => {
    const buckets = (await scrape(summaries))
      .get('scoreline_inference_batch_size')!
      .samples.filter((s) => s.name === 'scoreline_inference_batch_size_bucket' && s.labels.model === 'fixed');
    expect(buckets.map((s) => s.labels.le)).toEqual(['1', '+Inf']);
  });
});

describe('a bad --metrics-config', () => {
  it('stops the start-up with an error naming the setting', () => {
    const r = spawnSync(process.execPath, [CLI, 'engine', '--model-repository', repo, '--metrics-config', 'summary_quantiles=0.9'], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--metrics-config 'summary_quantiles=0.9': '0.9' is not <quantile>:<error>/);
  });
});
