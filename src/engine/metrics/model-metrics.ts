/**
 * Triton's per-model inference metrics, read at scrape time from each loaded version's
 * statistics: nothing is counted twice, and a scrape sees exactly what /stats reports.
 * Names, HELP texts, types and label names copy Triton's; latencies are cumulative
 * microsecond counters (Triton's default `counter_latencies`), over successful requests,
 * and, with `summary_latencies`, summaries. Beyond Triton: scoreline_inference_batch_size, and scoreline_sequence_* for sequence models.
 */
import { FAILURE_REASONS, FailureReason, ModelStatsJson } from '../models/model-statistics';
import { batchSizeFamily } from './batch-size-histogram';
import type { LatencySummaries } from '../models/latency-summaries';
import type { MetricFamily, MetricSample, MetricType } from './prometheus-text';
import { summaryFamilies } from './summary-families';
import { sequenceFamilies } from './sequence-families';
import type { SequenceStats } from '../models/model-version';

/** What the metrics read from a loaded version (ModelVersion satisfies it). */
export interface MetricsModelVersion {
  readonly modelName: string;
  readonly version: number;
  /** Requests accepted by the version and not yet answered. */
  readonly pendingCount: number;
  /** The sequence batcher's counts; only versions with sequence_batching have them (scoreline_sequence_*). */
  readonly sequenceStats?: SequenceStats | undefined;
  /** Whether the version uses the response cache; only those get the nv_cache_* samples (as Triton). */
  readonly cacheEnabled?: boolean;
  /** max_batch_size bounds the batch-size histogram's buckets. */
  readonly config: { readonly max_batch_size: number };
  readonly stats: {
    toJSON(): ModelStatsJson;
    failureCounts(): Record<FailureReason, number>;
    readonly loadDurationSecs: number;
    /** Present only with --metrics-config summary_latencies=true. */
    readonly latencySummaries?: LatencySummaries | undefined;
  };
}

export interface ModelMetricsOptions {
  /** Triton's counter_latencies: false leaves out the *_duration_us counters and the per-model cache counters. */
  counterLatencies?: boolean;
}

interface Snapshot {
  labels: { model: string; version: string };
  json: ModelStatsJson;
  failures: Record<FailureReason, number>;
  pending: number;
  loadSecs: number;
  cacheEnabled: boolean;
  maxBatchSize: number;
  summaries: LatencySummaries | undefined;
  sequences: SequenceStats | undefined;
}

type Spec = [name: string, help: string, read: (s: Snapshot) => number];

const us = (ns: number): number => Math.round(ns / 1000);

const COUNTERS_AFTER_FAILURE: Spec[] = [
  ['nv_inference_count', 'Number of inferences performed (does not include cached requests)', (s) => s.json.inference_count],
  ['nv_inference_exec_count', 'Number of model executions performed (does not include cached requests)', (s) => s.json.execution_count],
  [
    'nv_inference_request_duration_us',
    'Cumulative inference request duration in microseconds (includes cached requests)',
    (s) => us(s.json.inference_stats.success.ns),
  ],
  [
    'nv_inference_queue_duration_us',
    'Cumulative inference queuing duration in microseconds (includes cached requests)',
    (s) => us(s.json.inference_stats.queue.ns),
  ],
  [
    'nv_inference_compute_input_duration_us',
    'Cumulative compute input duration in microseconds (does not include cached requests)',
    (s) => us(s.json.inference_stats.compute_input.ns),
  ],
  [
    'nv_inference_compute_infer_duration_us',
    'Cumulative compute inference duration in microseconds (does not include cached requests)',
    (s) => us(s.json.inference_stats.compute_infer.ns),
  ],
  [
    'nv_inference_compute_output_duration_us',
    'Cumulative inference compute output duration in microseconds (does not include cached requests)',
    (s) => us(s.json.inference_stats.compute_output.ns),
  ],
];

/** Triton's per-model cache families, in its order (after the load duration, as Triton registers them). */
const CACHE_COUNTERS: Spec[] = [
  ['nv_cache_num_hits_per_model', 'Number of cache hits per model', (s) => s.json.inference_stats.cache_hit.count],
  ['nv_cache_hit_duration_per_model', 'Total cache hit duration per model, in microseconds', (s) => us(s.json.inference_stats.cache_hit.ns)],
  ['nv_cache_num_misses_per_model', 'Number of cache misses per model', (s) => s.json.inference_stats.cache_miss.count],
  [
    'nv_cache_miss_duration_per_model',
    'Total cache miss (insert+lookup) duration per model, in microseconds',
    (s) => us(s.json.inference_stats.cache_miss.ns),
  ],
];

/** The families in Triton's order, one sample per loaded version (sorted by model, version). */
export function collectModelMetrics(versions: Iterable<MetricsModelVersion>, options: ModelMetricsOptions = {}): MetricFamily[] {
  const counterLatencies = options.counterLatencies ?? true;
  const snapshots: Snapshot[] = [...versions]
    .sort((a, b) => (a.modelName === b.modelName ? a.version - b.version : a.modelName < b.modelName ? -1 : 1))
    .map((v) => ({
      labels: { model: v.modelName, version: String(v.version) },
      json: v.stats.toJSON(),
      failures: v.stats.failureCounts(),
      pending: v.pendingCount,
      loadSecs: v.stats.loadDurationSecs,
      cacheEnabled: v.cacheEnabled === true,
      maxBatchSize: v.config.max_batch_size,
      summaries: v.stats.latencySummaries,
      sequences: v.sequenceStats,
    }));
  const family = (type: MetricType, [name, help, read]: Spec, of: Snapshot[] = snapshots): MetricFamily => ({
    name,
    help,
    type,
    samples: of.map((s) => ({ labels: s.labels, value: read(s) })),
  });
  // Triton creates the per-model cache families only for models that cache, to keep the output short.
  const caching = snapshots.filter((s) => s.cacheEnabled);
  const failureSamples: MetricSample[] = snapshots.flatMap((s) =>
    FAILURE_REASONS.map((reason) => ({
      labels: { model: s.labels.model, reason, version: s.labels.version },
      value: s.failures[reason],
    })),
  );
  return [
    family('counter', [
      'nv_inference_request_success',
      'Number of successful inference requests, all batch sizes',
      (s) => s.json.inference_stats.success.count,
    ]),
    { name: 'nv_inference_request_failure', help: 'Number of failed inference requests, all batch sizes', type: 'counter', samples: failureSamples },
    // Triton's counter_latencies=false drops the latency counters; the counts stay.
    ...COUNTERS_AFTER_FAILURE.filter(([name]) => counterLatencies || !name.endsWith('_duration_us')).map((spec) => family('counter', spec)),
    family('gauge', [
      'nv_inference_pending_request_count',
      'Instantaneous number of pending requests awaiting execution per-model.',
      (s) => s.pending,
    ]),
    family('gauge', ['nv_model_load_duration_secs', 'Model load time in seconds', (s) => s.loadSecs]),
    // Triton creates these in the same block as the latency counters.
    ...(counterLatencies ? CACHE_COUNTERS.map((spec) => family('counter', spec, caching)) : []),
    ...summaryFamilies(snapshots.flatMap((s) => (s.summaries ? [{ labels: s.labels, summaries: s.summaries }] : []))),
    batchSizeFamily(snapshots.map((s) => ({ labels: s.labels, maxBatchSize: s.maxBatchSize, json: s.json }))),
    ...sequenceFamilies(snapshots.flatMap((s) => (s.sequences ? [{ labels: s.labels, stats: s.sequences }] : []))),
  ];
}
