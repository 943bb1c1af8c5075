/**
 * scoreline_inference_batch_size: how many rows each execution of a model ran, as a
 * histogram per model and version. Triton publishes only the average (nv_inference_count /
 * nv_inference_exec_count), which cannot tell "always 4" from "half 1, half 7" — and that
 * difference is what tuning max_queue_delay_microseconds and preferred_batch_size is about.
 *
 * Read at scrape time from the statistics' batch_stats (executions per batch size, which
 * every execution already updates): it costs a request nothing.
 */
import type { ModelStatsJson } from '../models/model-statistics';
import type { HistogramFamily } from './prometheus-text';

export const BATCH_SIZE_METRIC = 'scoreline_inference_batch_size';

const HELP =
  'Batch size (rows) of each model execution. Use it to tune dynamic_batching: executions mostly below preferred_batch_size / max_batch_size under load mean batches leave before they fill (raise max_queue_delay_microseconds); full ones with queue time rising mean the delay can come down.';

/** Powers of two below max_batch_size, then max_batch_size itself; a model that does not batch has the one bucket 1. */
export function batchSizeBuckets(maxBatchSize: number): number[] {
  const bounds: number[] = [];
  for (let b = 1; b < maxBatchSize; b *= 2) bounds.push(b);
  bounds.push(Math.max(1, maxBatchSize));
  return bounds;
}

export function batchSizeFamily(
  versions: ReadonlyArray<{ labels: Readonly<Record<string, string>>; maxBatchSize: number; json: ModelStatsJson }>,
): HistogramFamily {
  return {
    name: BATCH_SIZE_METRIC,
    help: HELP,
    type: 'histogram',
    samples: versions.map(({ labels, maxBatchSize, json }) => {
      // batch_stats is sorted by batch size; each entry's compute_infer.count is its executions.
      const stats = json.batch_stats;
      let i = 0;
      let cumulative = 0;
      const buckets = batchSizeBuckets(maxBatchSize).map((le) => {
        while (i < stats.length && stats[i]!.batch_size <= le) cumulative += stats[i++]!.compute_infer.count;
        return [le, cumulative] as const;
      });
      return { labels, buckets, sum: json.inference_count, count: json.execution_count };
    }),
  };
}
