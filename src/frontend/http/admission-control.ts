/**
 * Load shedding for one worker: refuse a /score request at once (429) when the requests this
 * worker already holds would keep it waiting past its deadline, instead of accepting work
 * that will be answered too late and thrown away. Under overload that waste is what
 * collapses goodput: every live request waits behind requests whose callers have gone.
 *
 * The rule is Little's law. With `n` requests in flight and a throughput of `rate` requests
 * per millisecond while the worker is busy, a new request can expect to spend about
 * (n + 1) / rate in the system. It is admitted when that fits in TARGET_FRACTION of its
 * budget (its time left until the deadline), and always while fewer than MIN_IN_FLIGHT are
 * in flight (a worker that holds a few requests is never the bottleneck, and it keeps the
 * estimate fed after a burst of refusals). The fraction leaves the rest of the budget for
 * what the estimate cannot see: the variance of the wait, the time before the worker reads a
 * request, and a caller whose own deadline is shorter than the server's. On bench:overload
 * a half let answers' p99 come close enough to the callers' limit that a burst pushed some
 * past it (bench/README.md, "Measurements behind design choices"); each caller that leaves
 * costs a new connection, and that churn fed the overload.
 * A queue of a quarter of the budget still holds many batches' worth of rows, so the model
 * never waits for work.
 *
 * A request also waits before the worker sees it: in its socket, while the event loop works
 * through what arrived before it. That wait is the loop's lag (observeLoopLag, sampled by the
 * caller's timer), and it is added to the estimate: under a flood of arrivals it is what
 * grows first, while the requests in flight stay few.
 *
 * The throughput is measured, not configured: completions divided by the time the worker
 * had work (idle time would make a lightly loaded worker look slow), over windows of
 * WINDOW_BUSY_MS, smoothed by a moving average. It counts every completion, failed or not:
 * a failure held its place in line too. Pure state: the caller passes the time in.
 */

/** The part of a request's budget its expected wait may take. */
export const TARGET_FRACTION = 0.25;
/** Below this many requests in flight, a request is always admitted. */
export const MIN_IN_FLIGHT = 4;
/** Busy time over which one throughput sample is taken. */
export const WINDOW_BUSY_MS = 100;
/** Weight of the newest sample in the moving average. */
const RATE_EWMA_WEIGHT = 0.3;
/** Weight of the newest lag sample: a few samples follow a change. */
const LAG_EWMA_WEIGHT = 0.5;
/** How often the caller should sample the loop's lag. */
export const LOOP_LAG_SAMPLE_MS = 20;

export class AdmissionControl {
  private inFlight = 0;
  private lastEventMs = 0;
  private windowBusyMs = 0;
  private windowCompletions = 0;
  /** Requests completed per busy millisecond; undefined until the first window closes. */
  private ratePerMs: number | undefined;
  /** The event loop's recent lag, ms (smoothed). */
  private loopLagMs = 0;

  /** Requests admitted and not finished. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** The measured throughput in requests per second of busy time (undefined: not measured yet). */
  get throughputPerSecond(): number | undefined {
    return this.ratePerMs === undefined ? undefined : this.ratePerMs * 1000;
  }

  /** The time a request arriving now can expect to spend in the worker, in ms (0: no estimate). */
  expectedLatencyMs(): number {
    return this.loopLagMs + (this.ratePerMs === undefined ? 0 : (this.inFlight + 1) / this.ratePerMs);
  }

  /** A sample of how late the event loop ran a timer, ms; averaged with the samples before. */
  observeLoopLag(lagMs: number): void {
    if (!(lagMs >= 0) || !Number.isFinite(lagMs)) return;
    this.loopLagMs += LAG_EWMA_WEIGHT * (lagMs - this.loopLagMs);
  }

  /**
   * Whether a request with `budgetMs` left should be admitted. Admitting is a separate step
   * (`started`), so a request refused for another reason never counts.
   */
  admits(budgetMs: number): boolean {
    if (this.inFlight < MIN_IN_FLIGHT) return true;
    return this.expectedLatencyMs() <= budgetMs * TARGET_FRACTION;
  }

  started(nowMs: number): void {
    this.advance(nowMs);
    this.inFlight++;
  }

  finished(nowMs: number): void {
    this.advance(nowMs);
    if (this.inFlight > 0) this.inFlight--;
    this.windowCompletions++;
    if (this.windowBusyMs >= WINDOW_BUSY_MS) {
      const sample = this.windowCompletions / this.windowBusyMs;
      this.ratePerMs = this.ratePerMs === undefined ? sample : this.ratePerMs + RATE_EWMA_WEIGHT * (sample - this.ratePerMs);
      this.windowBusyMs = 0;
      this.windowCompletions = 0;
    }
  }

  /** Counts the time since the last event as busy when requests were in flight. */
  private advance(nowMs: number): void {
    if (this.inFlight > 0 && nowMs > this.lastEventMs) this.windowBusyMs += nowMs - this.lastEventMs;
    this.lastEventMs = nowMs;
  }
}
