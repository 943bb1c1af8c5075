/**
 * `npm run bench:frontend`: what the scoring front end costs and what it buys, measured in
 * one run so the ratios hold on a noisy shared machine (the order rotates each round; the
 * ratios are medians of per-round ratios).
 *
 *   (a) echo   `scoreline serve` with an echo score module vs a bare node:http cluster echo,
 *              the same worker count, concurrency 64             target ≥ 0.8 of its req/s
 *              (also shown: the front end with its per-request log line turned off)
 *   (b) MLP    `scoreline serve` with the MLP score module (scoring/score.ts when it serves
 *              the bench body, else bench/score-modules/mlp-score) and the embedded engine
 *              (dynamic batching) vs the naive deployment (express + onnxruntime-node in
 *              process, no batching), concurrency 64           target ≥ 4× req/s, p99 no worse
 *              Each deployment as it is meant to run on the machine: naive with a worker per
 *              core (each worker computes), scoreline with its default WORKER_COUNT, 1 (its
 *              workers parse, call the engine and answer; the model runs in the engine).
 *              (also shown: scoreline with as many workers as naive, and the same front end
 *              on a stub engine that answers at once, the ceiling of the front end and its
 *              engine hop without the model)
 *
 * Load comes from `scoreline perf`'s generator, in this process. The MLP comparison at
 * concurrency 64 is measured again from the lean raw-socket generator (bench/lean-http-load.ts):
 * every microsecond of CPU a generator spends on these two cores is taken from the server it
 * measures, and the line shows how much each generator took. Environment: BENCH_WORKERS
 * (echo servers and naive workers; default: the core count), BENCH_SCORELINE_WORKERS
 * (scoreline's MLP deployment; default 1, WORKER_COUNT's default), BENCH_ROUNDS,
 * BENCH_SECONDS, BENCH_ENGINE_THREADS (intra-op threads of the engine's one instance;
 * default 1, the naive workers' per-session setting).
 * Writes bench/results/frontend.md.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { mlp } from '../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../tools/onnx/repository-writer';
import { seededRandom } from '../src/util/seeded-random';
import { ChildServer, PACKAGE_ROOT, RESULTS_DIR, ROUNDS, SECONDS, WARMUP_SECONDS, freePort, median, medianStep, measure, progress, spawnServe, spawnServer } from './bench-load';
import { httpPost, measureLean } from './lean-http-load';

export const MLP_LAYERS = [512, 2048, 2048, 512, 10] as const;
export const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
/** scoreline's MLP deployment: WORKER_COUNT's default (serve-options.ts). */
export const SCORELINE_WORKERS = Number(process.env.BENCH_SCORELINE_WORKERS ?? 1);
const ENGINE_THREADS = Number(process.env.BENCH_ENGINE_THREADS ?? 1);
const ECHO_CONCURRENCY = 64;
const TAG = 'bench:frontend';

export interface Contender {
  name: string;
  url: string;
  body: unknown;
}

/** Which load generator measures a comparison (see the module comment). */
export type Generator = 'perf' | 'lean';

/** What a comparison reads from one measured step, whichever generator measured it. */
export interface Step {
  requestsPerSecond: number;
  latency: { p50Ms: number; p99Ms: number };
  errorCount: number;
  /** The generator's own CPU per completed request, µs. */
  clientCpuUsPerRequest: number;
}

export interface Standing {
  name: string;
  /** The round with the median req/s (its latencies belong to it). */
  step: Step;
  /** Median over the rounds of req/s ÷ the baseline's req/s in the same round. */
  ratio: number;
  /** Likewise for p99 latency. */
  p99Ratio: number;
}

export interface Comparison {
  concurrency: number;
  generator: Generator;
  /** One per contender, in the order given; the last is the baseline (ratio 1). */
  standings: Standing[];
}

export interface FrontendBenchResult {
  /** Workers of the echo servers and of the naive deployment. */
  workers: number;
  /** Workers of scoreline's MLP deployment (the headline). */
  scorelineWorkers: number;
  /** /score echo with the default request log, with --log-level warn, then bare node:http. */
  echo: Comparison | undefined;
  /** Which score module served the MLP. */
  mlpModule: string;
  mlp: Comparison[];
  /** The MLP's scoreline and naive contenders at concurrency 64 again, from the lean generator. */
  mlpLeanGenerator: Comparison | undefined;
  machine: string;
}

/** A small JSON body, as a typical tabular scoring request. */
export const ECHO_BODY = { data: [[5.1, 3.5, 1.4, 0.2]], id: 'bench' };

/** One row of 512 features, rounded as clients usually send them. */
export function mlpBody(): { data: number[][] } {
  const random = seededRandom(42);
  return { data: [Array.from({ length: MLP_LAYERS[0] }, () => Math.round(random() * 1e4) / 1e4)] };
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node.js ${process.version}`;
}

/** POST a JSON body (a string is sent as it is); the status and the answer, parsed when it is JSON. */
export async function postJson(url: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; json: unknown }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

/**
 * Measures every contender at each concurrency, ROUNDS times, in an order that rotates each
 * round (no one always inherits the others' warm caches or a burst of outside load), and
 * compares each with the last contender round by round: paired ratios cancel most of the
 * noise a shared machine adds to a round.
 */
async function compare(
  contenders: readonly Contender[],
  concurrencies: readonly number[],
  generator: Generator,
  servers: 'fresh' | 'warm' = 'fresh',
): Promise<Comparison[]> {
  // Fresh servers get one unmeasured step each first: a server's first seconds (JIT tiers,
  // onnxruntime's first runs, the engine's arenas) are slower than its steady state, and
  // without this the first round compared a cold server with a warm one.
  if (servers === 'fresh') {
    const warmAt = Math.max(...concurrencies);
    for (const contender of contenders) {
      progress(TAG, `warming up (unmeasured): ${contender.name}, concurrency ${warmAt}, ${generator} generator`);
      await measureStep(generator, contender, warmAt);
    }
  }
  const runs = concurrencies.map(() => contenders.map((): Step[] => []));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [ci, c] of concurrencies.entries()) {
      for (let k = 0; k < contenders.length; k++) {
        const who = (k + round) % contenders.length;
        const contender = contenders[who]!;
        const step = await measureStep(generator, contender, c);
        runs[ci]![who]!.push(step);
        progress(
          TAG,
          `round ${round + 1}/${ROUNDS}, concurrency ${c}, ${generator} generator: ${contender.name} ${step.requestsPerSecond.toFixed(0)} req/s, ` +
            `p99 ${step.latency.p99Ms.toFixed(1)} ms, errors ${step.errorCount}, generator CPU ${step.clientCpuUsPerRequest.toFixed(0)} µs/request`,
        );
      }
    }
  }
  return concurrencies.map((concurrency, ci) => {
    const baseline = runs[ci]![contenders.length - 1]!;
    return {
      concurrency,
      generator,
      standings: contenders.map((contender, who) => ({
        name: contender.name,
        step: medianStep(runs[ci]![who]!),
        ratio: median(runs[ci]![who]!.map((step, round) => step.requestsPerSecond / baseline[round]!.requestsPerSecond)),
        p99Ratio: median(runs[ci]![who]!.map((step, round) => step.latency.p99Ms / baseline[round]!.latency.p99Ms)),
      })),
    };
  });
}

async function measureStep(generator: Generator, contender: Contender, concurrency: number): Promise<Step> {
  if (generator === 'lean') {
    const { hostname, port, pathname } = new URL(contender.url);
    const request = httpPost(hostname, Number(port), pathname, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(contender.body)));
    return measureLean(contender.url, request, concurrency, WARMUP_SECONDS * 1000, SECONDS * 1000);
  }
  const step = await measure(contender.url, contender.body, concurrency);
  // clientCpuPercent is % of one core over the measured windows.
  const perRequest = step.completed > 0 ? (step.clientCpuPercent / 100) * (step.durationMs * 1000) / step.completed : NaN;
  return { requestsPerSecond: step.requestsPerSecond, latency: step.latency, errorCount: step.errorCount, clientCpuUsPerRequest: perRequest };
}

async function echoComparison(workers: number): Promise<Comparison> {
  const port = await freePort();
  progress(TAG, `echo: scoreline serve (default request log, and --log-level warn) and a bare node:http cluster, ${workers} workers each`);
  const bare = await spawnServer([path.join(__dirname, 'echo-server.js'), String(port), String(workers)], /echo server listening/, { url: `http://127.0.0.1:${port}` });
  const serves: ChildServer[] = [];
  try {
    const module = path.join(__dirname, 'score-modules', 'echo-score.js');
    serves.push(await spawnServe(module, workers), await spawnServe(module, workers, { quiet: true }));
    const [result] = await compare(
      [
        { name: '/score echo', url: `${serves[0]!.url}/score`, body: ECHO_BODY },
        { name: '/score echo, --log-level warn', url: `${serves[1]!.url}/score`, body: ECHO_BODY },
        { name: 'bare node:http echo', url: `${bare.url}/score`, body: ECHO_BODY },
      ],
      [ECHO_CONCURRENCY],
      'perf',
    );
    return result!;
  } finally {
    for (const serve of serves) await serve.stop();
    await bare.stop();
  }
}

/** The MLP as bench:frontend and bench:overload serve it; returns the model file (the naive deployment loads it). */
export async function writeMlpRepository(dir: string): Promise<string> {
  const model = mlp({ layers: MLP_LAYERS, batchDim: 'batch', seed: 42 });
  await writeRepositoryModel(dir, {
    name: 'mlp_bench',
    versions: { 1: model.bytes },
    config: configText({
      name: 'mlp_bench',
      maxBatchSize: 64,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [MLP_LAYERS[0]] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [MLP_LAYERS[MLP_LAYERS.length - 1]] }],
      extra: [
        'dynamic_batching { }',
        `parameters { key: "intra_op_thread_count" value: { string_value: "${ENGINE_THREADS}" } }`,
        'instance_group [{ count: 1, kind: KIND_CPU }]',
      ],
    }),
  });
  return path.join(dir, 'mlp_bench', '1', 'model.onnx');
}

/**
 * scoreline serving the MLP: scoring/score.ts when it answers the benchmark's request,
 * else the benchmark's own module.
 */
async function startScorelineMlp(repo: string, workers: number): Promise<{ server: ChildServer; module: string }> {
  const candidates = [path.join(PACKAGE_ROOT, 'scoring', 'score.ts'), path.join(__dirname, 'score-modules', 'mlp-score.js')].filter((f) => existsSync(f));
  const args = engineArgs(repo);
  for (const entry of candidates) {
    const name = path.relative(PACKAGE_ROOT, entry);
    let server: ChildServer | undefined;
    try {
      server = await spawnServe(entry, workers, { args });
      const probe = await postJson(`${server.url}/score`, mlpBody());
      if (probe.status === 200) return { server, module: name };
      progress(TAG, `${name} answered the MLP request with ${probe.status}: ${JSON.stringify(probe.json).slice(0, 200)}`);
    } catch (err) {
      progress(TAG, `${name} did not start: ${(err as Error).message.split('\n')[0]}`);
    }
    await server?.stop();
  }
  throw new Error('no score module served the MLP benchmark request');
}

/** serve's flags for an embedded engine on `repo`, its ports left to the system. */
function engineArgs(repo: string): string[] {
  return ['--model-repository', repo, '--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0'];
}

/** The first row of outputs of an answer: {"result": [[...]]}, or scoring/score.ts's {"OUTPUT0": [[...]]}. */
function outputsOf(json: unknown): number[] {
  const values = json !== null && typeof json === 'object' ? Object.values(json as Record<string, unknown>) : [];
  const rows = values.find((v) => Array.isArray(v) && Array.isArray(v[0])) as number[][] | undefined;
  return rows?.[0] ?? [];
}

async function mlpComparison(
  workers: number,
  scorelineWorkers: number,
  concurrencies: readonly number[],
): Promise<{ module: string; comparisons: Comparison[]; leanGenerator: Comparison | undefined }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-frontend-'));
  try {
    const modelPath = await writeMlpRepository(dir);
    const port = await freePort();
    progress(
      TAG,
      `MLP ${MLP_LAYERS.join('→')}: naive express + onnxruntime-node (${workersLabel(workers)}) and scoreline serve + engine (${workersLabel(scorelineWorkers)}` +
        `${scorelineWorkers === workers ? '' : `, and ${workers}`})`,
    );
    const naive = await spawnServer([path.join(__dirname, 'naive-server.js'), String(port), String(workers), modelPath], /naive server listening/, { url: `http://127.0.0.1:${port}` });
    const servers: ChildServer[] = [];
    try {
      const scoreline = await startScorelineMlp(dir, scorelineWorkers);
      servers.push(scoreline.server);
      const sameWorkers = scorelineWorkers === workers ? undefined : await spawnServe(path.join(PACKAGE_ROOT, scoreline.module), workers, { args: engineArgs(dir) });
      if (sameWorkers) servers.push(sameWorkers);
      // The same front end on an engine that answers at once: its own ceiling on this machine.
      const stubPort = await freePort();
      const stubArgs = [String(stubPort), 'mlp_bench', String(MLP_LAYERS[0]), String(MLP_LAYERS[MLP_LAYERS.length - 1]), '64'];
      const stub = await spawnServer([path.join(__dirname, 'stub-engine.js'), ...stubArgs], /stub engine listening/, { url: `http://127.0.0.1:${stubPort}` });
      servers.push(stub);
      const frontEndAlone = await spawnServe(path.join(PACKAGE_ROOT, scoreline.module), scorelineWorkers, { args: ['--engine-url', stub.url] });
      servers.push(frontEndAlone);
      // The deployments must compute the same thing, or the comparison means nothing.
      const expected = outputsOf((await postJson(`${naive.url}/score`, mlpBody())).json);
      for (const server of [scoreline.server, sameWorkers]) {
        if (server === undefined) continue;
        const answer = await postJson(`${server.url}/score`, mlpBody());
        const got = outputsOf(answer.json);
        if (got.length !== MLP_LAYERS[MLP_LAYERS.length - 1] || got.some((v, i) => Math.abs(v - expected[i]!) > 1e-3 * Math.max(1, Math.abs(v)))) {
          throw new Error(`the deployments disagree: scoreline ${JSON.stringify(answer.json).slice(0, 200)} vs naive ${JSON.stringify(expected).slice(0, 200)}`);
        }
      }
      const withScoreline = { name: `scoreline (${scoreline.module}), ${workersLabel(scorelineWorkers)}`, url: `${scoreline.server.url}/score`, body: mlpBody() };
      const withSameWorkers = sameWorkers && { name: `scoreline, ${workers} workers`, url: `${sameWorkers.url}/score`, body: mlpBody() };
      const withStub = { name: 'scoreline front end on a stub engine (no model)', url: `${frontEndAlone.url}/score`, body: mlpBody() };
      const withNaive = { name: 'naive express + onnxruntime-node', url: `${naive.url}/score`, body: mlpBody() };
      const contenders = withSameWorkers ? [withScoreline, withSameWorkers, withStub, withNaive] : [withScoreline, withStub, withNaive];
      const comparisons = await compare(contenders, concurrencies, 'perf');
      const [leanGenerator] = concurrencies.includes(64) ? await compare([withScoreline, withNaive], [64], 'lean', 'warm') : [];
      return { module: scoreline.module, comparisons, leanGenerator };
    } finally {
      for (const server of servers.reverse()) await server.stop();
      await naive.stop();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export async function runFrontendBench(options: { mlpConcurrencies: readonly number[]; echo?: boolean }): Promise<FrontendBenchResult> {
  const echo = options.echo === false ? undefined : await echoComparison(WORKERS);
  const { module, comparisons, leanGenerator } = await mlpComparison(WORKERS, SCORELINE_WORKERS, options.mlpConcurrencies);
  return { workers: WORKERS, scorelineWorkers: SCORELINE_WORKERS, echo, mlpModule: module, mlp: comparisons, mlpLeanGenerator: leanGenerator, machine: machine() };
}

const f0 = (n: number) => n.toFixed(0);
/** "1 worker", "2 workers". */
export const workersLabel = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

export function echoTable(r: FrontendBenchResult): string[] {
  if (r.echo === undefined) return [];
  const [logged, quiet, bare] = r.echo.standings as [Standing, Standing, Standing];
  const row = (label: string, s: Standing) => `| ${label} | ${f0(s.step.requestsPerSecond)} | ${f2(s.step.latency.p50Ms)} | ${f2(s.step.latency.p99Ms)} | ${f2(s.ratio)} |`;
  return [
    `Echo of a small JSON body, ${r.workers} workers each, concurrency ${r.echo.concurrency}, ${ROUNDS} rounds of ${SECONDS} s (median round by req/s; × bare: median of per-round ratios)`,
    '',
    '| server | req/s | p50 ms | p99 ms | × bare |',
    '|---|---:|---:|---:|---:|',
    row('bare node:http cluster (JSON parse + stringify)', bare),
    row('scoreline serve, echo score module (default: a log line per request)', logged),
    row('scoreline serve, echo score module, --log-level warn', quiet),
    '',
    `/score echo / bare node:http = ${f2(logged.ratio)} (target ≥ 0.8); with --log-level warn ${f2(quiet.ratio)}; errors: ${r.echo.standings.reduce((n, s) => n + s.step.errorCount, 0)}`,
  ];
}

/**
 * The MLP contenders in the order measured: scoreline, scoreline with naive's worker count
 * (when that differs), its front end on the stub engine, the naive baseline.
 */
export function mlpStandings(c: Comparison): { scoreline: Standing; sameWorkers: Standing | undefined; frontEndAlone: Standing; naive: Standing } {
  if (c.standings.length === 4) {
    const [scoreline, sameWorkers, frontEndAlone, naive] = c.standings as [Standing, Standing, Standing, Standing];
    return { scoreline, sameWorkers, frontEndAlone, naive };
  }
  const [scoreline, frontEndAlone, naive] = c.standings as [Standing, Standing, Standing];
  return { scoreline, sameWorkers: undefined, frontEndAlone, naive };
}

/** The concurrency-64 comparison of the MLP (or the highest measured). */
export function mlpHeadline(r: FrontendBenchResult): { concurrency: number } & ReturnType<typeof mlpStandings> {
  const c = r.mlp.find((x) => x.concurrency === 64) ?? r.mlp[r.mlp.length - 1]!;
  return { concurrency: c.concurrency, ...mlpStandings(c) };
}

export function mlpTable(r: FrontendBenchResult): string[] {
  const head = mlpHeadline(r);
  const same = head.sameWorkers !== undefined;
  return [
    `MLP ${MLP_LAYERS.join('→')}, one 512-feature row per request; scoreline: ${r.mlpModule} + engine (dynamic batching, one instance, ` +
      `${ENGINE_THREADS} intra-op thread${ENGINE_THREADS === 1 ? '' : 's'}), ${workersLabel(r.scorelineWorkers)} (WORKER_COUNT's default: its workers parse, call the engine and answer)` +
      `${same ? `, and ${workersLabel(r.workers)} like naive` : ''}; naive: express + onnxruntime-node, ${workersLabel(r.workers)} (one per core: each computes), ` +
      `one intra-op thread each, no batching; ${ROUNDS} rounds of ${SECONDS} s (median round by req/s; × naive: medians of per-round ratios)`,
    '',
    `| concurrency | scoreline req/s | p50 ms | p99 ms | naive req/s | p50 ms | p99 ms | × naive req/s | × naive p99 |${same ? ` scoreline, ${workersLabel(r.workers)}: req/s | × naive |` : ''} front end on a stub engine req/s | × naive |`,
    `|---:|---:|---:|---:|---:|---:|---:|---:|---:|${same ? '---:|---:|' : ''}---:|---:|`,
    ...r.mlp.map((c) => {
      const { scoreline: s, sameWorkers: w, frontEndAlone: a, naive: n } = mlpStandings(c);
      return (
        `| ${c.concurrency} | ${f0(s.step.requestsPerSecond)} | ${f1(s.step.latency.p50Ms)} | ${f1(s.step.latency.p99Ms)} | ` +
        `${f0(n.step.requestsPerSecond)} | ${f1(n.step.latency.p50Ms)} | ${f1(n.step.latency.p99Ms)} | ${f2(s.ratio)} | ${f2(s.p99Ratio)} | ` +
        `${w ? `${f0(w.step.requestsPerSecond)} | ${f2(w.ratio)} | ` : ''}${f0(a.step.requestsPerSecond)} | ${f2(a.ratio)} |`
      );
    }),
    '',
    `at concurrency ${head.concurrency}: scoreline / naive = ${f2(head.scoreline.ratio)} req/s (target ≥ 4), ` +
      `${f2(head.scoreline.p99Ratio)} p99 (target ≤ 1: no worse)` +
      `; errors: ${r.mlp.reduce((n, c) => n + c.standings.reduce((m, s) => m + s.step.errorCount, 0), 0)}`,
    ...(head.sameWorkers
      ? [`with ${workersLabel(r.workers)}, as many as naive: ${f2(head.sameWorkers.ratio)} × naive req/s, ${f2(head.sameWorkers.p99Ratio)} × its p99`]
      : []),
    `the same front end on a stub engine that answers at once (no model): ${f2(head.frontEndAlone.ratio)} × naive, ` +
      `the ceiling of the front end and its engine hop on these cores; the rest of the gap is the model's share of them`,
    ...leanGeneratorLines(r, head.scoreline, head.naive),
  ];
}

/** The concurrency-64 MLP comparison again from the lean generator, and what each generator cost. */
function leanGeneratorLines(r: FrontendBenchResult, perf: Standing, perfNaive: Standing): string[] {
  if (r.mlpLeanGenerator === undefined) return [];
  const [scoreline, naive] = r.mlpLeanGenerator.standings as [Standing, Standing];
  const cpu = (s: Standing) => f0(s.step.clientCpuUsPerRequest);
  return [
    `from the lean raw-socket generator instead (same servers, concurrency 64): scoreline ${f0(scoreline.step.requestsPerSecond)} req/s, ` +
      `naive ${f0(naive.step.requestsPerSecond)} req/s: ${f2(scoreline.ratio)} × naive req/s, ${f2(scoreline.p99Ratio)} × its p99; ` +
      `generator CPU per request: perf ${cpu(perf)} µs (scoreline) and ${cpu(perfNaive)} µs (naive), lean ${cpu(scoreline)} and ${cpu(naive)} µs`,
  ];
}

if (require.main === module) {
  runFrontendBench({ mlpConcurrencies: [64] })
    .then(async (r) => {
      const text = [`${r.machine}`, '', ...echoTable(r), '', ...mlpTable(r), ''].join('\n');
      process.stdout.write(text);
      await fs.mkdir(RESULTS_DIR, { recursive: true });
      await fs.writeFile(path.join(RESULTS_DIR, 'frontend.md'), text);
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}
