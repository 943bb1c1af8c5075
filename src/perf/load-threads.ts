/**
 * Runs a step's load on one or more threads behind one handle. One thread runs in the
 * calling thread (no worker start-up, nothing to serialize); more run in worker threads,
 * the load split between them: callers dealt out, the request rate divided (Poisson
 * streams with different seeds add up to a Poisson stream; constant streams interleave).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RequestDistribution } from './arrival-schedule';
import { LoadGenerator, ThreadLoad } from './load-generator';
import type { LoadWorkerData, LoadWorkerReply, LoadWorkerRequest } from './load-worker';
import type { LoadTarget } from './transport';
import { WindowRecord, mergeRecords } from './window-record';

/** The load of one step of the sweep, for all threads together. */
export type StepLoad = { mode: 'concurrency'; concurrency: number } | { mode: 'rate'; ratePerSecond: number; distribution: RequestDistribution };

export interface LoadSpec {
  target: LoadTarget;
  load: StepLoad;
  threads: number;
  /** Open loop: connections in all pools together (closed loops use one per caller). */
  maxConnections: number;
  timeoutMs: number;
  seed: number;
}

export interface LoadHandle {
  /** Threads actually used (never more than the callers of a closed loop). */
  readonly threads: number;
  snapshot(): Promise<WindowRecord>;
  stop(): Promise<WindowRecord>;
}

const WORKER_FILE = path.join(__dirname, `load-worker${path.extname(__filename)}`);

/** Loading a .ts worker (tests, tsx) needs tsx's register hook, as the engine's workers do. */
function workerExecArgv(): string[] | undefined {
  return WORKER_FILE.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : undefined;
}

/** The per-thread loads; exported for tests. */
export function splitLoad(load: StepLoad, threads: number, seed: number): ThreadLoad[] {
  if (load.mode === 'concurrency') {
    const n = Math.max(1, Math.min(threads, load.concurrency));
    return Array.from({ length: n }, (_, i) => ({
      mode: 'concurrency' as const,
      concurrency: Math.floor(load.concurrency / n) + (i < load.concurrency % n ? 1 : 0),
    }));
  }
  return Array.from({ length: threads }, (_, i) => ({
    mode: 'rate' as const,
    ratePerSecond: load.ratePerSecond / threads,
    distribution: load.distribution,
    seed: (seed + i * 7919) >>> 0,
    phase: i / threads,
  }));
}

function connectionsFor(load: ThreadLoad, spec: LoadSpec, threads: number): number {
  return load.mode === 'concurrency' ? load.concurrency : Math.max(1, Math.ceil(spec.maxConnections / threads));
}

/** Starts the load; resolves once every thread is sending (a worker takes a moment to start). */
export async function startLoad(spec: LoadSpec): Promise<LoadHandle> {
  const loads = splitLoad(spec.load, spec.threads, spec.seed);
  if (loads.length === 1) {
    const generator = new LoadGenerator({
      target: spec.target,
      connections: connectionsFor(loads[0]!, spec, 1),
      timeoutMs: spec.timeoutMs,
    });
    generator.start(loads[0]!);
    return { threads: 1, snapshot: async () => generator.snapshot(), stop: () => generator.stop() };
  }
  const workers = loads.map((load) => new LoadWorker({
    generator: { target: spec.target, connections: connectionsFor(load, spec, loads.length), timeoutMs: spec.timeoutMs },
    load,
  }));
  try {
    await Promise.all(workers.map((w) => w.started));
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  const all = async (type: LoadWorkerRequest['type']) => mergeRecords(await Promise.all(workers.map((w) => w.ask(type))));
  return {
    threads: workers.length,
    snapshot: () => all('snapshot'),
    stop: async () => {
      const record = await all('stop');
      await Promise.all(workers.map((w) => w.exited));
      return record;
    },
  };
}

class LoadWorker {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (r: WindowRecord) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<void>;
  readonly started: Promise<void>;

  constructor(data: LoadWorkerData) {
    this.worker = new Worker(WORKER_FILE, { workerData: data, execArgv: workerExecArgv() });
    let onStarted!: () => void;
    let onFailed!: (err: Error) => void;
    this.started = new Promise((resolve, reject) => ((onStarted = resolve), (onFailed = reject)));
    this.worker.on('message', (reply: LoadWorkerReply) => {
      if (reply.type === 'started') return onStarted();
      this.pending.get(reply.id)?.resolve(reply.record);
      this.pending.delete(reply.id);
    });
    const failAll = (err: Error): void => {
      onFailed(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        failAll(new Error(`a load generator thread exited (code ${code}) with a request unanswered`));
        resolve();
      }),
    );
  }

  /** Ends the thread at once, requests in flight and all (for failures only). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  ask(type: LoadWorkerRequest['type']): Promise<WindowRecord> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type, id } satisfies LoadWorkerRequest);
    });
  }
}
