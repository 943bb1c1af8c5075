/**
 * What a load generator observed between two snapshots. A request belongs to the window in
 * which its response finished (or failed), as perf_analyzer counts completed requests;
 * `sent` counts dispatches in the window. Records from several threads merge by addition.
 */

/** Error buckets: the HTTP status as a string ("503"), or "network" for failed connections. */
export type ErrorCounts = Record<string, number>;

export interface WindowRecord {
  /** Requests handed to the connection pool. */
  sent: number;
  /** 2xx responses whose body arrived complete. */
  completed: number;
  /** One latency (ms, due time to last byte) per completed request. */
  latenciesMs: Float64Array;
  errors: ErrorCounts;
  /** Sum over completed requests of due time → dispatch (scheduling lag), ms. */
  sendMsSum: number;
  /** Sum over completed requests of response headers → last body byte, ms. */
  recvMsSum: number;
  /** The busiest generator thread's event-loop utilization (0..1) over the window. */
  elu: number;
}

export function emptyRecord(): WindowRecord {
  return { sent: 0, completed: 0, latenciesMs: new Float64Array(0), errors: {}, sendMsSum: 0, recvMsSum: 0, elu: 0 };
}

export function errorTotal(errors: ErrorCounts): number {
  return Object.values(errors).reduce((a, b) => a + b, 0);
}

export function addErrors(into: ErrorCounts, from: ErrorCounts): ErrorCounts {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  return into;
}

export function mergeRecords(records: readonly WindowRecord[]): WindowRecord {
  const latencies = new Float64Array(records.reduce((n, r) => n + r.latenciesMs.length, 0));
  let offset = 0;
  const merged = emptyRecord();
  for (const r of records) {
    latencies.set(r.latenciesMs, offset);
    offset += r.latenciesMs.length;
    merged.sent += r.sent;
    merged.completed += r.completed;
    addErrors(merged.errors, r.errors);
    merged.sendMsSum += r.sendMsSum;
    merged.recvMsSum += r.recvMsSum;
    merged.elu = Math.max(merged.elu, r.elu);
  }
  merged.latenciesMs = latencies;
  return merged;
}

/** A growable list of float64 latencies that hands out its contents without copying twice. */
export class LatencyBuffer {
  private values = new Float64Array(1024);
  private length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  /** The values so far (a copy sized to fit), and an empty buffer afterwards. */
  take(): Float64Array {
    const out = this.values.slice(0, this.length);
    this.length = 0;
    return out;
  }
}
