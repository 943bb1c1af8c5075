/**
 * A worker's Prometheus instruments for /score (prom-client), in the worker's own registry.
 * Nothing is served from the worker: the primary asks each worker for its registry's values
 * over the cluster channel at scrape time and adds them up (cluster-metrics.ts), so one scrape
 * of serve's metrics port shows the whole server. Names start `scoreline_` and carry their
 * unit (docs/observability.md, "Metrics").
 *
 * Per request the cost is a counter increment on a child cached per status code and two
 * histogram observations: prom-client's label lookup per call is what a cached child saves.
 */
import { Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** Seconds: from half a millisecond (an echo module) to a minute (a long run()). */
export const DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Why a /score request was refused before run(). */
export type RejectionReason = 'overloaded' | 'concurrency_limit';

export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export class ScoreMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'code'>;
  private readonly byCode = new Map<number, Counter.Internal>();
  private readonly requestDuration: Histogram;
  private readonly runDuration: Histogram;
  private readonly inFlight: Gauge;
  private readonly rejections: Counter<'reason'>;
  private readonly timeouts: Counter;
  private readonly cancellations: Counter;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'scoreline_score_requests_total',
      help: '/score requests answered, by HTTP status code (499: the client left before the answer was complete)',
      labelNames: ['code'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'scoreline_score_request_duration_seconds',
      help: '/score request duration in seconds, from arrival to the end of the response (every status)',
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.runDuration = new Histogram({
      name: 'scoreline_run_duration_seconds',
      help: "The score module's run() duration in seconds (run() calls that returned or threw)",
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    });
    this.inFlight = new Gauge({
      name: 'scoreline_score_requests_in_flight',
      help: '/score requests received and not yet answered',
      registers,
    });
    this.rejections = new Counter({
      name: 'scoreline_score_rejected_total',
      help: '/score requests refused before run() with 429: overloaded (admission control) or concurrency_limit (--max-concurrency)',
      labelNames: ['reason'],
      registers,
    });
    this.timeouts = new Counter({
      name: 'scoreline_score_timeouts_total',
      help: '/score requests answered 500 because run() passed its deadline (SCORING_TIMEOUT_MS or x-scoreline-timeout-ms)',
      registers,
    });
    this.cancellations = new Counter({
      name: 'scoreline_score_cancelled_total',
      help: '/score requests whose client closed the connection before the answer was complete',
      registers,
    });
    // Zero samples exist from the start, so rate() works from the first scrape.
    for (const reason of ['overloaded', 'concurrency_limit'] satisfies RejectionReason[]) this.rejections.inc({ reason }, 0);
  }

  requestStarted(): void {
    this.inFlight.inc();
  }

  /** `status` 499: the client left first. */
  requestFinished(status: number, seconds: number): void {
    this.inFlight.dec();
    let child = this.byCode.get(status);
    if (child === undefined) {
      child = this.requests.labels(String(status));
      this.byCode.set(status, child);
    }
    child.inc();
    this.requestDuration.observe(seconds);
    if (status === 499) this.cancellations.inc();
  }

  runFinished(seconds: number): void {
    this.runDuration.observe(seconds);
  }

  rejected(reason: RejectionReason): void {
    this.rejections.inc({ reason });
  }

  timedOut(): void {
    this.timeouts.inc();
  }

  /** The values the primary adds up. */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON() as Promise<MetricsSnapshot>;
  }
}
