/**
 * Latency statistics of one measurement: average and nearest-rank percentiles, the way
 * perf_analyzer reports them (p50, p90, p95, p99 of the requests that completed).
 */

export interface LatencySummary {
  count: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export const REPORTED_PERCENTILES = [50, 90, 95, 99] as const;

/**
 * The value below which `p` percent of the sorted values lie (nearest rank: the smallest
 * value with at least p% of the values at or below it). NaN for no values.
 */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Summarizes latencies (ms); the input is left untouched. NaN fields when there are none. */
export function summarizeLatencies(latenciesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    avgMs: n === 0 ? NaN : sum / n,
    minMs: n === 0 ? NaN : sorted[0]!,
    maxMs: n === 0 ? NaN : sorted[n - 1]!,
    p50Ms: percentileOfSorted(sorted, 50),
    p90Ms: percentileOfSorted(sorted, 90),
    p95Ms: percentileOfSorted(sorted, 95),
    p99Ms: percentileOfSorted(sorted, 99),
  };
}
