/**
 * The summaries' quantile estimator, driven with explicit times (no timers): the rank error
 * stays within each target's bound, memory stays bounded, and the window forgets on
 * prometheus-cpp's schedule (60 s, 5 buckets: kept 48 to 60 s).
 */
import { DEFAULT_SUMMARY_QUANTILES } from '../../../src/engine/metrics/metrics-config';
import { SlidingWindowQuantiles } from '../../../src/util/sliding-window-quantiles';
import { TargetedQuantiles, queryMerged } from '../../../src/util/targeted-quantiles';

/** A deterministic stream (xorshift), so a failure reproduces. */
function randomValues(n: number, seed = 12345): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // A long-tailed, latency-like spread: most small, a few large.
    const u = ((x >>> 0) % 1_000_000) / 1_000_000;
    out.push(Math.round(100 / (1 - u * 0.999)));
  }
  return out;
}

/** Fraction of `sorted` strictly below and at most `v`: the ranks `v` may stand for. */
function rankRange(sorted: number[], v: number): [number, number] {
  let lo = 0;
  while (lo < sorted.length && sorted[lo]! < v) lo++;
  let hi = lo;
  while (hi < sorted.length && sorted[hi]! <= v) hi++;
  return [lo / sorted.length, hi / sorted.length];
}

describe('TargetedQuantiles', () => {
  it('answers NaN before anything is inserted', () => {
    expect(new TargetedQuantiles(DEFAULT_SUMMARY_QUANTILES).query(0.5)).toBeNaN();
  });

  it('answers the one value of a stream of one', () => {
    const s = new TargetedQuantiles(DEFAULT_SUMMARY_QUANTILES);
    s.insertSorted([42], 1);
    for (const { quantile } of DEFAULT_SUMMARY_QUANTILES) expect(s.query(quantile)).toBe(42);
  });

  it.each([1_000, 20_000, 100_000])('keeps every default target within its rank error over %d values, in bounded memory', (n) => {
    const values = randomValues(n);
    const s = new TargetedQuantiles(DEFAULT_SUMMARY_QUANTILES);
    // Sorted batches of 500, as the window flushes them.
    for (let i = 0; i < n; i += 500) {
      const batch = values.slice(i, i + 500).sort((a, b) => a - b);
      s.insertSorted(batch, batch.length);
    }
    expect(s.count).toBe(n);
    const sorted = [...values].sort((a, b) => a - b);
    for (const { quantile, error } of DEFAULT_SUMMARY_QUANTILES) {
      const [lo, hi] = rankRange(sorted, s.query(quantile));
      // Some rank the answer stands for lies within quantile ± error.
      expect(hi).toBeGreaterThanOrEqual(quantile - error);
      expect(lo).toBeLessThanOrEqual(quantile + error);
    }
    if (n === 100_000) expect(s.size).toBeLessThan(n / 10);
  });

  it('answers the same from slices as from one stream of everything (queryMerged)', () => {
    const values = randomValues(30_000, 777);
    const whole = new TargetedQuantiles(DEFAULT_SUMMARY_QUANTILES);
    const slices = Array.from({ length: 5 }, () => new TargetedQuantiles(DEFAULT_SUMMARY_QUANTILES));
    for (let i = 0; i < values.length; i += 500) {
      const batch = values.slice(i, i + 500).sort((a, b) => a - b);
      whole.insertSorted(batch, batch.length);
      slices[(i / 500) % 5]!.insertSorted(batch, batch.length);
    }
    const sorted = [...values].sort((a, b) => a - b);
    for (const { quantile, error } of DEFAULT_SUMMARY_QUANTILES) {
      for (const answer of [queryMerged(slices, quantile), whole.querySingle(quantile), whole.query(quantile)]) {
        const [lo, hi] = rankRange(sorted, answer);
        expect(hi).toBeGreaterThanOrEqual(quantile - error);
        expect(lo).toBeLessThanOrEqual(quantile + error);
      }
    }
  });

  it('honours a loose target loosely and a tight one tightly', () => {
    const n = 50_000;
    const values = Array.from({ length: n }, (_, i) => i); // rank = value / n
    const s = new TargetedQuantiles([{ quantile: 0.5, error: 0.05 }, { quantile: 0.99, error: 0.0005 }]);
    for (let i = 0; i < n; i += 500) s.insertSorted(values.slice(i, i + 500), 500);
    expect(Math.abs(s.query(0.5) / n - 0.5)).toBeLessThanOrEqual(0.05);
    expect(Math.abs(s.query(0.99) / n - 0.99)).toBeLessThanOrEqual(0.0005);
  });
});

describe('SlidingWindowQuantiles', () => {
  const targets = [{ quantile: 0.5, error: 0.01 }];

  it('answers from what it buffered, before any flush', () => {
    const w = new SlidingWindowQuantiles({ targets }, 0);
    for (const v of [5, 1, 3]) w.observe(v, 10);
    expect(w.quantiles(20)).toEqual([3]);
  });

  it('counts an observation for at least 48 s and forgets it by 60 s (60 s window, 5 buckets)', () => {
    const w = new SlidingWindowQuantiles({ targets, maxAgeMs: 60_000, ageBuckets: 5 }, 0);
    // Just before a rotation: the bucket emptied then never had it, so it counts 48 s.
    w.observe(7, 11_999);
    expect(w.quantiles(12_000)).toEqual([7]);
    expect(w.quantiles(59_999)).toEqual([7]);
    expect(w.quantiles(60_000)).toEqual([Number.NaN]);
    // Just after one: every bucket has it, the one that answers 48 s later too, so it counts 60 s.
    const v = new SlidingWindowQuantiles({ targets, maxAgeMs: 60_000, ageBuckets: 5 }, 0);
    v.observe(9, 12_000);
    expect(v.quantiles(71_999)).toEqual([9]);
    expect(v.quantiles(72_000)).toEqual([Number.NaN]);
  });

  it('moves the answer to recent values as old ones age out', () => {
    const w = new SlidingWindowQuantiles({ targets }, 0);
    for (let i = 0; i < 1000; i++) w.observe(100, i);
    for (let i = 0; i < 1000; i++) w.observe(1, 30_000 + i);
    // Both populations in the window: the median is one of them.
    expect([1, 100]).toContain(w.quantiles(40_000)[0]);
    // The first thousand went in before the 12 s boundary; by 60 s the window holds only the second.
    expect(w.quantiles(60_500)).toEqual([1]);
  });

  it('comes back empty after a long quiet spell and then counts again', () => {
    const w = new SlidingWindowQuantiles({ targets }, 0);
    w.observe(3, 1);
    expect(w.quantiles(86_400_000)).toEqual([Number.NaN]);
    w.observe(4, 86_400_001);
    expect(w.quantiles(86_400_002)).toEqual([4]);
  });

  it('flushes a full buffer into every bucket (more observations than the buffer holds)', () => {
    const w = new SlidingWindowQuantiles({ targets, bufferSize: 8 }, 0);
    for (let i = 1; i <= 101; i++) w.observe(i, 5);
    expect(Math.abs(w.quantiles(6)[0]! - 51)).toBeLessThanOrEqual(2);
  });
});
