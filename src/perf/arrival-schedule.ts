/**
 * When the open loop sends its requests: `next()` returns successive due times (ms on the
 * performance.now() clock). Constant arrivals are evenly spaced; Poisson arrivals have
 * exponentially distributed gaps with the same mean, which is what independent users
 * produce and what shows the queueing that evenly spaced or closed-loop load hides.
 *
 * Due times are computed from the schedule, never from when the previous request was
 * actually sent, so a late generator cannot quietly lower the offered rate.
 */
import type { RandomSource as Random } from '../util/seeded-random';

export type RequestDistribution = 'constant' | 'poisson';

export interface ArrivalSchedule {
  /** The next due time; strictly increasing for constant arrivals, non-decreasing for Poisson. */
  next(): number;
}

export function arrivalSchedule(options: {
  ratePerSecond: number;
  distribution: RequestDistribution;
  startMs: number;
  random: Random;
  /** Shifts constant arrivals by this fraction of a gap (threads that share a rate interleave). */
  phase?: number;
}): ArrivalSchedule {
  const { ratePerSecond, distribution, startMs, random, phase = 0 } = options;
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`request rate must be a positive number, got ${ratePerSecond}`);
  const gapMs = 1000 / ratePerSecond;
  if (distribution === 'constant') {
    let index = 0;
    // Multiplying rather than accumulating keeps rounding error from drifting the rate.
    return { next: () => startMs + (index++ + phase) * gapMs };
  }
  let due = startMs;
  return {
    next: () => {
      due += -Math.log(1 - random()) * gapMs;
      return due;
    },
  };
}
