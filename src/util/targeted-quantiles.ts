/**
 * Quantiles of a stream in bounded memory with a rank-error guarantee per target: the
 * targeted-quantiles algorithm of Cormode, Korn, Muthukrishnan and Srivastava ("Effective
 * computation of biased quantiles over data streams", ICDE 2005), which prometheus-cpp's
 * Summary uses and so Triton's. A target {quantile 0.9, error 0.01} answers a value whose
 * rank lies between the 89th and the 91st percentile of what was inserted.
 *
 * Values arrive in sorted batches (the sliding window buffers and sorts them once for all
 * of its streams); nothing here reads a clock.
 */

export interface QuantileTarget {
  /** In (0, 1). */
  quantile: number;
  /** Allowed rank error either side, as a fraction of the count, in (0, 1). */
  error: number;
}

export class TargetedQuantiles {
  // Samples as parallel typed arrays (value, g = rank gap to the previous sample, delta =
  // rank uncertainty), written into a second set and swapped on each merge: a flush then
  // allocates nothing, which is most of what an observation costs.
  private values = new Float64Array(64);
  private g = new Float64Array(64);
  private delta = new Float64Array(64);
  private nextValues = new Float64Array(64);
  private nextG = new Float64Array(64);
  private nextDelta = new Float64Array(64);
  private length = 0;
  private n = 0;
  // Per target: q, 2e/q (above the target's rank) and 2e/(1-q) (below it).
  private readonly qs: Float64Array;
  private readonly above: Float64Array;
  private readonly below: Float64Array;

  constructor(targets: readonly QuantileTarget[]) {
    this.qs = Float64Array.from(targets, (t) => t.quantile);
    this.above = Float64Array.from(targets, (t) => (2 * t.error) / t.quantile);
    this.below = Float64Array.from(targets, (t) => (2 * t.error) / (1 - t.quantile));
  }

  get count(): number {
    return this.n;
  }

  /** How many samples are kept (for tests of the memory bound). */
  get size(): number {
    return this.length;
  }

  reset(): void {
    this.length = 0;
    this.n = 0;
  }

  /** The samples with prefix sums of g (prefixG[k] = rank lower bound of the first k samples), for queryMerged. */
  view(): { values: Float64Array; g: Float64Array; delta: Float64Array; prefixG: Float64Array; length: number; n: number } {
    const prefixG = new Float64Array(this.length + 1);
    for (let i = 0; i < this.length; i++) prefixG[i + 1] = prefixG[i]! + this.g[i]!;
    return { values: this.values, g: this.g, delta: this.delta, prefixG, length: this.length, n: this.n };
  }

  /** The invariant f(r, n): the most rank uncertainty a sample at rank r may carry. */
  private allowed(rank: number): number {
    const { qs, above, below, n } = this;
    let min = Number.POSITIVE_INFINITY;
    for (let t = 0; t < qs.length; t++) {
      const f = rank >= qs[t]! * n ? above[t]! * rank : below[t]! * (n - rank);
      if (f < min) min = f;
    }
    return min;
  }

  private ensureNext(capacity: number): void {
    if (this.nextValues.length >= capacity) return;
    const size = Math.max(capacity, this.nextValues.length * 2);
    this.nextValues = new Float64Array(size);
    this.nextG = new Float64Array(size);
    this.nextDelta = new Float64Array(size);
  }

  private swap(length: number): void {
    [this.values, this.nextValues] = [this.nextValues, this.values];
    [this.g, this.nextG] = [this.nextG, this.g];
    [this.delta, this.nextDelta] = [this.nextDelta, this.delta];
    this.length = length;
  }

  /** Inserts `sorted[0..count)` (ascending), then compresses. */
  insertSorted(sorted: ArrayLike<number>, count: number): void {
    if (count === 0) return;
    this.ensureNext(this.length + count);
    const { values, g, delta, nextValues: outV, nextG: outG, nextDelta: outD } = this;
    const existing = this.length;
    let i = 0;
    let o = 0;
    let rank = 0;
    for (let k = 0; k < count; k++) {
      const x = sorted[k]!;
      while (i < existing && values[i]! <= x) {
        outV[o] = values[i]!;
        outG[o] = g[i]!;
        outD[o++] = delta[i]!;
        rank += g[i++]!;
      }
      this.n += 1;
      // A new minimum or maximum is known exactly; elsewhere it inherits the allowed uncertainty.
      const d = o === 0 || i === existing ? 0 : Math.max(0, Math.floor(this.allowed(rank)) - 1);
      outV[o] = x;
      outG[o] = 1;
      outD[o++] = d;
      rank += 1;
    }
    for (; i < existing; i++) {
      outV[o] = values[i]!;
      outG[o] = g[i]!;
      outD[o++] = delta[i]!;
    }
    this.swap(o);
    this.compress();
  }

  /** Merges each sample into its successor where the invariant allows; the minimum and maximum stay. */
  private compress(): void {
    const len = this.length;
    if (len < 3) return;
    this.ensureNext(len);
    const { values, g, delta, nextValues: outV, nextG: outG, nextDelta: outD } = this;
    outV[0] = values[0]!;
    outG[0] = g[0]!;
    outD[0] = delta[0]!;
    let o = 1;
    let rankBeforeLast = 0;
    for (let j = 1; j < len; j++) {
      let gj = g[j]!;
      const last = o - 1;
      if (last > 0 && outG[last]! + gj + delta[j]! <= this.allowed(rankBeforeLast)) {
        gj += outG[last]!;
        o -= 1;
      } else {
        rankBeforeLast += outG[last]!;
      }
      outV[o] = values[j]!;
      outG[o] = gj;
      outD[o++] = delta[j]!;
    }
    this.swap(o);
  }

  /** The value at quantile `q` within its target's error; NaN when nothing was inserted. */
  query(q: number): number {
    return queryMerged([this], q);
  }

  /** The value at quantile `q` by the paper's single-stream walk (kept for the merged query's tests). */
  querySingle(q: number): number {
    const { values, g, delta, length } = this;
    if (length === 0) return Number.NaN;
    // The paper's rank ceil(q n): for few values the answer is the true order statistic
    // (prometheus-cpp's floor answers one rank low: the "median" of 1, 3, 5 would be 1).
    const desired = Math.ceil(q * this.n);
    const bound = desired + this.allowed(desired) / 2;
    let rankMin = 0;
    for (let i = 1; i < length; i++) {
      rankMin += g[i - 1]!;
      if (rankMin + g[i]! + delta[i]! > bound) return values[i - 1]!;
    }
    return values[length - 1]!;
  }
}

/**
 * The value at quantile `q` of the union of `parts` (streams of disjoint observations: the
 * window's time slices), without merging them: a sample's rank in the union lies between
 * its own lower bound plus every other part's samples known to be below it, and its own
 * upper bound plus every other part's that may be (Greenwald and Khanna's combination).
 * The answer is the sample whose bounds sit tightest around rank ceil(q n). Each part's
 * uncertainty is within f(r_i, n_i); f is a minimum of linear functions, so the sum stays
 * within f(r, n) of the union, the single stream's guarantee.
 */
export function queryMerged(parts: readonly TargetedQuantiles[], q: number): number {
  const live = parts.filter((p) => p.count > 0).map((p) => p.view());
  const n = live.reduce((sum, p) => sum + p.n, 0);
  if (n === 0) return Number.NaN;
  const desired = Math.ceil(q * n);
  let best = Number.NaN;
  let bestSpread = Number.POSITIVE_INFINITY;
  for (let p = 0; p < live.length; p++) {
    const own = live[p]!;
    let rmin = 0;
    for (let i = 0; i < own.length; i++) {
      rmin += own.g[i]!;
      const v = own.values[i]!;
      let lo = rmin;
      let hi = rmin + own.delta[i]!;
      for (let o = 0; o < live.length; o++) {
        if (o === p) continue;
        const other = live[o]!;
        const k = upperBound(other.values, other.length, v);
        lo += other.prefixG[k]!;
        hi += k < other.length ? other.prefixG[k + 1]! + other.delta[k]! - 1 : other.n;
      }
      const spread = Math.max(desired - lo, hi - desired);
      if (spread < bestSpread) {
        bestSpread = spread;
        best = v;
      }
    }
  }
  return best;
}

/** How many of `values[0..length)` (ascending) are <= v. */
function upperBound(values: Float64Array, length: number, v: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
