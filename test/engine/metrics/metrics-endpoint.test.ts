/**
 * The metrics endpoint from the outside: `scoreline engine` on free ports, known traffic
 * over KServe v2 HTTP, then /metrics parsed strictly and compared with what was sent.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestRepository } from '../../fixtures/test-repository';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { ParsedFamily, parsePrometheus, valueOf } from './parse-prometheus';

let repo: string;
let engine: RunningEngine;

type Families = Map<string, ParsedFamily>;

async function scrape(): Promise<Families> {
  const res = await fetch(engine.metricsUrl!);
  expect(res.status).toBe(200);
  return parsePrometheus(await res.text());
}

async function infer(model: string, body: unknown, version?: string): Promise<number> {
  const url = `${engine.url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`;
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  await res.arrayBuffer();
  return res.status;
}

const fixedInput = (data: number[]) => ({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [data.length], data }] });
const addSubInput = (k: number) => ({
  inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i + k) })),
});

/** How far each listed series moved between two scrapes. */
function delta(before: Families, after: Families, family: string, labels: Record<string, string>): number {
  return valueOf(after, family, labels) - valueOf(before, family, labels);
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-metrics-'));
  await makeTestRepository(repo);
  engine = await startEngine({ modelRepository: repo });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('GET /metrics', () => {
  it('announces its port in the log and answers in the Prometheus text format', async () => {
    expect(engine.output()).toMatch(/Metrics service listening on 127\.0\.0\.1:\d+/);
    const res = await fetch(engine.metricsUrl!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(() => parsePrometheus(text)).not.toThrow();
  });

  it.each([
    ['nv_inference_request_success', 'counter', 'Number of successful inference requests, all batch sizes'],
    ['nv_inference_request_failure', 'counter', 'Number of failed inference requests, all batch sizes'],
    ['nv_inference_count', 'counter', 'Number of inferences performed (does not include cached requests)'],
    ['nv_inference_exec_count', 'counter', 'Number of model executions performed (does not include cached requests)'],
    ['nv_inference_request_duration_us', 'counter', 'Cumulative inference request duration in microseconds (includes cached requests)'],
    ['nv_inference_queue_duration_us', 'counter', 'Cumulative inference queuing duration in microseconds (includes cached requests)'],
    ['nv_inference_compute_input_duration_us', 'counter', 'Cumulative compute input duration in microseconds (does not include cached requests)'],
    ['nv_inference_compute_infer_duration_us', 'counter', 'Cumulative compute inference duration in microseconds (does not include cached requests)'],
    ['nv_inference_compute_output_duration_us', 'counter', 'Cumulative inference compute output duration in microseconds (does not include cached requests)'],
    ['nv_inference_pending_request_count', 'gauge', 'Instantaneous number of pending requests awaiting execution per-model.'],
    ['nv_model_load_duration_secs', 'gauge', 'Model load time in seconds'],
    ['nv_cpu_utilization', 'gauge', 'CPU utilization rate [0.0 - 1.0]'],
    ['nv_cpu_memory_total_bytes', 'gauge', 'CPU total memory (RAM), in bytes'],
    ['nv_cpu_memory_used_bytes', 'gauge', 'CPU used memory (RAM), in bytes'],
  ])('has %s as a %s with Triton’s HELP text', async (name, type, help) => {
    const family = (await scrape()).get(name);
    expect(family).toMatchObject({ type, help });
  });

  it('has no latency summaries unless --metrics-config summary_latencies=true, and always the batch-size histogram', async () => {
    const families = await scrape();
    expect([...families.keys()].filter((n) => n.includes('_summary'))).toEqual([]);
    expect(families.get('scoreline_inference_batch_size')?.type).toBe('histogram');
  });

  it('has no GPU families on a machine where no GPU source is configured', async () => {
    const names = [...(await scrape()).keys()];
    expect(names.filter((n) => n.startsWith('nv_gpu_') || n === 'nv_energy_consumption')).toEqual([]);
  });

  it('answers 404 to every other path and method', async () => {
    for (const [method, url] of [
      ['GET', '/'],
      ['GET', '/metricsx'],
      ['GET', '/v2/health/live'],
      ['POST', '/metrics'],
    ]) {
      const res = await fetch(new URL(url!, engine.metricsUrl).toString(), { method });
      await res.arrayBuffer();
      expect([method, url, res.status]).toEqual([method, url, 404]);
    }
  });
});

describe('per-model metrics after known traffic', () => {
  it('count N successes and M invalid requests exactly, with the model and version labels', async () => {
    const model = { model: 'fixed', version: '1' };
    const before = await scrape();
    const N = 5;
    const M = 3;
    for (let i = 0; i < N; i++) expect(await infer('fixed', fixedInput([i, 1, 2, 3]))).toBe(200);
    for (let i = 0; i < M; i++) expect(await infer('fixed', fixedInput([1, 2]))).toBe(400);
    const after = await scrape();

    expect(delta(before, after, 'nv_inference_request_success', model)).toBe(N);
    // fixed cannot batch: every request is one inference and one execution (Triton's counting).
    expect(delta(before, after, 'nv_inference_count', model)).toBe(N);
    expect(delta(before, after, 'nv_inference_exec_count', model)).toBe(N);
    // Invalid requests fail before the scheduler: Triton's OTHER; nothing else moves.
    expect(delta(before, after, 'nv_inference_request_failure', { ...model, reason: 'OTHER' })).toBe(M);
    for (const reason of ['REJECTED', 'CANCELED', 'BACKEND']) {
      expect(delta(before, after, 'nv_inference_request_failure', { ...model, reason })).toBe(0);
    }
    expect(delta(before, after, 'nv_inference_request_duration_us', model)).toBeGreaterThan(0);
    expect(delta(before, after, 'nv_inference_compute_infer_duration_us', model)).toBeGreaterThan(0);
    expect(delta(before, after, 'nv_inference_queue_duration_us', model)).toBeGreaterThanOrEqual(0);
    // Traffic to one model moves no other model's counters.
    expect(delta(before, after, 'nv_inference_request_success', { model: 'add_sub', version: '1' })).toBe(0);
  });

  it('count rows as inferences and requests as successes, per version', async () => {
    const before = await scrape();
    const rows = [[1, 2], [3, 4], [5, 6]];
    const body = { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [3, 2], data: rows }] };
    expect(await infer('scale', body, '2')).toBe(200);
    expect(await infer('scale', body, '2')).toBe(200);
    const after = await scrape();
    const v2 = { model: 'scale', version: '2' };
    expect(delta(before, after, 'nv_inference_request_success', v2)).toBe(2);
    expect(delta(before, after, 'nv_inference_count', v2)).toBe(6);
    expect(delta(before, after, 'nv_inference_exec_count', v2)).toBe(2);
    expect(delta(before, after, 'nv_inference_request_success', { model: 'scale', version: '1' })).toBe(0);
  });

  it('count a concurrent burst exactly, batch it into fewer executions, and end with nothing pending', async () => {
    const labels = { model: 'add_sub', version: '1' };
    const before = await scrape();
    const K = 24;
    const statuses = await Promise.all(Array.from({ length: K }, (_, k) => infer('add_sub', addSubInput(k))));
    expect(statuses).toEqual(Array(K).fill(200));
    const after = await scrape();
    expect(delta(before, after, 'nv_inference_request_success', labels)).toBe(K);
    expect(delta(before, after, 'nv_inference_count', labels)).toBe(K);
    const executions = delta(before, after, 'nv_inference_exec_count', labels);
    expect(executions).toBeGreaterThanOrEqual(K / 8); // max_batch_size 8
    expect(executions).toBeLessThanOrEqual(K);
    for (const s of after.get('nv_inference_pending_request_count')!.samples) expect(s.value).toBe(0);
  });

  it('agree with the statistics extension', async () => {
    const families = await scrape();
    const { model_stats } = (await (await fetch(`${engine.url}/v2/models/add_sub/stats`)).json()) as {
      model_stats: Array<{ inference_count: number; execution_count: number; inference_stats: { success: { count: number }; fail: { count: number } } }>;
    };
    const stats = model_stats[0]!;
    const labels = { model: 'add_sub', version: '1' };
    expect(valueOf(families, 'nv_inference_request_success', labels)).toBe(stats.inference_stats.success.count);
    expect(valueOf(families, 'nv_inference_count', labels)).toBe(stats.inference_count);
    expect(valueOf(families, 'nv_inference_exec_count', labels)).toBe(stats.execution_count);
    const failures = families.get('nv_inference_request_failure')!.samples.filter((s) => s.labels.model === 'add_sub');
    expect(failures.map((s) => s.labels.reason).sort()).toEqual(['BACKEND', 'CANCELED', 'OTHER', 'REJECTED']);
    expect(failures.reduce((n, s) => n + s.value, 0)).toBe(stats.inference_stats.fail.count);
  });

  it('report a load duration for every loaded model version, and no series for unknown models', async () => {
    expect(await infer('no_such_model', fixedInput([1, 2, 3, 4]))).toBe(400);
    const load = (await scrape()).get('nv_model_load_duration_secs')!;
    const series = load.samples.map((s) => `${s.labels.model}/${s.labels.version}`).sort();
    expect(series).toEqual([
      'add_sub/1',
      'classifier/1',
      'fixed/1',
      'identity_all/1',
      'mlp/1',
      'scale/1',
      'scale/2',
      'string_identity/1',
    ]);
    for (const s of load.samples) {
      expect(s.value).toBeGreaterThan(0);
      expect(s.value).toBeLessThan(120);
    }
  });
});

describe('machine metrics', () => {
  it('report CPU utilization as a rate in [0, 1] and memory used within the total', async () => {
    const families = await scrape();
    const utilization = valueOf(families, 'nv_cpu_utilization');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    const total = valueOf(families, 'nv_cpu_memory_total_bytes');
    const used = valueOf(families, 'nv_cpu_memory_used_bytes');
    expect(total).toBe(os.totalmem());
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(total);
  });
});

describe('--metrics-port=-1', () => {
  it('starts no metrics service', async () => {
    const small = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-metrics-off-'));
    const off = await startEngine({ modelRepository: small, args: ['--metrics-port=-1'] });
    try {
      expect(off.metricsUrl).toBeUndefined();
      expect(off.output()).not.toMatch(/Metrics service listening/);
      expect((await fetch(`${off.url}/v2/health/live`)).status).toBe(200);
    } finally {
      expect(await off.stop()).toBe(0);
      await fs.rm(small, { recursive: true, force: true });
    }
  });
});
