/**
 * `npm run bench:overload`: what each deployment of the MLP still delivers when offered more
 * than it can serve. Callers have deadlines (600 ms; the server's own run() deadline is
 * 500 ms), and load arrives open loop, at a rate that does not slow down with the server:
 * only answers that arrive in time count (goodput). Three contenders in one run:
 *
 *   scoreline serve + scoring/score.ts + engine, SCORELINE_OVERLOAD_PROTECTION=on
 *   the same with SCORELINE_OVERLOAD_PROTECTION=off
 *   the naive deployment (express + onnxruntime-node per worker, bench/naive-server.ts)
 *
 * First each one's capacity: closed-loop throughput at concurrency 32. Then offered load at
 * 0.5× to 4× capacity (scoreline's two settings at the same rates, multiples of its capacity
 * with protection off: the same traffic for both; naive at multiples of its own), each step
 * a warm-up and a measured window, the contenders in an order that rotates from one load to
 * the next, and after each step a wait until that deployment answers promptly again (a
 * backlog it is still working off would otherwise take the cores from the next one).
 *
 * Environment: BENCH_OVERLOAD_QUICK=1 (short steps: a check that it works, not figures),
 * BENCH_OVERLOAD_SECONDS (measured seconds per step, 5), BENCH_OVERLOAD_WARMUP_SECONDS (1),
 * BENCH_OVERLOAD_MULTIPLES (e.g. "0.5,1,2,4"), BENCH_OVERLOAD_ARRIVALS (poisson or constant),
 * BENCH_WORKERS (naive's workers; default: the core count).
 * Writes bench/results/overload.md and overload.svg (quick: overload-quick.*).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { RequestDistribution } from '../src/perf/arrival-schedule';
import { RESULTS_DIR, medianStep, progress } from './bench-load';
import { MLP_LAYERS, workersLabel } from './frontend';
import { httpPost, measureLean, type LeanMeasurement } from './lean-http-load';
import {
  NAIVE_WORKERS,
  ROWS,
  SCORELINE_WORKERS,
  SCORING_TIMEOUT_MS,
  overloadBody,
  startContenders,
  stopContenders,
  waitUntilRecovered,
  type ContenderKey,
  type OverloadContender,
} from './overload-contenders';
import { startGenerator } from './overload-generator';
import { lossText } from './overload-open-loop';
import {
  generatorBehind,
  generatorCorePercent,
  generatorUsPerRequest,
  goodputPerSecond,
  offeredPerSecond,
  overloadMarkdown,
  overloadSvg,
  recoveredText,
  type Capacity,
  type OverloadResult,
  type SweepPoint,
} from './overload-report';

const TAG = 'bench:overload';
const QUICK = process.env.BENCH_OVERLOAD_QUICK === '1';
const MEASURE_SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? (QUICK ? 2 : 5));
const WARMUP_SECONDS = Number(process.env.BENCH_OVERLOAD_WARMUP_SECONDS ?? (QUICK ? 0.5 : 1));
const MULTIPLES = (process.env.BENCH_OVERLOAD_MULTIPLES ?? '0.5,0.8,1,1.5,2,3,4').split(',').map(Number);
const DISTRIBUTION: RequestDistribution = process.env.BENCH_OVERLOAD_ARRIVALS === 'constant' ? 'constant' : 'poisson';
const DEADLINE_MS = 600;
const CAPACITY_CONCURRENCY = 32;
const CAPACITY_ROUNDS = QUICK ? 1 : 3;
const CAPACITY_WARMUP_SECONDS = QUICK ? 1 : 2;
const CAPACITY_SECONDS = QUICK ? 2 : 3;
/** A deployment still not answering promptly this long after a step spoils the next step; the report says so. */
const RECOVERY_LIMIT_MS = QUICK ? 30_000 : 60_000;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node.js ${process.version}`;
}

async function measureCapacity(c: OverloadContender, body: string, warmupSeconds: number): Promise<LeanMeasurement> {
  const { hostname, port, pathname } = new URL(c.url);
  const request = httpPost(hostname, Number(port), pathname, { 'content-type': 'application/json' }, Buffer.from(body));
  return measureLean(c.url, request, CAPACITY_CONCURRENCY, warmupSeconds * 1000, CAPACITY_SECONDS * 1000);
}

/**
 * Each contender's closed-loop throughput, CAPACITY_ROUNDS times in an order that rotates each
 * round; the median round's figures. On a shared machine one measurement can be far off
 * (bench/README.md, "Measurements behind design choices"); a median of three shrugs off one
 * spoiled round.
 */
async function measureCapacities(contenders: readonly OverloadContender[], body: string): Promise<Capacity[]> {
  const rounds = contenders.map((): LeanMeasurement[] => []);
  for (let round = 0; round < CAPACITY_ROUNDS; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const who = (k + round) % contenders.length;
      const c = contenders[who]!;
      // The first round's longer warm-up passes a fresh server's first, slower seconds (JIT, onnxruntime's first runs).
      const m = await measureCapacity(c, body, round === 0 ? CAPACITY_WARMUP_SECONDS : 0.5);
      rounds[who]!.push(m);
      progress(
        TAG,
        `capacity round ${round + 1}/${CAPACITY_ROUNDS} (closed loop, concurrency ${CAPACITY_CONCURRENCY}): ${c.name} ${m.requestsPerSecond.toFixed(0)} req/s, ` +
          `p99 ${m.latency.p99Ms.toFixed(0)} ms, errors ${m.errorCount}, generator ${m.clientCpuUsPerRequest.toFixed(0)} µs/request`,
      );
    }
  }
  return contenders.map((c, who) => {
    const m = medianStep(rounds[who]!);
    return {
      key: c.key,
      name: c.name,
      requestsPerSecond: m.requestsPerSecond,
      ...m.latency,
      errorCount: m.errorCount,
      clientCpuUsPerRequest: m.clientCpuUsPerRequest,
      rounds: rounds[who]!.map((r) => r.requestsPerSecond),
    };
  });
}

async function sweep(contenders: readonly OverloadContender[], bases: Record<ContenderKey, number>, body: string): Promise<{ points: SweepPoint[]; priority: number }> {
  const generator = startGenerator();
  progress(TAG, `load generator: pid ${generator.pid}, nice ${generator.priority}`);
  const points: SweepPoint[] = [];
  try {
    for (const [mi, multiple] of MULTIPLES.entries()) {
      for (let k = 0; k < contenders.length; k++) {
        const who = (k + mi) % contenders.length;
        const c = contenders[who]!;
        const rate = multiple * bases[c.key];
        const step = await generator.run({
          url: c.url,
          body,
          ratePerSecond: rate,
          distribution: DISTRIBUTION,
          seed: 1000 * mi + who,
          warmupMs: WARMUP_SECONDS * 1000,
          measureMs: MEASURE_SECONDS * 1000,
          deadlineMs: DEADLINE_MS,
          // Twice as many as could be outstanding if every caller waited out its deadline.
          maxOutstanding: Math.max(16, Math.ceil(rate * (DEADLINE_MS / 1000) * 2)),
        });
        const recoveredMs = await waitUntilRecovered(c.url, body, RECOVERY_LIMIT_MS);
        points.push({ key: c.key, multiple, step, recoveredMs });
        const goodput = goodputPerSecond(step);
        progress(
          TAG,
          `${multiple}× (${offeredPerSecond(step).toFixed(0)} req/s offered): ${c.name}: goodput ${goodput.toFixed(0)} req/s (${(goodput / bases[c.key]).toFixed(2)} × capacity), ` +
            `p99 ${step.p99Ms.toFixed(0)} ms; lost ${lossText(step)}; generator ${generatorUsPerRequest(step).toFixed(0)} µs/request, ` +
            `${generatorCorePercent(step).toFixed(1)} % of a core, start lag p99 ${step.startLagP99Ms.toFixed(1)} ms${generatorBehind(step, DEADLINE_MS) ? ' (the generator fell behind)' : ''}; ` +
            `recovered after ${recoveredText(recoveredMs)} s`,
        );
      }
    }
  } finally {
    await generator.stop();
  }
  return { points, priority: generator.priority };
}

async function main(): Promise<void> {
  const started = performance.now();
  const body = overloadBody();
  const stepSeconds = WARMUP_SECONDS + MEASURE_SECONDS + DEADLINE_MS / 1000;
  progress(
    TAG,
    `${MULTIPLES.length} loads × 3 contenders, ${stepSeconds.toFixed(1)} s a step plus the wait for each deployment to recover ` +
      `(about ${Math.ceil((MULTIPLES.length * 3 * stepSeconds) / 60)} min plus the waits)${QUICK ? '; quick run' : ''}`,
  );
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-overload-'));
  let contenders: OverloadContender[] = [];
  try {
    progress(TAG, `starting scoreline serve (protection on, and off; ${workersLabel(SCORELINE_WORKERS)} each) and the naive deployment (${workersLabel(NAIVE_WORKERS)})`);
    contenders = await startContenders(dir, body);
    const capacities = await measureCapacities(contenders, body);
    const capacityOf = (key: ContenderKey) => capacities.find((c) => c.key === key)!.requestsPerSecond;
    const bases: Record<ContenderKey, number> = { on: capacityOf('off'), off: capacityOf('off'), naive: capacityOf('naive') };
    const { points, priority } = await sweep(contenders, bases, body);

    const result: OverloadResult = {
      machine: machine(),
      date: new Date().toISOString().slice(0, 10),
      quick: QUICK,
      setup: [
        `MLP ${MLP_LAYERS.join('→')}, ${ROWS} rows per request (a ${(Buffer.byteLength(body) / 1024).toFixed(0)} KB JSON body). ` +
          `scoreline: scoring/score.ts + engine (dynamic batching, one instance, one intra-op thread), WORKER_COUNT=${SCORELINE_WORKERS}, SCORING_TIMEOUT_MS=${SCORING_TIMEOUT_MS}; ` +
          `naive: express + onnxruntime-node, ${workersLabel(NAIVE_WORKERS)}, one intra-op thread each, no batching.`,
        `Open loop, ${DISTRIBUTION} arrivals; callers give up ${DEADLINE_MS} ms after a request's scheduled start and reset its connection; outstanding requests capped at ` +
          `2 × rate × deadline; the generator runs in its own process at nice ${priority}${priority < 0 ? ' (a higher priority than the servers, so that it starts requests on time)' : ''}. Each step: ${WARMUP_SECONDS} s warm-up, ${MEASURE_SECONDS} s measured (the requests due in it); the contenders in an order that rotates with the load.`,
      ],
      contenders: contenders.map(({ key, name }) => ({ key, name })),
      capacities,
      bases,
      basesText:
        `Offered load: scoreline with protection on and off at the same rates, multiples of its capacity with protection off (${bases.off.toFixed(0)} req/s); ` +
        `naive at multiples of its own (${bases.naive.toFixed(0)} req/s).`,
      multiples: MULTIPLES,
      points,
      deadlineMs: DEADLINE_MS,
      capacityConcurrency: CAPACITY_CONCURRENCY,
      runSeconds: (performance.now() - started) / 1000,
    };
    const text = overloadMarkdown(result);
    process.stdout.write(text);
    await fs.mkdir(RESULTS_DIR, { recursive: true });
    const name = QUICK ? 'overload-quick' : 'overload';
    await fs.writeFile(path.join(RESULTS_DIR, `${name}.md`), text);
    await fs.writeFile(path.join(RESULTS_DIR, `${name}.svg`), overloadSvg(result));
    progress(TAG, `wrote ${path.join('bench', 'results', `${name}.md`)} and ${name}.svg`);
  } finally {
    await stopContenders(contenders);
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
