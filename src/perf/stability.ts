/**
 * perf_analyzer's stability rule: a measurement is stable when, over the most recent three
 * windows, max/min of the throughput and max/min of the latency (the average, or the
 * percentile that --percentile names) are both within the stability percentage.
 * Pure: the profiler feeds it window summaries.
 */

export const STABILITY_WINDOWS = 3;

export interface StabilityPoint {
  /** Completed inferences per second in the window. */
  throughput: number;
  /** The stabilizing latency of the window (ms); NaN when nothing completed. */
  latencyMs: number;
}

/** max/min ≤ 1 + pct/100; an all-zero series is stable, zero next to non-zero is not. */
function within(values: readonly number[], percentage: number): boolean {
  const max = Math.max(...values);
  const min = Math.min(...values);
  if (max === 0) return true;
  if (min <= 0) return false;
  return max / min <= 1 + percentage / 100;
}

export function isStable(windows: readonly StabilityPoint[], stabilityPercentage: number): boolean {
  if (windows.length < STABILITY_WINDOWS) return false;
  const recent = windows.slice(-STABILITY_WINDOWS);
  if (!within(recent.map((w) => w.throughput), stabilityPercentage)) return false;
  const latencies = recent.map((w) => w.latencyMs);
  // Windows where nothing completed have no latency; they are stable only all together.
  if (latencies.every((l) => Number.isNaN(l))) return true;
  if (latencies.some((l) => Number.isNaN(l))) return false;
  return within(latencies, stabilityPercentage);
}
