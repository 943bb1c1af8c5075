/**
 * `npm run bench:engine`: what dynamic batching buys, measured in one run so the ratios hold
 * on a noisy shared machine.
 *
 *   raw          onnxruntime-node in this process, batch 64, one intra-op thread: the limit
 *   engine       `scoreline engine` (child process), one instance, one intra-op thread,
 *                dynamic batching, max_batch_size 64, driven with binary /infer requests of
 *                batch 1 at concurrency 64
 *   no batching  the same engine and model with dynamic_batching removed
 *   2× callers   the batched engine at twice the concurrency: with more callers than
 *                max_batch_size a full batch can gather while another computes
 *   lean         the batched engine again, driven by a minimal raw-socket generator
 *                (lean-http-load.ts) instead of undici: the generator shares the two cores
 *                with the engine, and undici's CPU per request is taken from the model
 *
 * Model: the MLP 512→2048→2048→512→10 of bench/README.md (`npm run bench:engine`), symbolic batch dim. Prints samples/s
 * and the ratios engine/raw (target ≥ 0.85) and engine/no-batching (target ≥ 4).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { Pool } from 'undici';
import { mlp } from '../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../tools/onnx/repository-writer';
import { httpPost, measureLean, percentile } from './lean-http-load';
import { spawnEngine } from './spawn-engine';

const LAYERS = [512, 2048, 2048, 512, 10];
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 1;

function progress(message: string): void {
  process.stderr.write(`[bench:engine] ${message}\n`);
}

export interface Measured {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The run with the median rate (its latencies belong to it). */
function medianRun(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.rate - b.rate);
  return { ...sorted[Math.floor(sorted.length / 2)]!, errors: runs.reduce((n, r) => n + r.errors, 0) };
}

async function measureRaw(modelPath: string, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const input = new ort.Tensor('float32', new Float32Array(batch * LAYERS[0]!).fill(0.1), [batch, LAYERS[0]!]);
  const feeds = { INPUT0: input };
  const until = (s: number) => performance.now() + s * 1000;
  for (const end = until(WARMUP_SECONDS); performance.now() < end; ) await session.run(feeds);
  let samples = 0;
  const start = performance.now();
  for (const end = until(SECONDS); performance.now() < end; ) {
    await session.run(feeds);
    samples += batch;
  }
  const rate = samples / ((performance.now() - start) / 1000);
  await session.release();
  return rate;
}

/** The benchmark's request: one 512-feature row as binary data, the output asked as binary. */
function inferRequest(): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, LAYERS[0]], parameters: { binary_data_size: LAYERS[0]! * 4 } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    }),
  );
  const body = Buffer.concat([header, Buffer.from(new Float32Array(LAYERS[0]!).fill(0.1).buffer)]);
  return { body, headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' } };
}

function summarize(rate: number, latencies: number[], errors: number): Measured {
  latencies.sort((a, b) => a - b);
  return { rate, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
}

/** The same closed loop as measureEngine, from the minimal raw-socket generator. */
async function measureEngineLean(url: string, model: string): Promise<Measured> {
  const { hostname, port } = new URL(url);
  const { body, headers } = inferRequest();
  const request = httpPost(hostname, Number(port), `/v2/models/${model}/infer`, headers, body);
  const m = await measureLean(url, request, CONCURRENCY, WARMUP_SECONDS * 1000, SECONDS * 1000);
  return { rate: m.requestsPerSecond, p50: m.latency.p50Ms, p99: m.latency.p99Ms, errors: m.errorCount };
}

/** Closed loop: `concurrency` callers, each sending its next request when the last one answers. */
async function measureEngine(url: string, model: string, concurrency = CONCURRENCY): Promise<Measured> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const { body, headers } = inferRequest();
  let phase: 'warmup' | 'measure' | 'done' = 'warmup';
  let completed = 0;
  let errors = 0;
  const latencies: number[] = [];
  const worker = async (): Promise<void> => {
    while (phase !== 'done') {
      const t0 = performance.now();
      const res = await pool.request({ path: `/v2/models/${model}/infer`, method: 'POST', body, headers });
      await res.body.arrayBuffer();
      if (phase !== 'measure') continue;
      if (res.statusCode === 200) {
        completed += 1;
        latencies.push(performance.now() - t0);
      } else errors += 1;
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  phase = 'measure';
  const start = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const elapsed = (performance.now() - start) / 1000;
  const rate = completed / elapsed;
  phase = 'done';
  await Promise.all(workers);
  await pool.close();
  return summarize(rate, latencies, errors);
}

export interface EngineBenchResult {
  /** Samples/s of raw onnxruntime-node at batch 64 (the limit). */
  raw: number;
  /** Samples/s of raw onnxruntime-node at batch 32. */
  halfRaw: number;
  batched: Measured;
  /** The batched engine driven by the minimal raw-socket generator. */
  lean: Measured;
  /** The batched engine at twice the concurrency. */
  double: Measured;
  unbatched: Measured;
  /** The markdown table written to bench/results/engine.md. */
  table: string;
}

/** Runs the engine benchmark (alternating rounds, medians) and writes bench/results/engine.md. */
export async function runEngineBench(): Promise<EngineBenchResult> {
  const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-'));
  try {
    progress(`writing the ${LAYERS.join('→')} MLP to ${repo}`);
    const model = mlp({ layers: LAYERS, batchDim: 'batch', seed: 42 });
    const io = {
      maxBatchSize: 64,
      inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, dims: [LAYERS[0]!] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32' as const, dims: [LAYERS[LAYERS.length - 1]!] }],
    };
    const oneThread = ['parameters { key: "intra_op_thread_count" value: { string_value: "1" } }', 'instance_group [{ count: 1, kind: KIND_CPU }]'];
    await writeRepositoryModel(repo, {
      name: 'mlp_batched',
      versions: { 1: model.bytes },
      config: configText({ name: 'mlp_batched', ...io, extra: ['dynamic_batching { }', ...oneThread] }),
    });
    await writeRepositoryModel(repo, {
      name: 'mlp_unbatched',
      versions: { 1: model.bytes },
      config: configText({ name: 'mlp_unbatched', ...io, extra: oneThread }),
    });

    // Rounds alternate the three measurements so that a burst of load from elsewhere on a
    // shared machine hits all of them alike; the medians are compared.
    const engine = await spawnEngine(repo);
    try {
      const raws: number[] = [];
      // Batch 32: at concurrency 64 a pipelined engine runs two half batches in turn (one
      // computes while the other's requests travel), so this rate bounds what it can reach.
      const halfRaws: number[] = [];
      const batchedRuns: Measured[] = [];
      const unbatchedRuns: Measured[] = [];
      const leanRuns: Measured[] = [];
      const doubleRuns: Measured[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        progress(`round ${round}/${ROUNDS}: raw onnxruntime, batch 64, 1 thread`);
        raws.push(await measureRaw(path.join(repo, 'mlp_batched', '1', 'model.onnx'), 64));
        progress(`round ${round}/${ROUNDS}: raw onnxruntime, batch 32, 1 thread`);
        halfRaws.push(await measureRaw(path.join(repo, 'mlp_batched', '1', 'model.onnx'), 32));
        progress(`round ${round}/${ROUNDS}: engine, dynamic batching, concurrency ${CONCURRENCY}`);
        batchedRuns.push(await measureEngine(engine.url, 'mlp_batched'));
        progress(`round ${round}/${ROUNDS}: engine, dynamic batching, concurrency ${CONCURRENCY}, minimal raw-socket generator`);
        leanRuns.push(await measureEngineLean(engine.url, 'mlp_batched'));
        progress(`round ${round}/${ROUNDS}: engine, dynamic batching, concurrency ${2 * CONCURRENCY}`);
        doubleRuns.push(await measureEngine(engine.url, 'mlp_batched', 2 * CONCURRENCY));
        progress(`round ${round}/${ROUNDS}: engine, no dynamic batching, concurrency ${CONCURRENCY}`);
        unbatchedRuns.push(await measureEngine(engine.url, 'mlp_unbatched'));
        progress(
          `round ${round}: raw ${raws[round - 1]!.toFixed(0)}, batched ${batchedRuns[round - 1]!.rate.toFixed(0)} ` +
            `(lean generator ${leanRuns[round - 1]!.rate.toFixed(0)}), ` +
            `unbatched ${unbatchedRuns[round - 1]!.rate.toFixed(0)} samples/s`,
        );
      }
      const raw = median(raws);
      const halfRaw = median(halfRaws);
      const batched = medianRun(batchedRuns);
      const unbatched = medianRun(unbatchedRuns);
      const lean = medianRun(leanRuns);
      const double = medianRun(doubleRuns);

      const rows = [
        ['raw onnxruntime-node, batch 64, 1 thread (limit)', raw.toFixed(0), '', '', '1.00'],
        ['raw onnxruntime-node, batch 32, 1 thread (the pipelining bound at concurrency 64)', halfRaw.toFixed(0), '', '', (halfRaw / raw).toFixed(2)],
        ['engine, dynamic batching, batch-1 requests', batched.rate.toFixed(0), batched.p50.toFixed(1), batched.p99.toFixed(1), (batched.rate / raw).toFixed(2)],
        ['engine, dynamic batching, batch-1 requests, minimal raw-socket generator', lean.rate.toFixed(0), lean.p50.toFixed(1), lean.p99.toFixed(1), (lean.rate / raw).toFixed(2)],
        [`engine, dynamic batching, batch-1 requests, concurrency ${2 * CONCURRENCY}`, double.rate.toFixed(0), double.p50.toFixed(1), double.p99.toFixed(1), (double.rate / raw).toFixed(2)],
        ['engine, no dynamic batching, batch-1 requests', unbatched.rate.toFixed(0), unbatched.p50.toFixed(1), unbatched.p99.toFixed(1), (unbatched.rate / raw).toFixed(2)],
      ];
      const table = [
        `MLP ${LAYERS.join('→')}, concurrency ${CONCURRENCY} unless noted, medians of ${ROUNDS} alternating rounds of ${SECONDS}s, ${os.cpus().length} cores`,
        '',
        '| configuration | samples/s | p50 ms | p99 ms | × raw |',
        '|---|---:|---:|---:|---:|',
        ...rows.map((r) => `| ${r.join(' | ')} |`),
        '',
        `engine / raw = ${(batched.rate / raw).toFixed(2)} (target ≥ 0.85); with the minimal raw-socket generator ${(lean.rate / raw).toFixed(2)}`,
        `engine / raw at concurrency ${2 * CONCURRENCY} = ${(double.rate / raw).toFixed(2)}`,
        `engine / no batching = ${(batched.rate / unbatched.rate).toFixed(2)} (target ≥ 4)`,
        `errors: batched ${batched.errors}, lean generator ${lean.errors}, concurrency ${2 * CONCURRENCY} ${double.errors}, unbatched ${unbatched.errors}`,
      ].join('\n');
      process.stdout.write(`${table}\n`);
      await fs.mkdir(path.join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
      await fs.writeFile(path.join(__dirname, '..', '..', 'bench', 'results', 'engine.md'), `${table}\n`);
      return { raw, halfRaw, batched, lean, double, unbatched, table };
    } finally {
      await engine.stop();
    }
  } finally {
    await fs.rm(repo, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runEngineBench().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
