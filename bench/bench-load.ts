/**
 * What the benchmarks share: closed-loop measurements through `scoreline perf`'s own
 * profiler (the same generator users run), medians of alternating rounds, free ports,
 * child servers that announce readiness on a line of output, progress lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import type { PreparedRequest } from '../src/perf/http-transport';
import type { StepResult } from '../src/perf/perf-report';
import { profile } from '../src/perf/profiler';
import { freePort } from '../src/util/free-port';

/** Benchmarks run from dist/bench; the package root is two levels up. */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(PACKAGE_ROOT, 'bin', 'scoreline.js');
export const RESULTS_DIR = path.join(PACKAGE_ROOT, 'bench', 'results');

// Five short rounds rather than three long ones: on a shared machine a burst of outside load
// spoils a round, and the median of five shrugs off two spoiled ones.
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
export const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);

export function progress(tag: string, message: string): void {
  process.stderr.write(`[${tag}] ${message}\n`);
}

export { freePort };

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The round with the median throughput: its latencies belong to it. */
export function medianStep<T extends { requestsPerSecond: number }>(steps: readonly T[]): T {
  return [...steps].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(steps.length / 2)]!;
}

/** A JSON POST to `url`. */
export function jsonPost(url: string, body: unknown): { origin: string; request: PreparedRequest } {
  const u = new URL(url);
  return {
    origin: u.origin,
    request: { method: 'POST', path: `${u.pathname}${u.search}`, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) },
  };
}

/**
 * `concurrency` closed-loop callers for WARMUP_SECONDS, then SECONDS measured (three
 * windows, all reported: a fixed duration, since rounds and medians handle the noise).
 */
export async function measure(url: string, body: unknown, concurrency: number, threads: number | 'auto' = 'auto'): Promise<StepResult> {
  const { origin, request } = jsonPost(url, body);
  const result = await profile(
    { load: { protocol: 'http', origin, requests: [request] }, batchSize: 1 },
    {
      steps: [{ mode: 'concurrency', concurrency }],
      warmupMs: WARMUP_SECONDS * 1000,
      measurementIntervalMs: (SECONDS * 1000) / 3,
      stabilityPercentage: Number.POSITIVE_INFINITY,
      maxTrials: 3,
      percentile: undefined,
      threads,
      maxConnections: concurrency,
      timeoutMs: 60_000,
      seed: 1,
    },
  );
  return result.steps[0]!;
}

export interface ChildServer {
  url: string;
  /** Everything the server printed so far. */
  output(): Promise<string>;
  stop(): Promise<void>;
}

/** GET `url` answers 200 (any error or status: not yet). */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(url, { signal: AbortSignal.timeout(1000) });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

/**
 * Spawns `node args...` with its output going to a file (a server under load may log every
 * request; reading that through a pipe would cost the load generator's process CPU), and
 * resolves once the file holds a line matching `ready`, or, for a server that logs nothing,
 * once GET `ready.url` answers 200.
 */
export async function spawnServer(args: string[], ready: RegExp | { url: string }, options: { env?: NodeJS.ProcessEnv; url: string; timeoutMs?: number }): Promise<ChildServer> {
  const logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-log-'));
  const logFile = path.join(logDir, 'server.log');
  const fd = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', fd, fd], env: options.env ?? process.env, cwd: PACKAGE_ROOT });
  closeSync(fd);
  const output = () => fs.readFile(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await fs.rm(logDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const text = await output();
    if (ready instanceof RegExp ? ready.test(text) : await answers(ready.url)) return { url: options.url, output, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      const why = Date.now() > deadline ? 'was not ready in time' : `exited (${child.exitCode ?? child.signalCode}) before it was ready`;
      throw new Error(`${args.join(' ')} ${why}:\n${text.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `scoreline serve` (the built CLI) with `entryScript` on a free port. Default logging, as
 * deployed, writes a line per request (to a file here); `quiet` passes --log-level warn.
 */
export async function spawnServe(entryScript: string, workers: number, options: { args?: string[]; quiet?: boolean } = {}): Promise<ChildServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--entry-script', entryScript, '--worker-count', String(workers), ...(options.args ?? [])];
  if (!options.quiet) return spawnServer(args, /serve primary: serving on/, { url });
  // Nothing is logged at warn: wait for health, then give the other workers a moment.
  const server = await spawnServer([...args, '--log-level', 'warn'], { url: `${url}/` }, { url });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return server;
}
