/**
 * The primary's view of the front end's metrics: each worker's registry values, asked for over
 * the cluster channel at scrape time and added up by prom-client's aggregation (counters and
 * histograms summed, the in-flight gauge summed), plus the primary's own counters (worker and
 * engine restarts).
 *
 * A worker that leaves on purpose (retired at --max-requests-per-worker, or drained) sends its
 * last values as it goes, and the primary keeps their counters and histograms in `departed`:
 * the cluster's totals never step back when a worker is replaced, which Prometheus would read
 * as a counter reset. A worker that dies takes what it counted since the last scrape with it.
 */
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { MetricsSnapshot } from './score-metrics';

/** How long a scrape waits for a worker's values; one that is late is left out of that scrape. */
export const WORKER_METRICS_TIMEOUT_MS = 1_000;

/** Asks one worker for its values; resolves undefined when it does not answer in time. */
export type WorkerMetricsRequest = () => Promise<MetricsSnapshot | undefined>;

export class ClusterMetrics {
  private readonly own = new Registry();
  private readonly workerRestarts: Counter;
  private readonly engineRestarts: Counter;
  /** The counters and histograms of workers that have left, added up. */
  private departed: MetricsSnapshot = [];

  constructor() {
    this.workerRestarts = new Counter({
      name: 'scoreline_worker_restarts_total',
      help: 'Workers started again after one died (not counting replacements at --max-requests-per-worker)',
      registers: [this.own],
    });
    this.engineRestarts = new Counter({
      name: 'scoreline_engine_restarts_total',
      help: 'Times the embedded engine was started again after it died',
      registers: [this.own],
    });
  }

  workerRestarted(): void {
    this.workerRestarts.inc();
  }

  engineRestarted(): void {
    this.engineRestarts.inc();
  }

  /** A worker's last values, sent as it exits on purpose. Its gauges end with it. */
  async workerDeparted(snapshot: MetricsSnapshot): Promise<void> {
    // At run time `type` is the exposition's word ('gauge'); prom-client's types declare an enum.
    const lasting = snapshot.filter((metric) => (metric.type as unknown as string) !== 'gauge');
    this.departed = (await AggregatorRegistry.aggregate([this.departed, lasting]).getMetricsAsJSON()) as MetricsSnapshot;
  }

  /** The front end's exposition text: every live worker that answered, those departed, and the primary's own. */
  async scrape(workers: readonly WorkerMetricsRequest[]): Promise<string> {
    const answers = await Promise.all(workers.map((ask) => ask()));
    const snapshots = answers.filter((answer): answer is MetricsSnapshot => answer !== undefined);
    const own = (await this.own.getMetricsAsJSON()) as MetricsSnapshot;
    return AggregatorRegistry.aggregate([...snapshots, this.departed, own]).metrics();
  }
}
