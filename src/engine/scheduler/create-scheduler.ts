/**
 * The scheduler factory the engine calls once per loaded model version.
 *
 * One loop serves both of Triton's cases: with `dynamicBatching` the former batches;
 * without it (or with max_batch_size 0) every request is a batch of its own, FIFO, still
 * limited to instanceCount concurrent runs (Triton's default scheduling). A model with
 * sequence_batching gets the sequence batcher instead (Triton's SequenceBatchScheduler).
 */
import type { Clock } from '../../util/monotonic-clock';
import { DynamicBatchScheduler } from './dynamic-batch-scheduler';
import { SequenceBatchScheduler } from './sequence-batch-scheduler';
import type { RunBatch, Scheduler, SchedulerOptions } from './scheduler-types';

/** Throws ModelConfigError when the options are inconsistent (names the model and field). */
export function createScheduler<P, R>(options: SchedulerOptions, run: RunBatch<P, R>, clock?: Clock): Scheduler<P, R> {
  if (options.sequenceBatching) return new SequenceBatchScheduler<P, R>(options, run, clock);
  return new DynamicBatchScheduler<P, R>(options, run, clock);
}
