/**
 * A closed-loop load generator for the fault suite: `concurrency` clients each send a
 * request, wait for the answer, and send the next, over kept-alive connections (as a load
 * balancer or a client SDK does) through node:http.
 *
 * It counts every outcome: statuses, failures by error code, and requests that got no
 * answer within `timeoutMs` (lost). A failure also records which worker its connection
 * was talking to: a connection belongs to one worker for its life, and the fixture's
 * answers name their worker's pid, so each socket is tagged with the pid of its last answer.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

export interface LoadOptions {
  url: string;
  concurrency: number;
  /** Request body (JSON-encoded when not a string); a function for a body per request. */
  body: unknown | (() => unknown);
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** A request with no complete answer within this time counts as lost (default 10 s). */
  timeoutMs?: number;
  /** Parse answers for `{"pid": N}` to tag connections (default true). */
  tagPids?: boolean;
  /** Fresh connection per request instead of keep-alive. */
  keepAlive?: boolean;
  /** Pause after a failure before the next request (default 5 ms): a refused port is not hammered. */
  /**
   * Spread the callers' first requests over this long (default 0: all at once). With
   * NODE_CLUSTER_SCHED_POLICY=none the kernel hands each new connection to whichever worker
   * accepts first; a burst of them can all land on one worker, and keep-alive pins them there.
   */
  rampMs?: number;
  pauseAfterFailureMs?: number;
  /** Send `x-request-id: <prefix><n>` so failures can be looked up in the server's log. */
  requestIdPrefix?: string;
}

export interface Failure {
  /** Error code (ECONNRESET, ECONNREFUSED, ...), or 'lost' for no answer in time. */
  code: string;
  /** The pid of the worker the connection last heard from; undefined for a fresh connection. */
  pid: number | undefined;
  /** Sent on a kept-alive connection that had carried earlier requests. */
  reused: boolean;
  requestId: string | undefined;
  at: number;
}

export interface LoadCounts {
  sent: number;
  /** Answers by status. */
  statuses: Map<number, number>;
  failures: Failure[];
  /** Latency (ms) per answered request, by status. */
  latencies: Map<number, number[]>;
  /** Pids that answered, in order of first answer. */
  pids: number[];
  /** When each pid first answered (performance.now()). */
  firstSeen: Map<number, number>;
  /** When the requests that opened a new connection and were answered started (performance.now()). */
  freshAnsweredStartedAt: number[];
  /** 429 and 503 answers without a Retry-After header. */
  withoutRetryAfter: number;
  /** When the first and last answer of each status came (performance.now()). */
  firstAt: Map<number, number>;
  lastAt: Map<number, number>;
}

const PID = Symbol('pid');
type TaggedSocket = Socket & { [PID]?: number };

export class ClosedLoopLoad {
  readonly counts: LoadCounts = {
    sent: 0,
    statuses: new Map(),
    failures: [],
    latencies: new Map(),
    pids: [],
    firstSeen: new Map(),
    withoutRetryAfter: 0,
    freshAnsweredStartedAt: [],
    firstAt: new Map(),
    lastAt: new Map(),
  };
  private running = false;
  private loops: Promise<void> = Promise.resolve();
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(private readonly options: LoadOptions) {
    this.target = new URL(options.path ?? '/score', options.url);
    this.agent = new http.Agent({ keepAlive: options.keepAlive !== false, maxSockets: options.concurrency });
  }

  start(): this {
    this.running = true;
    const { concurrency, rampMs = 0 } = this.options;
    this.loops = Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        if (rampMs > 0) await sleep((i * rampMs) / concurrency);
        await this.loop();
      }),
    ).then(() => undefined);
    return this;
  }

  /** Stops sending, waits for the answers in flight, closes the connections. */
  async stop(): Promise<LoadCounts> {
    this.running = false;
    await this.loops;
    this.agent.destroy();
    return this.counts;
  }

  ok(): number {
    return this.counts.statuses.get(200) ?? 0;
  }

  answered(): number {
    let n = 0;
    for (const count of this.counts.statuses.values()) n += count;
    return n;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const failures = this.counts.failures.length;
      await this.once();
      if (this.counts.failures.length > failures) await sleep(this.options.pauseAfterFailureMs ?? 5);
    }
  }

  private once(): Promise<void> {
    const { body, method = 'POST', headers = {}, timeoutMs = 10_000 } = this.options;
    const value = typeof body === 'function' ? (body as () => unknown)() : body;
    const payload = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    const counts = this.counts;
    counts.sent++;
    const requestId = this.options.requestIdPrefix === undefined ? undefined : `${this.options.requestIdPrefix}${counts.sent}`;
    const started = performance.now();
    return new Promise<void>((resolve) => {
      let socket: TaggedSocket | undefined;
      let done = false;
      const fail = (code: string): void => {
        if (done) return;
        done = true;
        counts.failures.push({ code, pid: socket?.[PID], reused: req.reusedSocket, requestId, at: performance.now() });
        req.destroy();
        resolve();
      };
      const req = http.request(this.target, {
        method,
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
          ...headers,
        },
      });
      req.on('socket', (s) => {
        socket = s as TaggedSocket;
      });
      const timer = setTimeout(() => fail('lost'), timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(err.code ?? err.message);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          fail(err.code ?? err.message);
        });
        res.on('end', () => {
          clearTimeout(timer);
          if (done) return;
          done = true;
          const status = res.statusCode ?? 0;
          const now = performance.now();
          counts.statuses.set(status, (counts.statuses.get(status) ?? 0) + 1);
          if (!counts.firstAt.has(status)) counts.firstAt.set(status, now);
          counts.lastAt.set(status, now);
          if (!req.reusedSocket) counts.freshAnsweredStartedAt.push(started);
          if ((status === 429 || status === 503) && res.headers['retry-after'] === undefined) counts.withoutRetryAfter++;
          let latencies = counts.latencies.get(status);
          if (latencies === undefined) counts.latencies.set(status, (latencies = []));
          latencies.push(now - started);
          if (this.options.tagPids !== false && status === 200) this.tag(socket, Buffer.concat(chunks));
          resolve();
        });
      });
      req.end(payload);
    });
  }

  private tag(socket: TaggedSocket | undefined, body: Buffer): void {
    let pid: unknown;
    try {
      pid = (JSON.parse(body.toString('utf8')) as { pid?: unknown }).pid;
    } catch {
      return;
    }
    if (typeof pid !== 'number') return;
    if (socket !== undefined) socket[PID] = pid;
    if (!this.counts.firstSeen.has(pid)) {
      this.counts.firstSeen.set(pid, performance.now());
      this.counts.pids.push(pid);
    }
  }
}

/** The p-th percentile (0..100) of `values`; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Statuses as `200:123 503:4`, for the figures line. */
export function statusSummary(statuses: Map<number, number>): string {
  return [...statuses.entries()].sort(([a], [b]) => a - b).map(([status, n]) => `${status}:${n}`).join(',') || 'none';
}

/** Failures by code, e.g. `ECONNRESET:3`. */
export function failureSummary(failures: readonly Failure[]): string {
  const byCode = new Map<string, number>();
  for (const f of failures) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
  return [...byCode.entries()].map(([code, n]) => `${code}:${n}`).join(',') || 'none';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` every 10 ms; rejects after `timeoutMs` naming `what`. */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
