/**
 * The server side of a measurement, from Triton's statistics extension: the difference of
 * two snapshots of a model's cumulative counters gives the requests the server finished
 * in between and the average time each spent queued and in compute input / infer / output
 * (perf_analyzer's Server Queue and Server Compute columns).
 */
import type { ModelStatistics, StatisticDuration } from '../client';

export interface ServerSplit {
  /** Successful requests the server finished in the interval. */
  successCount: number;
  failCount: number;
  /** Samples inferred (requests × batch size). */
  inferenceCount: number;
  /** Model executions (batches). */
  executionCount: number;
  /** Average per request, µs. */
  queueUs: number;
  computeInputUs: number;
  computeInferUs: number;
  computeOutputUs: number;
}

/** The counters perf reads, summed over the versions the statistics list (normally one). */
export interface StatsSnapshot {
  success: StatisticDuration;
  fail: StatisticDuration;
  queue: StatisticDuration;
  computeInput: StatisticDuration;
  computeInfer: StatisticDuration;
  computeOutput: StatisticDuration;
  inferenceCount: number;
  executionCount: number;
}

const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
const plus = (a: StatisticDuration, b: StatisticDuration | undefined): StatisticDuration => ({ count: a.count + (b?.count ?? 0), ns: a.ns + (b?.ns ?? 0) });

export function statsSnapshot(models: readonly ModelStatistics[]): StatsSnapshot {
  const s: StatsSnapshot = {
    success: zero(),
    fail: zero(),
    queue: zero(),
    computeInput: zero(),
    computeInfer: zero(),
    computeOutput: zero(),
    inferenceCount: 0,
    executionCount: 0,
  };
  for (const m of models) {
    const i = m.inference_stats;
    s.success = plus(s.success, i.success);
    s.fail = plus(s.fail, i.fail);
    s.queue = plus(s.queue, i.queue);
    s.computeInput = plus(s.computeInput, i.compute_input);
    s.computeInfer = plus(s.computeInfer, i.compute_infer);
    s.computeOutput = plus(s.computeOutput, i.compute_output);
    s.inferenceCount += m.inference_count ?? 0;
    s.executionCount += m.execution_count ?? 0;
  }
  return s;
}

function averageUs(before: StatisticDuration, after: StatisticDuration): number {
  const count = after.count - before.count;
  return count > 0 ? (after.ns - before.ns) / count / 1000 : 0;
}

export function serverSplit(before: StatsSnapshot, after: StatsSnapshot): ServerSplit {
  return {
    successCount: after.success.count - before.success.count,
    failCount: after.fail.count - before.fail.count,
    inferenceCount: after.inferenceCount - before.inferenceCount,
    executionCount: after.executionCount - before.executionCount,
    queueUs: averageUs(before.queue, after.queue),
    computeInputUs: averageUs(before.computeInput, after.computeInput),
    computeInferUs: averageUs(before.computeInfer, after.computeInfer),
    computeOutputUs: averageUs(before.computeOutput, after.computeOutput),
  };
}
