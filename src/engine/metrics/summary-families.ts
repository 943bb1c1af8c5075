/**
 * Triton's latency summary families (`--metrics-config summary_latencies=true`), with its
 * names and HELP texts: the compute ones say "Cumulative", as Triton's do (metrics.cc gives
 * them the counters' texts), so a tool matching Triton's output matches this one.
 */
import type { LatencySummaries, LatencySummaryKey } from '../models/latency-summaries';
import type { SummaryFamily, SummarySample } from './prometheus-text';

const FAMILIES: ReadonlyArray<[key: LatencySummaryKey, name: string, help: string]> = [
  ['request', 'nv_inference_request_summary_us', 'Summary of inference request duration in microseconds (includes cached requests)'],
  ['queue', 'nv_inference_queue_summary_us', 'Summary of inference queuing duration in microseconds (includes cached requests)'],
  ['compute_input', 'nv_inference_compute_input_summary_us', 'Cumulative compute input duration in microseconds (does not include cached requests)'],
  ['compute_infer', 'nv_inference_compute_infer_summary_us', 'Cumulative compute inference duration in microseconds (does not include cached requests)'],
  [
    'compute_output',
    'nv_inference_compute_output_summary_us',
    'Cumulative inference compute output duration in microseconds (does not include cached requests)',
  ],
  ['cache_hit', 'nv_cache_hit_summary_per_model', 'Summary of cache hit counts/durations per model, in microseconds.'],
  ['cache_miss', 'nv_cache_miss_summary_per_model', 'Summary of cache miss counts/durations per model, in microseconds.'],
];

export const SUMMARY_FAMILY_NAMES: readonly string[] = FAMILIES.map(([, name]) => name);

/**
 * One family per summary kind, a sample per version that has it. Values are whole
 * microseconds, as Triton's (its observations are ns / 1000 in integers); the sum rounds
 * the same way as the matching *_duration_us counter, so the two agree.
 */
export function summaryFamilies(versions: ReadonlyArray<{ labels: Readonly<Record<string, string>>; summaries: LatencySummaries }>): SummaryFamily[] {
  const byKey = new Map<LatencySummaryKey, SummarySample[]>(FAMILIES.map(([key]) => [key, []]));
  for (const v of versions) {
    for (const r of v.summaries.read()) {
      byKey.get(r.key)!.push({
        labels: v.labels,
        count: r.count,
        sum: Math.round(r.sum),
        quantiles: r.quantiles.map(([q, value]) => [q, Number.isNaN(value) ? value : Math.round(value)] as const),
      });
    }
  }
  return FAMILIES.map(([key, name, help]) => ({ name, help, type: 'summary', samples: byKey.get(key)! }));
}
