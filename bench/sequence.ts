/**
 * `npm run bench:sequence`: what keeping a stream's state in the engine costs, measured in
 * one run so the ratios hold on a noisy shared machine. The model is the audio example's
 * Silero VAD (examples/audio/make-audio-repository.ts; one 512-sample frame per step):
 *
 *   onnxruntime   the network in this process, one stream stepped serially, its state
 *                 passed by hand: the limit of one instance
 *   engine state  `scoreline engine` (child process), sequence_batching with implicit
 *                 state (max_batch_size 0, oldest, 64 candidates, one instance): the
 *                 client sends the frame and the stream's sequence_id
 *   client state  the same network without sequence_batching: the client sends h and c
 *                 with every frame and reads hn and cn back (what a client does without
 *                 a sequence batcher)
 *
 * Each engine row runs S streams at once, each stream one step after another (closed loop),
 * through scoreline/client with binary tensors. Prints frames/s, step latency p50/p99, and
 * the ratios engine/client state and engine/onnxruntime. Writes bench/results/sequence.md.
 * Environment: BENCH_SECONDS (3 per row), BENCH_STREAMS (1,8,64).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { FRAME_SAMPLES, SAMPLE_RATE, STATE_DIMS, VAD_MODEL, makeAudioRepository, readSileroVad } from '../examples/audio/make-audio-repository';
import { withConstantInput } from '../examples/audio/onnx-constant-input';
import { InferInput, InferRequestedOutput, InferenceServerClient } from '../src/client';
import { configText, writeRepositoryModel } from '../tools/onnx/repository-writer';
import { RESULTS_DIR, progress } from './bench-load';
import { percentile } from './lean-http-load';
import { spawnEngine } from './spawn-engine';

const TAG = 'bench:sequence';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = 1;
const STREAMS = (process.env.BENCH_STREAMS ?? '1,8,64').split(',').map(Number);
const STATELESS_MODEL = 'silero_vad_client_state';
const STATE_ELEMENTS = STATE_DIMS.reduce((a: number, b: number) => a * b, 1);

interface Row {
  name: string;
  streams: number;
  framesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

const frame = (): Float32Array => Float32Array.from({ length: FRAME_SAMPLES }, (_, i) => 0.2 * Math.sin(i / 7));

async function measureOnnxruntime(): Promise<Row> {
  const session = await ort.InferenceSession.create(readSileroVad());
  const zeros = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(STATE_ELEMENTS), [...STATE_DIMS]);
  let [h, c] = [zeros(), zeros()];
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  while (performance.now() < until) {
    const started = performance.now();
    const out = await session.run({
      input: new ort.Tensor('float32', frame(), [1, FRAME_SAMPLES]),
      sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []),
      h,
      c,
    });
    [h, c] = [out.hn!, out.cn!];
    latencies.push(performance.now() - started);
  }
  await session.release();
  return summarize('onnxruntime', 1, latencies, 0);
}

function summarize(name: string, streams: number, latencies: number[], errors: number, seconds = SECONDS): Row {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { name, streams, framesPerSecond: latencies.length / seconds, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), errors };
}

/** S streams for SECONDS, each stepping serially; `step` sends one frame of stream `s`. */
async function drive(name: string, streams: number, seconds: number, step: (stream: number, first: boolean) => Promise<void>): Promise<Row> {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: streams }, async (_, s) => {
      let first = true;
      while (performance.now() < until) {
        const started = performance.now();
        try {
          await step(s, first);
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
        first = false;
      }
    }),
  );
  return summarize(name, streams, latencies, errors, seconds);
}

async function main(): Promise<void> {
  const repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-sequence-'));
  await makeAudioRepository(repo);
  const stateless = withConstantInput(readSileroVad(), { name: 'sr', datatype: 'INT64', dims: [], data: BigInt64Array.of(BigInt(SAMPLE_RATE)) });
  await writeRepositoryModel(repo, {
    name: STATELESS_MODEL,
    versions: { 1: stateless },
    config: configText({
      name: STATELESS_MODEL,
      maxBatchSize: 0,
      inputs: [
        { name: 'input', datatype: 'FP32', dims: [1, -1] },
        { name: 'h', datatype: 'FP32', dims: [...STATE_DIMS] },
        { name: 'c', datatype: 'FP32', dims: [...STATE_DIMS] },
      ],
      outputs: [
        { name: 'output', datatype: 'FP32', dims: [1, 1] },
        { name: 'hn', datatype: 'FP32', dims: [...STATE_DIMS] },
        { name: 'cn', datatype: 'FP32', dims: [...STATE_DIMS] },
      ],
      extra: ['instance_group [ { kind: KIND_CPU count: 1 } ]'],
    }),
  });
  const rows: Row[] = [];
  progress(TAG, 'onnxruntime in process, one stream');
  rows.push(await measureOnnxruntime());
  const engine = await spawnEngine(repo);
  const client = new InferenceServerClient({ url: engine.url, concurrency: Math.max(...STREAMS) });
  let runs = 0;
  const engineState = (streams: number, seconds = SECONDS): Promise<Row> => {
    // Each row's streams get IDs of their own, and end nothing: the idle limit (30 s) frees them.
    const run = ++runs;
    return drive('engine state', streams, seconds, async (s, first) => {
      await client.infer(VAD_MODEL, [new InferInput('input', [1, FRAME_SAMPLES], 'FP32').setData(frame())], {
        outputs: [new InferRequestedOutput('output')],
        sequenceId: `${run}-${s}`,
        sequenceStart: first,
      });
    });
  };
  const clientState = (streams: number, seconds = SECONDS): Promise<Row> => {
    const states = Array.from({ length: streams }, () => ({ h: new Float32Array(STATE_ELEMENTS), c: new Float32Array(STATE_ELEMENTS) }));
    return drive('client state', streams, seconds, async (s) => {
      const state = states[s]!;
      const result = await client.infer(
        STATELESS_MODEL,
        [
          new InferInput('input', [1, FRAME_SAMPLES], 'FP32').setData(frame()),
          new InferInput('h', [...STATE_DIMS], 'FP32').setData(state.h),
          new InferInput('c', [...STATE_DIMS], 'FP32').setData(state.c),
        ],
        { outputs: ['output', 'hn', 'cn'].map((n) => new InferRequestedOutput(n)) },
      );
      state.h = result.asTypedArray<Float32Array>('hn').slice();
      state.c = result.asTypedArray<Float32Array>('cn').slice();
    });
  };
  try {
    // Both paths warm up (JIT, connections, the instance) before any row counts.
    progress(TAG, 'warm-up');
    await engineState(8, WARMUP_SECONDS);
    await clientState(8, WARMUP_SECONDS);
    for (const streams of STREAMS) {
      progress(TAG, `engine state, ${streams} stream(s)`);
      rows.push(await engineState(streams));
      progress(TAG, `client state, ${streams} stream(s)`);
      rows.push(await clientState(streams));
    }
  } finally {
    await client.close();
    await engine.stop();
    await fs.rm(repo, { recursive: true, force: true });
  }
  const limit = rows[0]!.framesPerSecond;
  const lines = [
    `Silero VAD, one 512-sample frame per step, one instance; ${SECONDS} s per row; ${os.cpus().length} CPUs (${new Date().toISOString().slice(0, 10)})`,
    '',
    '| row | streams | frames/s | step p50 ms | step p99 ms | errors | ÷ onnxruntime | engine ÷ client state |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const peer = r.name === 'engine state' ? rows.find((o) => o.name === 'client state' && o.streams === r.streams) : undefined;
    lines.push(
      `| ${r.name} | ${r.streams} | ${r.framesPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${(r.framesPerSecond / limit).toFixed(2)} | ${peer ? (r.framesPerSecond / peer.framesPerSecond).toFixed(2) : ''} |`,
    );
  }
  const table = lines.join('\n');
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  await fs.writeFile(path.join(RESULTS_DIR, 'sequence.md'), `${table}\n`);
  console.log(table);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
