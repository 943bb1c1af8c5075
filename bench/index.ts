/**
 * `npm run bench`: every comparison the README reports, in one process tree and one run,
 * each as a ratio against a peer measured in the same run:
 *
 *   engine     raw in-process onnxruntime (the limit) vs the engine vs the engine without
 *              batching                                            (bench/engine.ts)
 *   front end  bare node:http echo vs /score echo; scoring/score.ts vs the naive
 *              deployment at concurrency 1, 16 and 64              (bench/frontend.ts)
 *
 * Writes bench/results/latest.md (the tables and a summary of the targets) and
 * bench/results/latest.svg (p50/p99 latency against throughput of the MLP deployments).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { lineChartSvg } from '../src/perf/plot-svg';
import { RESULTS_DIR, progress } from './bench-load';
import { runEngineBench } from './engine';
import { FrontendBenchResult, MLP_LAYERS, echoTable, mlpHeadline, mlpTable, runFrontendBench, workersLabel } from './frontend';

const SWEEP = [1, 16, 64];

function plot(r: FrontendBenchResult): string {
  const naiveIndex = r.mlp[0]!.standings.length - 1;
  const series = (label: string, who: number, key: 'p50Ms' | 'p99Ms', color: string) => ({
    label,
    color,
    dashed: key === 'p50Ms',
    points: r.mlp.map((c) => {
      const step = c.standings[who]!.step;
      return { x: step.requestsPerSecond, y: step.latency[key], note: key === 'p99Ms' ? `c=${c.concurrency}` : undefined };
    }),
  });
  return lineChartSvg(
    [
      series('scoreline p99', 0, 'p99Ms', '#1f77b4'),
      series('scoreline p50', 0, 'p50Ms', '#1f77b4'),
      ...(naiveIndex === 3 ? [series(`scoreline ×${r.workers} p99`, 1, 'p99Ms', '#2ca02c'), series(`scoreline ×${r.workers} p50`, 1, 'p50Ms', '#2ca02c')] : []),
      series('naive p99', naiveIndex, 'p99Ms', '#d62728'),
      series('naive p50', naiveIndex, 'p50Ms', '#d62728'),
    ],
    { title: `MLP ${MLP_LAYERS.join('→')}: latency vs throughput at concurrency ${SWEEP.join(', ')}`, xLabel: 'throughput (requests/s)', yLabel: 'latency (ms)' },
  );
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'not met';
}

async function main(): Promise<void> {
  const started = new Date();
  progress('bench', 'engine: raw onnxruntime vs engine vs engine without batching');
  const engine = await runEngineBench();
  progress('bench', `front end: echo, and the MLP at concurrency ${SWEEP.join(', ')}`);
  const frontend = await runFrontendBench({ mlpConcurrencies: SWEEP });

  const head = mlpHeadline(frontend);
  const engineRatio = engine.batched.rate / engine.raw;
  const leanRatio = engine.lean.rate / engine.raw;
  const batchingRatio = engine.batched.rate / engine.unbatched.rate;
  const p99Ratio = head.scoreline.p99Ratio;
  const echoRatio = frontend.echo?.standings[0]!.ratio;
  const leanHead = frontend.mlpLeanGenerator?.standings[0];
  const summary = [
    '| comparison | measured | target | |',
    '|---|---:|---:|---|',
    `| engine / raw onnxruntime (samples/s) | ${engineRatio.toFixed(2)} | ≥ 0.85 | ${verdict(engineRatio >= 0.85)} |`,
    `| engine / raw onnxruntime, minimal raw-socket load generator (samples/s) | ${leanRatio.toFixed(2)} | ≥ 0.85 | ${verdict(leanRatio >= 0.85)} |`,
    `| engine / engine without batching (samples/s) | ${batchingRatio.toFixed(2)} | ≥ 4 | ${verdict(batchingRatio >= 4)} |`,
    ...(echoRatio !== undefined ? [`| /score echo / bare node:http echo (req/s) | ${echoRatio.toFixed(2)} | ≥ 0.8 | ${verdict(echoRatio >= 0.8)} |`] : []),
    `| ${frontend.mlpModule} (${workersLabel(frontend.scorelineWorkers)}) / naive deployment (${frontend.workers}), concurrency ${head.concurrency} (req/s) | ${head.scoreline.ratio.toFixed(2)} | ≥ 4 | ${verdict(head.scoreline.ratio >= 4)} |`,
    `| ${frontend.mlpModule} / naive deployment, concurrency ${head.concurrency} (p99) | ${p99Ratio.toFixed(2)} | ≤ 1 | ${verdict(p99Ratio <= 1)} |`,
    ...(head.sameWorkers !== undefined
      ? [`| the same with ${frontend.workers} workers, as many as naive (req/s; p99) | ${head.sameWorkers.ratio.toFixed(2)}; ${head.sameWorkers.p99Ratio.toFixed(2)} | – | for reference |`]
      : []),
    ...(leanHead !== undefined
      ? [`| the same from the lean raw-socket load generator (req/s; p99) | ${leanHead.ratio.toFixed(2)}; ${leanHead.p99Ratio.toFixed(2)} | – | for reference |`]
      : []),
  ];
  const text = [
    `# Benchmarks (\`npm run bench\`, ${started.toISOString().slice(0, 10)})`,
    '',
    frontend.machine,
    '',
    '## Targets',
    '',
    ...summary,
    '',
    '## Engine: dynamic batching',
    '',
    engine.table,
    '',
    '## Front end: overhead of /score',
    '',
    ...echoTable(frontend),
    '',
    '## Front end: scoreline vs the naive deployment',
    '',
    ...mlpTable(frontend),
    '',
    '![latency vs throughput](latest.svg)',
    '',
  ].join('\n');
  await fs.mkdir(RESULTS_DIR, { recursive: true });
  await fs.writeFile(path.join(RESULTS_DIR, 'latest.md'), text);
  await fs.writeFile(path.join(RESULTS_DIR, 'latest.svg'), plot(frontend));
  process.stdout.write(`\n${text}`);
  progress('bench', `wrote ${path.join(RESULTS_DIR, 'latest.md')} and latest.svg`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
