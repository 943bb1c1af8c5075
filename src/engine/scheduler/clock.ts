/**
 * Where the scheduler reads the time. Monotonic nanoseconds (process.hrtime.bigint), so
 * queue durations survive wall-clock changes; tests pass their own to pin timestamps.
 */
export interface Clock {
  nowNs(): bigint;
}

export const systemClock: Clock = {
  nowNs: () => process.hrtime.bigint(),
};

/** Microseconds as a plain number: the batch former's unit (and Triton's config unit). */
export function nsToUs(ns: bigint): number {
  return Number(ns / 1000n);
}
