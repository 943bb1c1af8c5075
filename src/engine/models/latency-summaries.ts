/**
 * One model version's latency summaries (Triton's `--metrics-config summary_latencies=true`):
 * a sliding-window quantile estimate plus a cumulative count and sum per latency, observed in
 * microseconds where the statistics record each request. Which latencies exist follows
 * Triton's MetricModelReporter: a version that uses the response cache has no request
 * summary (Triton leaves it out rather than publish one that misses the cache's own time)
 * and gets cache hit and miss summaries instead.
 *
 * Created only when summaries are on: with them off a request pays one undefined check.
 */
import { performance } from 'node:perf_hooks';
import type { BatchTimings } from './model-statistics';
import { SlidingWindowQuantiles } from '../../util/sliding-window-quantiles';
import type { QuantileTarget } from '../../util/targeted-quantiles';

export interface LatencySummarySettings {
  quantiles: readonly QuantileTarget[];
  /** Whether the version uses the response cache. */
  cacheEnabled: boolean;
  /** Milliseconds on a monotonic clock; injectable for tests. */
  now?: () => number;
  maxAgeMs?: number;
  ageBuckets?: number;
}

/** The summaries in Triton's order; the key names the family in summary-families.ts. */
export const LATENCY_SUMMARY_KEYS = ['request', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit', 'cache_miss'] as const;
export type LatencySummaryKey = (typeof LATENCY_SUMMARY_KEYS)[number];

export class LatencySummary {
  count = 0;
  /** Microseconds. */
  sum = 0;

  constructor(readonly window: SlidingWindowQuantiles) {}

  observe(us: number, nowMs: number): void {
    this.count += 1;
    this.sum += us;
    this.window.observe(us, nowMs);
  }
}

export interface LatencySummaryReading {
  key: LatencySummaryKey;
  quantiles: Array<[quantile: number, value: number]>;
  count: number;
  sum: number;
}

export class LatencySummaries {
  private readonly now: () => number;
  private readonly request: LatencySummary | undefined;
  private readonly queue: LatencySummary;
  private readonly computeInput: LatencySummary;
  private readonly computeInfer: LatencySummary;
  private readonly computeOutput: LatencySummary;
  private readonly cacheHit: LatencySummary | undefined;
  private readonly cacheMiss: LatencySummary | undefined;

  constructor(private readonly settings: LatencySummarySettings) {
    this.now = settings.now ?? (() => performance.now());
    const start = this.now();
    const make = (): LatencySummary =>
      new LatencySummary(new SlidingWindowQuantiles({ targets: settings.quantiles, maxAgeMs: settings.maxAgeMs, ageBuckets: settings.ageBuckets }, start));
    this.request = settings.cacheEnabled ? undefined : make();
    this.queue = make();
    this.computeInput = make();
    this.computeInfer = make();
    this.computeOutput = make();
    this.cacheHit = settings.cacheEnabled ? make() : undefined;
    this.cacheMiss = settings.cacheEnabled ? make() : undefined;
  }

  /** A request that executed (Triton's UpdateSuccess): a batch's compute times count for each request in it. */
  observeSuccess(totalNs: number, queueNs: number, timings: BatchTimings): void {
    const now = this.now();
    this.request?.observe(totalNs / 1000, now);
    this.queue.observe(queueNs / 1000, now);
    this.computeInput.observe(timings.computeInputNs / 1000, now);
    this.computeInfer.observe(timings.computeInferNs / 1000, now);
    this.computeOutput.observe(timings.computeOutputNs / 1000, now);
  }

  /** A request answered from the cache (Triton's UpdateSuccessCacheHit): queue and hit only. */
  observeCacheHit(queueNs: number, hitNs: number): void {
    const now = this.now();
    this.queue.observe(queueNs / 1000, now);
    this.cacheHit?.observe(hitNs / 1000, now);
  }

  /** The lookup plus insertion of a miss (Triton's UpdateSuccessCacheMiss). */
  observeCacheMiss(missNs: number): void {
    this.cacheMiss?.observe(missNs / 1000, this.now());
  }

  /** Each summary this version has, in Triton's order, read now. */
  read(): LatencySummaryReading[] {
    const now = this.now();
    const all: Array<[LatencySummaryKey, LatencySummary | undefined]> = [
      ['request', this.request],
      ['queue', this.queue],
      ['compute_input', this.computeInput],
      ['compute_infer', this.computeInfer],
      ['compute_output', this.computeOutput],
      ['cache_hit', this.cacheHit],
      ['cache_miss', this.cacheMiss],
    ];
    const readings: LatencySummaryReading[] = [];
    for (const [key, s] of all) {
      if (!s) continue;
      const values = s.window.quantiles(now);
      readings.push({ key, quantiles: this.settings.quantiles.map((t, i) => [t.quantile, values[i]!]), count: s.count, sum: s.sum });
    }
    return readings;
  }
}
