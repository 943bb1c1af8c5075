/**
 * What the hostile-input properties share: how many runs (SCORELINE_FUZZ_RUNS), peak
 * resident memory of a process between two points (Linux's VmHWM, reset through
 * /proc/PID/clear_refs, so a peak that lasted a millisecond still counts), an engine in
 * explicit model-control mode on the test repository, and the check every property ends
 * with: the engine still answers health and a normal inference, correctly.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { identityAll } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { mlpForward, sampleInput } from '../../fixtures/mlp-reference';
import { makeTestRepository, testModels } from '../../fixtures/test-repository';
import { startEngine, type RunningEngine } from '../../helpers/start-engine';
import { reportFigures } from '../../faults/helpers/figures';
import { statusSummary } from '../../faults/helpers/load';

/**
 * Cases per over-the-wire property: SCORELINE_FUZZ_RUNS, default 6 (CI: the folder stays
 * under a minute on two cores). In-process properties are cheaper and run IN_PROCESS_FACTOR
 * times as many. `npm run test:hostile` sets 120.
 */
export const FUZZ_RUNS = Math.max(1, Number(process.env.SCORELINE_FUZZ_RUNS ?? 6));
export const IN_PROCESS_FACTOR = 5;

export const MiB = 1024 * 1024;

/** The largest hostile input a case builds: SCORELINE_FUZZ_MAX_MIB, 8 MiB by default (`npm run test:hostile`: 32). */
export const MAX_BYTES = Number(process.env.SCORELINE_FUZZ_MAX_MIB ?? 8) * MiB;

/** How many `unit`-byte repetitions fill up to MAX_BYTES, skewed to the large end (where amplification shows). */
export const repetitions = (unit: number, maxBytes = MAX_BYTES): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: Math.floor(maxBytes / 4 / unit), max: Math.floor(maxBytes / unit) }), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: Math.floor(maxBytes / unit) }), weight: 1 });

/** `item` `n` times, comma-separated. */
export const list = (n: number, item: string): string => (n === 0 ? '' : `${item},`.repeat(n - 1) + item);

function statusField(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  if (m === null) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) * 1024;
}

export const rssBytes = (pid: number | 'self'): number => statusField(pid, 'VmRSS');

/**
 * Peak resident memory from now on: clears the process's high-water mark (writing 5 to
 * clear_refs sets VmHWM to the current RSS) and returns a reader of the peak since.
 */
export function trackPeak(pid: number | 'self'): { baseline: number; peak(): number; growth(): number } {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const baseline = rssBytes(pid);
  const peak = (): number => statusField(pid, 'VmHWM');
  return { baseline, peak, growth: () => peak() - baseline };
}

export interface HostileEngine {
  engine: RunningEngine;
  pid: number;
  repository: string;
  /** Set when a case failed: the engine may still be working on it (a wedged load holds the model). */
  tainted: boolean;
  /** SIGKILLs the engine if a case failed on it or it no longer answers, and starts a fresh one. */
  revive(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The test repository plus ident_int32 and ident_bytes (INPUT_INT32 / INPUT_STRING [batch, n]
 * → OUTPUT_…) under `scoreline engine --model-control-mode explicit --load-model *`: the
 * load API (and its config override) is open, every model is ready.
 */
export async function startHostileEngine(args: string[] = []): Promise<HostileEngine> {
  const repository = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-hostile-'));
  await makeTestRepository(repository);
  // One-input identities over [batch, n]: any element count is a valid request, so a hostile body is decoded in full.
  for (const datatype of ['INT32', 'BYTES'] as const) {
    await writeRepositoryModel(repository, { name: `ident_${datatype.toLowerCase()}`, versions: { 1: identityAll({ datatypes: [datatype] }).bytes } });
  }
  const start = (): Promise<RunningEngine> => startEngine({ modelRepository: repository, args: ['--model-control-mode', 'explicit', '--load-model', '*', ...args], timeoutMs: 90_000 });
  const handle: HostileEngine = {
    engine: await start(),
    pid: 0,
    repository,
    tainted: false,
    revive: async () => {
      if (!handle.tainted && (await answersHealth(handle.engine, 2_000))) return;
      handle.tainted = false;
      handle.engine.child.kill('SIGKILL');
      await handle.engine.stop();
      handle.engine = await start();
      handle.pid = handle.engine.child.pid!;
    },
    stop: async () => {
      await handle.engine.stop();
      await fs.rm(repository, { recursive: true, force: true });
    },
  };
  handle.pid = handle.engine.child.pid!;
  return handle;
}

async function answersHealth(engine: RunningEngine, timeoutMs: number): Promise<boolean> {
  if (engine.child.exitCode !== null || engine.child.signalCode !== null) return false;
  try {
    const res = await fetch(`${engine.url}/v2/health/live`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * What is wrong with the engine after a hostile case, if anything: it must still be running,
 * answer GET /v2/health/live within 2 s, and answer an MLP inference within 5 s with the
 * reference's values.
 */
export async function engineProblem(engine: RunningEngine): Promise<string | undefined> {
  if (engine.child.exitCode !== null || engine.child.signalCode !== null) return `the engine exited (${engine.child.exitCode ?? engine.child.signalCode})`;
  if (!(await answersHealth(engine, 2_000))) return 'GET /v2/health/live did not answer 200 within 2 s';
  const { mlp } = testModels();
  const input = sampleInput(1, 8);
  let res: Response;
  try {
    res = await fetch(`${engine.url}/v2/models/mlp/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: Array.from(input) }] }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    return `a normal MLP inference got no answer within 5 s: ${(err as Error).message}`;
  }
  const text = await res.text();
  if (res.status !== 200) return `a normal MLP inference answered ${res.status}: ${text.slice(0, 300)}`;
  const got = (JSON.parse(text) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
  const want = mlpForward(mlp, input, 1);
  if (got.length !== want.length || got.some((v, i) => Math.abs(v - want[i]!) > 1e-4 * (1 + Math.abs(want[i]!)))) return `a normal MLP inference answered ${JSON.stringify(got)}, expected ${JSON.stringify(Array.from(want))}`;
  return undefined;
}

/** Milliseconds `promise` may take before it counts as wedged: rejects with a message naming `what`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Watches `pid`'s resident memory every 20 ms while a case runs; past `ceiling` bytes it
 * SIGKILLs the process (a property that found a balloon must not take the shared machine
 * down with it) and remembers the figure. stop() ends the watch and returns the highest
 * RSS seen, or undefined if it never passed the ceiling.
 */
export function memoryWatchdog(pid: number, ceiling: number): { stop(): { killedAt: number | undefined } } {
  let killedAt: number | undefined;
  const timer = setInterval(() => {
    let rss: number;
    try {
      rss = rssBytes(pid);
    } catch {
      return; // exited
    }
    if (rss > ceiling && killedAt === undefined) {
      killedAt = rss;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 20);
  return {
    stop: () => {
      clearInterval(timer);
      return { killedAt };
    },
  };
}

export interface CaseLimits {
  /** How long the answer may take. */
  answerMs: number;
  /** How much the engine's peak RSS may grow during the case. */
  growthBytes: number;
}

/**
 * One hostile case against a running engine: `send` must settle within limits.answerMs with
 * an answer `judge` accepts (it returns what is wrong, or undefined); the engine's peak RSS
 * may grow by limits.growthBytes at most (past twice that plus 1 GiB it is killed on the
 * spot); and afterwards the engine must pass engineProblem(). Throws an Error that says
 * which of these failed. `sizeOf` is reported with the memory figure.
 */
export async function hostileCase<T>(handle: HostileEngine, what: string, limits: CaseLimits, send: () => Promise<T>, judge: (answer: T) => string | undefined): Promise<{ answer: T; growth: number; ms: number }> {
  try {
    return await measuredCase(handle, what, limits, send, judge);
  } catch (err) {
    handle.tainted = true;
    throw err;
  }
}

async function measuredCase<T>(handle: HostileEngine, what: string, limits: CaseLimits, send: () => Promise<T>, judge: (answer: T) => string | undefined): Promise<{ answer: T; growth: number; ms: number }> {
  const pid = handle.pid;
  const peak = trackPeak(pid);
  const watchdog = memoryWatchdog(pid, peak.baseline + 2 * limits.growthBytes + 1024 * MiB);
  const started = performance.now();
  let answer: T;
  try {
    answer = await within(limits.answerMs, what, send());
  } catch (err) {
    const { killedAt } = watchdog.stop();
    if (killedAt !== undefined) throw new Error(`${what}: the engine's RSS reached ${(killedAt / MiB).toFixed(0)} MiB (from ${(peak.baseline / MiB).toFixed(0)} MiB) and was killed`);
    throw err;
  }
  const ms = performance.now() - started;
  const { killedAt } = watchdog.stop();
  if (killedAt !== undefined) throw new Error(`${what}: the engine's RSS reached ${(killedAt / MiB).toFixed(0)} MiB (from ${(peak.baseline / MiB).toFixed(0)} MiB) and was killed`);
  let growth = 0;
  try {
    growth = peak.growth();
  } catch {
    // the engine exited: engineProblem says so below
  }
  const wrong = judge(answer);
  if (wrong !== undefined) throw new Error(`${what}: ${wrong}`);
  if (growth > limits.growthBytes) throw new Error(`${what}: the engine's peak RSS grew ${(growth / MiB).toFixed(0)} MiB (allowed ${(limits.growthBytes / MiB).toFixed(0)} MiB)`);
  const problem = await engineProblem(handle.engine);
  if (problem !== undefined) throw new Error(`${what}: afterwards ${problem}`);
  return { answer, growth, ms };
}

/** Answers counted by kind of case and status, reported as figures lines after a file's cases. */
export class StatusTally {
  private readonly byKind = new Map<string, Map<number, number>>();

  count(kind: string, status: number): void {
    const byStatus = this.byKind.get(kind) ?? new Map<number, number>();
    this.byKind.set(kind, byStatus);
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** How many answers of `kind` had `status`. */
  of(kind: string, status: number): number {
    return this.byKind.get(kind)?.get(status) ?? 0;
  }

  /** One `[faults] <prefix> <kind>: cases=N statuses=200:a,400:b` line per kind. */
  report(prefix: string): void {
    for (const [kind, byStatus] of this.byKind) {
      reportFigures(`${prefix} ${kind}`, { cases: [...byStatus.values()].reduce((a, b) => a + b, 0), statuses: statusSummary(byStatus) });
    }
  }
}
