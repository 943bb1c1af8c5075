/**
 * How long a worker lives, as gunicorn bounds it:
 * - `max_requests` (+ `max_requests_jitter`): after that many requests a worker asks the
 *   primary to replace it, which bounds what a leaking score module can accumulate; the
 *   jitter keeps workers started together from being replaced together.
 * - `timeout`: a worker sends a heartbeat every HEARTBEAT_INTERVAL_MS from its event loop;
 *   a worker silent for longer than the timeout has a blocked event loop (a run() stuck in
 *   synchronous code), cannot answer anything, and is killed and replaced.
 * Plain functions and state; the primary and the worker pass the clock and the randomness.
 */

export const HEARTBEAT_INTERVAL_MS = 1_000;

/** This worker's request limit: `maxRequests` plus a random 0..`jitter`; 0 means never. */
export function requestLimit(maxRequests: number, jitter: number, random: () => number = Math.random): number {
  if (maxRequests <= 0) return 0;
  return maxRequests + Math.floor(random() * (jitter + 1));
}

/** The primary's view of heartbeats. Keys are whatever identifies a worker. */
export class HeartbeatWatchdog<K> {
  private readonly last = new Map<K, number>();

  /** `timeoutMs` 0 turns the watchdog off: nothing is ever overdue. */
  constructor(private readonly timeoutMs: number) {}

  /** A heartbeat (or the moment a worker started listening, which counts as one). */
  beat(worker: K, now: number): void {
    this.last.set(worker, now);
  }

  forget(worker: K): void {
    this.last.delete(worker);
  }

  /** Workers silent for longer than the timeout; each is reported once, then forgotten. */
  overdue(now: number): Array<{ worker: K; silentMs: number }> {
    if (this.timeoutMs <= 0) return [];
    const out: Array<{ worker: K; silentMs: number }> = [];
    for (const [worker, at] of this.last) {
      if (now - at > this.timeoutMs) {
        out.push({ worker, silentMs: now - at });
        this.last.delete(worker);
      }
    }
    return out;
  }
}
