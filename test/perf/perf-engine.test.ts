/**
 * `scoreline perf` against a real engine (the built CLI on a free port, models made by the
 * project's generator), a few seconds per test: the CSV has the documented columns, the
 * counts agree with the engine's statistics, errors are counted rather than hidden, the
 * open loop offers the rate asked for, and worker threads account for every request.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { InferenceServerClient } from '../../src/client';
import { mlp } from '../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../tools/onnx/repository-writer';
import { parsePerfArgs, PerfOptions } from '../../src/perf/perf-options';
import type { PerfReport } from '../../src/perf/perf-report';
import { CSV_COLUMNS } from '../../src/perf/report-csv';
import { runPerf } from '../../src/perf/run-perf';
import { StatsSnapshot, statsSnapshot } from '../../src/perf/server-stats';
import { testRepositoryModels } from '../fixtures/test-repository';
import { CLI, PACKAGE_ROOT, RunningEngine, startEngine } from '../helpers/start-engine';

let dir: string;
let engine: RunningEngine;
let client: InferenceServerClient;

/** Short windows and a loose stability rule keep each run to a few seconds. */
const QUICK = ['--warmup-interval', '200', '-p', '400', '-s', '50', '-r', '4'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-perf-'));
  const repo = path.join(dir, 'repo');
  for (const model of testRepositoryModels().filter((m) => m.name === 'scale')) await writeRepositoryModel(repo, model);
  const small = mlp({ layers: [8, 16, 4], seed: 5 });
  const io = {
    inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, dims: [8] }],
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32' as const, dims: [4] }],
  };
  await writeRepositoryModel(repo, { name: 'mlp', versions: { 1: small.bytes }, config: configText({ name: 'mlp', maxBatchSize: 8, ...io, extra: ['dynamic_batching { }'] }) });
  // Room for one queued request: most of 16 callers are turned away with 503.
  await writeRepositoryModel(repo, {
    name: 'limited',
    versions: { 1: small.bytes },
    config: configText({ name: 'limited', maxBatchSize: 1, ...io, extra: ['dynamic_batching { default_queue_policy { max_queue_size: 1 } }'] }),
  });
  engine = await startEngine({ modelRepository: repo });
  client = new InferenceServerClient({ url: engine.url });
  await client.waitUntilReady({ timeoutMs: 30_000, models: ['mlp', 'limited', 'scale'] });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const stats = async (model: string): Promise<StatsSnapshot> => statsSnapshot((await client.getInferenceStatistics(model)).model_stats);

function options(args: string[]): PerfOptions {
  const parsed = parsePerfArgs(['-u', engine.url, ...QUICK, ...args]);
  if (parsed === 'help') throw new Error('help');
  return parsed;
}

describe('the perf CLI', () => {
  it('measures a closed-loop sweep, prints JSON and writes the documented CSV and an SVG', async () => {
    const csv = path.join(dir, 'sweep.csv');
    const svg = path.join(dir, 'sweep.svg');
    const before = await stats('mlp');
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'perf', '-u', engine.url, '-m', 'mlp', '--concurrency-range', '1:4:3', ...QUICK, '-f', csv, '--plot', svg, '--json'], {
      cwd: PACKAGE_ROOT,
    });
    const after = await stats('mlp');
    const report = JSON.parse(stdout) as PerfReport;
    expect(stderr).toContain(`wrote ${csv}`);

    const [header, ...rows] = (await readFile(csv, 'utf8')).trimEnd().split('\n');
    expect(header!.split(',')).toEqual(['Concurrency', ...CSV_COLUMNS]);
    expect(rows).toHaveLength(2);
    const byColumn = rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [header!.split(',')[i], v])));
    expect(byColumn.map((r) => r.Concurrency).sort()).toEqual(['1', '4']);
    for (const r of byColumn) {
      expect(Number(r['Inferences/Second'])).toBeGreaterThan(0);
      expect(Number(r['p50 latency'])).toBeLessThanOrEqual(Number(r['p99 latency']));
      expect(Number(r['Server Compute Infer'])).toBeGreaterThan(0);
      expect(r['Error Count']).toBe('0');
      // The step's own request count, read back from the CSV, is the JSON's.
      const step = report.steps.find((s) => s.load.mode === 'concurrency' && String(s.load.concurrency) === r.Concurrency)!;
      expect(Number(r['Request Count'])).toBe(step.completed);
    }

    // Every request the run sent (warm-ups and drains included) is one the engine counted.
    expect(report.totals).toEqual({ sent: report.totals.completed, completed: after.success.count - before.success.count, errors: {} });
    expect(report.serverTotals!.successCount).toBe(report.totals.completed);
    const plot = await readFile(svg, 'utf8');
    expect(plot.match(/<polyline /g)).toHaveLength(4);
  });

  it('exits 2 naming the input when --shape does not fit the model', async () => {
    const run = promisify(execFile)(process.execPath, [CLI, 'perf', '-u', engine.url, '-m', 'mlp', '--shape', 'INPUT0:9', ...QUICK], { cwd: PACKAGE_ROOT });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--shape gives input 'INPUT0' dims [9], but model 'mlp' takes [8]") });
  });
});

describe('counting', () => {
  it("agrees with the engine's statistics per step and over the run, on two generator threads", async () => {
    const before = await stats('mlp');
    const report = await runPerf(options(['-m', 'mlp', '--concurrency-range', '8', '--threads', '2']));
    const after = await stats('mlp');
    const [step] = report.steps;
    expect(step!.threads).toBe(2);
    expect(report.totals.completed).toBe(after.success.count - before.success.count);
    expect(report.totals.sent).toBe(report.totals.completed);
    // Window edges on the two sides are a stats request apart: allow for the callers in flight.
    expect(Math.abs(step!.server!.successCount - step!.completed)).toBeLessThanOrEqual(8 + step!.completed * 0.02);
    expect(step!.server!.computeInferUs).toBeGreaterThan(0);
  });

  it('counts errors by status instead of hiding them, and the engine agrees', async () => {
    const before = await stats('limited');
    const report = await runPerf(options(['-m', 'limited', '--concurrency-range', '16', '--threads', '1']));
    const after = await stats('limited');
    const [step] = report.steps;
    expect(step!.errors['503']).toBeGreaterThan(0);
    expect(step!.errorCount).toBe(Object.values(step!.errors).reduce((a, b) => a + b, 0));
    expect(step!.completed).toBeGreaterThan(0);
    expect(report.totals.sent).toBe(report.totals.completed + report.totals.errors['503']!);
    expect(report.totals.completed).toBe(after.success.count - before.success.count);
    expect(report.totals.errors['503']).toBe(after.fail.count - before.fail.count);
  });

  it('counts samples, not requests, as inferences when batching, with JSON tensors and a data file', async () => {
    const data = path.join(dir, 'data.json');
    await writeFile(data, JSON.stringify({ data: [{ INPUT0: { content: [1, 2, 3], shape: [3] } }, { INPUT0: { content: [[4, 5]], shape: [2] } }] }));
    const before = await stats('scale');
    const report = await runPerf(options(['-m', 'scale', '-b', '4', '--input-data', data, '--input-tensor-format', 'json', '--output-tensor-format', 'json']));
    const after = await stats('scale');
    const [step] = report.steps;
    expect(report.totals.errors).toEqual({});
    expect(after.inferenceCount - before.inferenceCount).toBe(4 * report.totals.completed);
    expect(step!.inferPerSecond).toBeCloseTo(4 * step!.requestsPerSecond, 6);
  });
});

describe('gRPC (-i grpc)', () => {
  const grpcOptions = (args: string[]): PerfOptions => parsePerfArgs(['-i', 'grpc', '-u', engine.grpcUrl!, ...QUICK, ...args]) as PerfOptions;

  it("loads the engine's gRPC service, and the engine counts the same requests", async () => {
    const before = await stats('mlp');
    const report = await runPerf(grpcOptions(['-m', 'mlp', '--concurrency-range', '4', '-b', '2']));
    const after = await stats('mlp');
    expect(report.target).toMatchObject({ url: engine.grpcUrl, model: 'mlp' });
    expect(report.totals).toEqual({ sent: report.totals.completed, completed: after.success.count - before.success.count, errors: {} });
    expect(after.inferenceCount - before.inferenceCount).toBe(2 * report.totals.completed);
    expect(report.steps[0]!.server!.successCount).toBeGreaterThan(0);
  });

  it('counts refusals under their gRPC status', async () => {
    const before = await stats('limited');
    const report = await runPerf(grpcOptions(['-m', 'limited', '--concurrency-range', '16', '--threads', '1']));
    const after = await stats('limited');
    expect(report.totals.errors['grpc:UNAVAILABLE']).toBeGreaterThan(0);
    expect(report.totals.sent).toBe(report.totals.completed + report.totals.errors['grpc:UNAVAILABLE']!);
    expect(report.totals.errors['grpc:UNAVAILABLE']).toBe(after.fail.count - before.fail.count);
  });
});

describe('the open loop', () => {
  // Poisson arrivals vary by design (±√n per window); their mean is checked in measurement.test.ts.
  it.each([1, 2])('offers the asked rate within 5%% with constant arrivals on %d thread(s)', async (threads) => {
    const rate = 250;
    const distribution = 'constant';
    const report = await runPerf(
      options(['-m', 'mlp', '--request-rate-range', String(rate), '--request-distribution', distribution, '--threads', String(threads), '-p', '1000', '-r', '3']),
    );
    const [step] = report.steps;
    expect(step!.load).toEqual({ mode: 'rate', ratePerSecond: rate, distribution });
    expect(Math.abs(step!.sendRate / rate - 1)).toBeLessThan(0.05);
    // Completions trail the sends by the latency, which a busy shared machine can stretch.
    expect(Math.abs(step!.requestsPerSecond / rate - 1)).toBeLessThan(0.2);
    expect(step!.errorCount).toBe(0);
  });
});
