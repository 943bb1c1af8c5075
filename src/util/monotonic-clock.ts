/**
 * Where the engine reads the time for durations: monotonic nanoseconds (process.hrtime.bigint),
 * so queue, compute and cache times survive wall-clock changes and match Triton's statistics
 * (nanosecond counters). The schedulers take a Clock so tests can pin timestamps.
 */
export interface Clock {
  nowNs(): bigint;
}

/** Now, in monotonic nanoseconds. */
export const nowNs = (): bigint => process.hrtime.bigint();

export const systemClock: Clock = { nowNs };

/** Microseconds as a plain number: the batch former's unit (and Triton's config unit). */
export function nsToUs(ns: bigint): number {
  return Number(ns / 1000n);
}
