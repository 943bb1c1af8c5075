/**
 * Per model-version counters with the shape of Triton's statistics extension
 * (model_stats[].inference_stats / batch_stats). Durations are cumulative nanoseconds.
 * Updated on the I/O thread only, so plain numbers suffice.
 * The Prometheus metrics (engine/metrics) read these too, plus two things the statistics
 * extension does not carry: failures by reason and the load duration.
 */
import { isScorelineError } from '../../errors';
import { LatencySummaries, type LatencySummarySettings } from './latency-summaries';

/** Triton's `reason` label of nv_inference_request_failure. */
export const FAILURE_REASONS = ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * Triton's categories: REJECTED = turned away by the scheduler (queue timeout, queue full),
 * CANCELED = cancelled, BACKEND = the model's execution failed, OTHER = the rest (invalid
 * requests, unloading). Errors that are not the project's own come from the backend (an
 * onnxruntime or worker-thread failure), since every other layer throws registry errors.
 */
export function failureReasonOf(error: unknown): FailureReason {
  if (error === undefined || error === null) return 'OTHER';
  const name = (error as { name?: unknown }).name;
  if (name === 'AbortError') return 'CANCELED';
  if (!isScorelineError(error)) return 'BACKEND';
  switch (error.code) {
    case 'SCORELINE_CANCELLED':
      return 'CANCELED';
    case 'SCORELINE_QUEUE_FULL':
    case 'SCORELINE_QUEUE_TIMEOUT':
    case 'SCORELINE_DEADLINE_UNREACHABLE':
      return 'REJECTED';
    case 'SCORELINE_INFERENCE_FAILED':
      return 'BACKEND';
    default:
      return 'OTHER';
  }
}

export interface StatDuration {
  count: number;
  ns: number;
}

export interface InferenceStats {
  success: StatDuration;
  fail: StatDuration;
  queue: StatDuration;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
  cache_hit: StatDuration;
  cache_miss: StatDuration;
}

export interface BatchStat {
  batch_size: number;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
}

export interface ModelStatsJson {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferenceStats;
  batch_stats: BatchStat[];
}

const zero = (): StatDuration => ({ count: 0, ns: 0 });

export interface BatchTimings {
  batchSize: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

export class ModelStatistics {
  private lastInferenceMs = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly stats: InferenceStats = {
    success: zero(),
    fail: zero(),
    queue: zero(),
    compute_input: zero(),
    compute_infer: zero(),
    compute_output: zero(),
    cache_hit: zero(),
    cache_miss: zero(),
  };
  private readonly batches = new Map<number, BatchStat>();
  private readonly failures: Record<FailureReason, number> = { REJECTED: 0, CANCELED: 0, BACKEND: 0, OTHER: 0 };
  private loadSecs = 0;
  /** Only with --metrics-config summary_latencies=true; absent, recording costs one check. */
  private summaries: LatencySummaries | undefined;

  constructor(
    readonly modelName: string,
    readonly version: string,
  ) {}

  /** A request finished successfully: `totalNs` from arrival to response, `queueNs` waiting. */
  recordSuccess(totalNs: number, queueNs: number, timings: BatchTimings): void {
    add(this.stats.success, totalNs);
    add(this.stats.queue, queueNs);
    // Triton attributes a batch's compute time to each request in it.
    add(this.stats.compute_input, timings.computeInputNs);
    add(this.stats.compute_infer, timings.computeInferNs);
    add(this.stats.compute_output, timings.computeOutputNs);
    this.summaries?.observeSuccess(totalNs, queueNs, timings);
    this.lastInferenceMs = Date.now();
  }

  /**
   * A request answered from the response cache (Triton's UpdateSuccessCacheHit): a success,
   * with its duration and queue time, and a cache hit of `hitNs` (the lookup). No execution,
   * so inference_count, execution_count, the compute durations and last_inference (which
   * Triton moves with executions only) stay as they were.
   */
  recordCacheHit(totalNs: number, queueNs: number, hitNs: number): void {
    add(this.stats.success, totalNs);
    add(this.stats.queue, queueNs);
    add(this.stats.cache_hit, hitNs);
    this.summaries?.observeCacheHit(queueNs, hitNs);
  }

  /**
   * A request that missed the cache and whose response was then inserted (Triton's
   * UpdateSuccessCacheMiss): `missNs` is the lookup plus the insertion. Its success is
   * recorded by recordSuccess, whose duration already covers both.
   */
  recordCacheMiss(missNs: number): void {
    add(this.stats.cache_miss, missNs);
    this.summaries?.observeCacheMiss(missNs);
  }

  /** A request failed; `error` picks the metrics' failure reason (none given: OTHER). */
  recordFailure(totalNs: number, error?: unknown): void {
    add(this.stats.fail, totalNs);
    this.failures[failureReasonOf(error)] += 1;
    this.lastInferenceMs = Date.now();
  }

  /** One model execution of `timings.batchSize` rows (inference_count counts rows, as Triton). */
  recordExecution(timings: BatchTimings): void {
    this.executionCount += 1;
    this.inferenceCount += timings.batchSize;
    let b = this.batches.get(timings.batchSize);
    if (!b) {
      b = { batch_size: timings.batchSize, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.batches.set(timings.batchSize, b);
    }
    add(b.compute_input, timings.computeInputNs);
    add(b.compute_infer, timings.computeInferNs);
    add(b.compute_output, timings.computeOutputNs);
  }

  /** Failed requests by Triton's failure reason (they add up to inference_stats.fail.count). */
  failureCounts(): Record<FailureReason, number> {
    return { ...this.failures };
  }

  /**
   * Starts the latency summaries (set once by the model manager, before the version takes
   * requests); they begin empty, as Triton's, which creates them with the version.
   */
  enableLatencySummaries(settings: LatencySummarySettings): void {
    this.summaries ??= new LatencySummaries(settings);
  }

  /** The summaries, when enabled (engine/metrics renders them). */
  get latencySummaries(): LatencySummaries | undefined {
    return this.summaries;
  }

  /** Seconds it took to load this version (set once by the model manager). */
  recordLoadDuration(secs: number): void {
    this.loadSecs = secs;
  }

  get loadDurationSecs(): number {
    return this.loadSecs;
  }

  toJSON(): ModelStatsJson {
    const copy = (d: StatDuration): StatDuration => ({ count: d.count, ns: d.ns });
    const s = this.stats;
    return {
      name: this.modelName,
      version: this.version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: copy(s.success),
        fail: copy(s.fail),
        queue: copy(s.queue),
        compute_input: copy(s.compute_input),
        compute_infer: copy(s.compute_infer),
        compute_output: copy(s.compute_output),
        cache_hit: copy(s.cache_hit),
        cache_miss: copy(s.cache_miss),
      },
      batch_stats: [...this.batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => ({
          batch_size: b.batch_size,
          compute_input: copy(b.compute_input),
          compute_infer: copy(b.compute_infer),
          compute_output: copy(b.compute_output),
        })),
    };
  }
}

function add(d: StatDuration, ns: number): void {
  d.count += 1;
  d.ns += Math.max(0, Math.round(ns));
}
