/**
 * The measurement procedure for a sweep, after perf_analyzer: for each step, start the
 * load, warm up, then measure windows until the last three are stable (or --max-trials
 * runs out), and report the last three windows merged. With `threads: 'auto'` a step whose
 * single generator thread is saturated during warm-up restarts on twice the threads (up to
 * half the cores), so the generator is not what limits the measurement.
 *
 * Every record the generators hand back (warm-ups and drains included) goes into the run
 * totals, so they account for every request the server saw.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoadHandle, StepLoad, startLoad } from './load-threads';
import { percentileOfSorted, summarizeLatencies } from './latency-summary';
import { RunTotals, StepResult, stepLabel } from './perf-report';
import { ServerSplit, StatsSnapshot, serverSplit } from './server-stats';
import { isStable, STABILITY_WINDOWS } from './stability';
import type { PerfOptions } from './perf-options';
import type { LoadTarget } from './transport';
import { WindowRecord, addErrors, errorTotal, mergeRecords } from './window-record';

/** Event-loop utilization above which a generator thread counts as saturated. */
export const SATURATED_ELU = 0.9;

export interface ProfileTarget {
  load: LoadTarget;
  batchSize: number;
  /** The server's cumulative statistics; absent for targets without them. */
  readStats?: () => Promise<StatsSnapshot>;
}

/** The measurement knobs come from PerfOptions, so the CLI and the benches share one definition. */
export interface ProfileSettings
  extends Pick<
    PerfOptions,
    'warmupMs' | 'measurementIntervalMs' | 'stabilityPercentage' | 'maxTrials' | 'percentile' | 'threads' | 'maxConnections' | 'timeoutMs' | 'seed'
  > {
  steps: readonly StepLoad[];
  /** Stops the run after the current window; steps measured so far are returned. */
  signal?: AbortSignal;
}

export interface WindowEvent {
  load: StepLoad;
  trial: number;
  maxTrials: number;
  threads: number;
  inferPerSecond: number;
  p99Ms: number;
  avgMs: number;
  errors: number;
  elu: number;
}

export interface ProfileHooks {
  onWindow?(event: WindowEvent): void;
  onStep?(result: StepResult): void;
  /** A note worth telling the user (a thread escalation, an unstable step). */
  onNote?(message: string): void;
}

export interface ProfileResult {
  steps: StepResult[];
  totals: RunTotals;
  serverTotals: ServerSplit | undefined;
  interrupted: boolean;
}

interface MeasuredWindow {
  record: WindowRecord;
  durationMs: number;
  cpuUs: number;
  statsBefore: StatsSnapshot | undefined;
  statsAfter: StatsSnapshot | undefined;
}

export function autoThreadLimit(): number {
  return Math.max(1, Math.floor(os.availableParallelism() / 2));
}

function stabilizingLatency(record: WindowRecord, percentile: number | undefined): number {
  if (record.completed === 0) return NaN;
  if (percentile === undefined) return summarizeLatencies(record.latenciesMs).avgMs;
  return percentileOfSorted(Float64Array.from(record.latenciesMs).sort(), percentile);
}

/** Merges the measured windows into a step result (exported for tests). */
export function summarizeStep(load: StepLoad, threads: number, windows: readonly MeasuredWindow[], stable: boolean, trials: number, batchSize: number): StepResult {
  const record = mergeRecords(windows.map((w) => w.record));
  const durationMs = windows.reduce((n, w) => n + w.durationMs, 0);
  const seconds = durationMs / 1000;
  const cpuUs = windows.reduce((n, w) => n + w.cpuUs, 0);
  const latency = summarizeLatencies(record.latenciesMs);
  const before = windows[0]?.statsBefore;
  const after = windows[windows.length - 1]?.statsAfter;
  const server = before && after ? serverSplit(before, after) : undefined;
  const avg = (sum: number) => (record.completed > 0 ? sum / record.completed : 0);
  const clientSendMs = avg(record.sendMsSum);
  const clientRecvMs = avg(record.recvMsSum);
  const serverMs = server ? (server.queueUs + server.computeInputUs + server.computeInferUs + server.computeOutputUs) / 1000 : 0;
  return {
    load,
    threads,
    stable,
    trials,
    durationMs,
    sent: record.sent,
    completed: record.completed,
    errors: record.errors,
    errorCount: errorTotal(record.errors),
    inferPerSecond: seconds > 0 ? (record.completed * batchSize) / seconds : 0,
    requestsPerSecond: seconds > 0 ? record.completed / seconds : 0,
    sendRate: seconds > 0 ? record.sent / seconds : 0,
    latency,
    clientSendMs,
    clientRecvMs,
    networkServerMs: record.completed > 0 ? Math.max(0, latency.avgMs - clientSendMs - clientRecvMs - serverMs) : 0,
    server,
    clientCpuPercent: durationMs > 0 ? (cpuUs / 1000 / durationMs) * 100 : 0,
    generatorElu: record.elu,
  };
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

/** Everything the run's handles hand back goes here, so the totals account for every request. */
class RunTotalsAccount {
  readonly totals: RunTotals = { sent: 0, completed: 0, errors: {} };

  add(record: WindowRecord): WindowRecord {
    this.totals.sent += record.sent;
    this.totals.completed += record.completed;
    addErrors(this.totals.errors, record.errors);
    return record;
  }
}

interface StepContext {
  target: ProfileTarget;
  settings: ProfileSettings;
  hooks: ProfileHooks;
  account: RunTotalsAccount;
}

/**
 * Starts the step's load and warms it up; with threads 'auto', restarts it on twice the
 * threads while one thread's event loop is saturated. Resolves with the running handle.
 */
async function warmUp(ctx: StepContext, load: StepLoad, threads: number): Promise<LoadHandle> {
  const { settings, account, hooks } = ctx;
  const start = (n: number): Promise<LoadHandle> =>
    startLoad({ target: ctx.target.load, load, threads: n, maxConnections: settings.maxConnections, timeoutMs: settings.timeoutMs, seed: settings.seed });
  let handle = await start(threads);
  const maxAuto = autoThreadLimit();
  for (;;) {
    await pause(settings.warmupMs, settings.signal);
    const warm = account.add(await handle.snapshot());
    const canSplit = load.mode === 'rate' || load.concurrency > handle.threads;
    if (settings.threads !== 'auto' || warm.elu < SATURATED_ELU || handle.threads >= maxAuto || !canSplit || settings.signal?.aborted) return handle;
    account.add(await handle.stop());
    const more = Math.min(maxAuto, handle.threads * 2);
    hooks.onNote?.(`the load generator saturated one thread's event loop (${(warm.elu * 100).toFixed(0)}%); continuing on ${more} threads`);
    handle = await start(more);
  }
}

/** Measures windows until the last three are stable or --max-trials runs out. */
async function measureWindows(ctx: StepContext, load: StepLoad, handle: LoadHandle): Promise<{ windows: MeasuredWindow[]; stable: boolean }> {
  const { target, settings, hooks, account } = ctx;
  const windows: MeasuredWindow[] = [];
  let stats = target.readStats ? await target.readStats() : undefined;
  let windowStart = performance.now();
  let cpu = process.cpuUsage();
  for (let trial = 1; trial <= settings.maxTrials && !settings.signal?.aborted; trial++) {
    await pause(Math.max(0, windowStart + settings.measurementIntervalMs - performance.now()), settings.signal);
    const record = account.add(await handle.snapshot());
    const now = performance.now();
    const cpuDelta = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    // Read after the window closed; the next window is already running meanwhile.
    const statsAfter = target.readStats ? await target.readStats() : undefined;
    const window: MeasuredWindow = { record, durationMs: now - windowStart, cpuUs: cpuDelta.user + cpuDelta.system, statsBefore: stats, statsAfter };
    windows.push(window);
    windowStart = now;
    stats = statsAfter;
    const summary = summarizeLatencies(record.latenciesMs);
    hooks.onWindow?.({
      load,
      trial,
      maxTrials: settings.maxTrials,
      threads: handle.threads,
      inferPerSecond: (record.completed * target.batchSize) / (window.durationMs / 1000),
      p99Ms: summary.p99Ms,
      avgMs: summary.avgMs,
      errors: errorTotal(record.errors),
      elu: record.elu,
    });
    const points = windows.map((w) => ({
      throughput: w.record.completed / (w.durationMs / 1000),
      latencyMs: stabilizingLatency(w.record, settings.percentile),
    }));
    if (isStable(points, settings.stabilityPercentage)) return { windows, stable: true };
  }
  return { windows, stable: false };
}

export async function profile(target: ProfileTarget, settings: ProfileSettings, hooks: ProfileHooks = {}): Promise<ProfileResult> {
  const ctx: StepContext = { target, settings, hooks, account: new RunTotalsAccount() };
  const { signal } = settings;
  const runStatsBefore = target.readStats ? await target.readStats() : undefined;
  // With 'auto', a step starts on as many threads as the last one ended with.
  let threads = settings.threads === 'auto' ? 1 : settings.threads;
  const steps: StepResult[] = [];
  for (const load of settings.steps) {
    if (signal?.aborted) break;
    const handle = await warmUp(ctx, load, threads);
    threads = Math.max(threads, handle.threads);
    let measured: { windows: MeasuredWindow[]; stable: boolean };
    try {
      measured = await measureWindows(ctx, load, handle);
    } finally {
      ctx.account.add(await handle.stop());
    }
    const { windows, stable } = measured;
    if (windows.length === 0) break;
    const result = summarizeStep(load, handle.threads, windows.slice(-STABILITY_WINDOWS), stable, windows.length, target.batchSize);
    if (!stable && !signal?.aborted) {
      hooks.onNote?.(`${stepLabel(load)}: not stable within ${settings.stabilityPercentage}% after ${windows.length} windows; reporting the last ${Math.min(windows.length, STABILITY_WINDOWS)}`);
    }
    if (result.generatorElu >= SATURATED_ELU) {
      hooks.onNote?.(
        `${stepLabel(load)}: a load generator thread was ${(result.generatorElu * 100).toFixed(0)}% busy; ` +
          `the generator may be what limits this step (try --threads N, or a machine with more cores)`,
      );
    }
    steps.push(result);
    hooks.onStep?.(result);
  }
  const runStatsAfter = target.readStats ? await target.readStats() : undefined;
  return {
    steps,
    totals: ctx.account.totals,
    serverTotals: runStatsBefore && runStatsAfter ? serverSplit(runStatsBefore, runStatsAfter) : undefined,
    interrupted: steps.length < settings.steps.length,
  };
}
