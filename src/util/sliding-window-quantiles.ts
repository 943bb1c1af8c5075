/**
 * Quantiles over a sliding time window with prometheus-cpp's Summary window (and so
 * Triton's nv_*_summary_us): maxAge in `ageBuckets` steps, answering for the observations of
 * the last ageBuckets-1 whole steps and the current one. With Triton's defaults (60 s, 5)
 * an observation counts for at least 48 s and at most 60 s.
 *
 * prometheus-cpp inserts every observation into all 5 of its streams; here each goes into
 * one stream per time slice only, and a query combines the slices (queryMerged): the same
 * window and error bound for a fifth of the insert work, which is what a request pays.
 *
 * A pure state object: callers pass the time (milliseconds, any monotonic origin), so tests
 * drive it without timers. Observations wait in a buffer, sorted once per flush, which keeps
 * an observation to a bounds check and a store.
 */
import { QuantileTarget, TargetedQuantiles, queryMerged } from './targeted-quantiles';

export interface SlidingWindowOptions {
  targets: readonly QuantileTarget[];
  /** Window length in ms (prometheus-cpp's default, which Triton keeps: 60 s). */
  maxAgeMs?: number;
  /** Streams the window rotates through (default 5). */
  ageBuckets?: number;
  /** Observations buffered before a flush (prometheus-cpp's CKMS buffers 500). */
  bufferSize?: number;
}

export class SlidingWindowQuantiles {
  readonly targets: readonly QuantileTarget[];
  private readonly streams: TargetedQuantiles[];
  private readonly bucketMs: number;
  private current = 0;
  private lastRotationMs: number;
  private readonly pending: Float64Array;
  private pendingCount = 0;

  constructor(options: SlidingWindowOptions, startMs: number) {
    const ageBuckets = options.ageBuckets ?? 5;
    this.targets = options.targets;
    this.bucketMs = (options.maxAgeMs ?? 60_000) / ageBuckets;
    this.streams = Array.from({ length: ageBuckets }, () => new TargetedQuantiles(options.targets));
    this.pending = new Float64Array(options.bufferSize ?? 500);
    this.lastRotationMs = startMs;
  }

  observe(value: number, nowMs: number): void {
    if (nowMs - this.lastRotationMs >= this.bucketMs) this.rotate(nowMs);
    this.pending[this.pendingCount++] = value;
    if (this.pendingCount === this.pending.length) this.flush();
  }

  /** The value at each target quantile, in target order; NaN for all when the window is empty. */
  quantiles(nowMs: number): number[] {
    if (nowMs - this.lastRotationMs >= this.bucketMs) this.rotate(nowMs);
    this.flush();
    return this.targets.map((t) => queryMerged(this.streams, t.quantile));
  }

  private flush(): void {
    if (this.pendingCount === 0) return;
    const sorted = this.pending.subarray(0, this.pendingCount).sort();
    this.streams[this.current]!.insertSorted(sorted, this.pendingCount);
    this.pendingCount = 0;
  }

  private rotate(nowMs: number): void {
    // Everything pending was observed before the boundary just crossed (each observe checks
    // first), so it belongs to the slice that was current until then.
    this.flush();
    const elapsed = Math.floor((nowMs - this.lastRotationMs) / this.bucketMs);
    const n = this.streams.length;
    // Each step: the oldest slice is emptied and becomes the current one.
    for (let k = 0; k < Math.min(elapsed, n); k++) {
      this.current = (this.current + 1) % n;
      this.streams[this.current]!.reset();
    }
    this.lastRotationMs += elapsed * this.bucketMs;
  }
}
