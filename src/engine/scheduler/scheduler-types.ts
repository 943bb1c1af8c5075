/**
 * The scheduler's contract with the engine. A scheduler owns one model's request queue
 * and its instances' turns: it takes decoded requests (`payload`, opaque to it), forms
 * batches, and hands each batch to a run callback for one instance. It never imports a
 * backend or HTTP code; the engine supplies `RunBatch` (as Triton core's schedulers get
 * a model instance to run on).
 *
 * Option field names under `dynamicBatching` copy Triton's model_config (snake_case), so
 * the engine passes its parsed `dynamic_batching` message straight through.
 */

import type { SequenceBatchingConfig, SequenceFlags, SequenceStep } from './sequence-types';
import type { SequenceCounts } from './sequence-slots';

/** A request as the scheduler sees it. */
export interface ScheduledRequest<P> {
  /** The engine's decoded request; never inspected here. */
  payload: P;
  /** Rows this request contributes to a batch (1 when the model does not batch). */
  batchSize: number;
  /** Requests with different keys never share a batch (their non-batch dims differ). */
  shapeKey: string;
  /** 1 is the highest (Triton); 0, undefined or out of range → default_priority_level. */
  priority?: number;
  /** Per-request queue timeout; honoured where the level's policy allows it (see QueuePolicy.allow_timeout_override). */
  timeoutMicroseconds?: number;
  /**
   * Whether the caller has gone (HTTP: its connection closed; gRPC: it cancelled). Polled,
   * not listened to: a listener per request is a measurable cost on the hot path. A
   * cancelled request never joins a batch; it fails with RequestCancelledError.
   */
  isCancelled?: () => boolean;
  /** Its sequence (sequence_id, sequence_start, sequence_end); required by a sequence batcher. */
  sequence?: SequenceFlags;
}

/** One request of a batch as the run callback gets it. */
export interface BatchItem<P> {
  payload: P;
  /** `Clock.nowNs()` when the request entered the queue. */
  enqueuedAtNs: bigint;
  /** `Clock.nowNs()` when its batch left the queue (queue time = dequeued - enqueued). */
  dequeuedAtNs: bigint;
  /** Under a sequence batcher: the request's sequence, its slot and flags. */
  sequence?: SequenceStep;
}

/**
 * Runs one batch on one instance (0-based) and returns one result per item, in order; an
 * item whose result is an `Error` fails alone. If it throws or rejects, every item of the
 * batch fails with that error. The scheduler calls it at most once at a time per instance,
 * or, with `stageAhead`, at most twice: a staged batch is handed over while the previous one
 * still runs, and the backend must run an instance's batches in the order it got them.
 */
export type RunBatch<P, R> = (instance: number, items: BatchItem<P>[]) => Promise<Array<R | Error>>;

/**
 * What a sequence batcher reports of its sequences (statistics and metrics read it): the
 * counts since load (released by why: END ran, idle too long, or END dropped with its caller
 * gone), and the sequences now.
 */
export interface SequenceStats extends SequenceCounts {
  /** Sequences holding a slot (and their state). */
  active: number;
  /** Sequences waiting for a slot. */
  backlog: number;
}

export interface Scheduler<P, R> {
  /**
   * Queues a request; resolves with its result. Rejects with QueueFullError (the
   * priority level's max_queue_size is reached: nothing is queued), DeadlineUnreachableError
   * (the work queued ahead outlasts its timeout: nothing is queued), QueueTimeoutError
   * (REJECT policy timeout while queued), RequestCancelledError (its caller went away), InvalidArgumentError (batchSize out of range),
   * the run's error, or the error given to close().
   */
  enqueue(req: ScheduledRequest<P>): Promise<R>;
  /**
   * The backend's own measure of a batch: `rows` rows kept an instance busy `durationUs`.
   * Feeds the wait estimate behind shedding (batch-former.ts). Once a backend reports, the
   * scheduler stops estimating from its own clock (hand-over to settle, which also counts
   * how late a loaded I/O thread hears that a batch ended).
   */
  observeExecution(rows: number, durationUs: number): void;
  /** Requests waiting in the queue. */
  readonly queuedCount: number;
  /** The sequence batcher's counts; absent for the other schedulers. */
  readonly sequenceStats?: SequenceStats;
  /** Requests taken from the queue whose results are not delivered yet. */
  readonly inFlightCount: number;
  /**
   * Of those, the requests in batches staged at a busy instance (stageAhead), waiting for the
   * batch before them. (The instance starts a staged batch as soon as the one before ends;
   * this count drops when this thread hears that it did.)
   */
  readonly stagedCount: number;
  /**
   * Resolves when nothing is queued or running. It does not stop new requests: a caller
   * that unloads a model stops routing to it first (or uses close()).
   */
  drain(): Promise<void>;
  /**
   * Rejects everything still queued with `error` and every later enqueue with it too;
   * batches already running finish and deliver. Resolves once they have.
   */
  close(error: Error): Promise<void>;
}

/** Triton's ModelQueuePolicy.TimeoutAction. */
export type TimeoutAction = 'REJECT' | 'DELAY';

/** Triton's ModelQueuePolicy (one per priority level, or the default). */
export interface QueuePolicy {
  /** Default REJECT. DELAY: the request stays queued behind every unexpired one of its level. */
  timeout_action?: TimeoutAction;
  /** 0 (default) = no timeout. */
  default_timeout_microseconds?: number;
  /**
   * Lets a request shorten its timeout (or set one where the default is none); never lengthen
   * it. A model with no queue policy at all behaves as if this were true (Triton: false),
   * so a caller's deadline counts by default; in a policy given, unset means false.
   */
  allow_timeout_override?: boolean;
  /** 0 (default) = unbounded; counts the level's queued requests, delayed ones included. */
  max_queue_size?: number;
}

/** Triton's ModelDynamicBatching. */
export interface DynamicBatchingConfig {
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number;
  preserve_ordering?: boolean;
  /** 0 (default) = one level. Otherwise levels 1..N, 1 served first. */
  priority_levels?: number;
  /** Required in [1, priority_levels] when priority_levels > 0. */
  default_priority_level?: number;
  default_queue_policy?: QueuePolicy;
  /** Keyed by level; protobuf JSON gives string keys, which index the same way. */
  priority_queue_policy?: Record<number, QueuePolicy>;
}

export interface SchedulerOptions {
  /** Named in error messages. */
  modelName: string;
  /** Model instances (sum of instance_group counts); at most this many batches run at once. */
  instanceCount: number;
  /** Triton's max_batch_size: 0 = the model does not batch (each request runs alone). */
  maxBatchSize: number;
  /** Absent: each request runs alone, FIFO (Triton without dynamic_batching). */
  dynamicBatching?: DynamicBatchingConfig;
  /**
   * When every instance is busy, hand a busy instance its next batch before the running one
   * ends, so the instance starts it without waiting for this thread to hear that it is free
   * (on a loaded I/O thread that round trip left the model idle a measurable share of the
   * time: bench/README.md, "Measurements behind design choices").
   * A batch is staged only when it is ready to go and holds at least as many rows as the
   * batch running there: staging never trades a big batch for a small one. At most one
   * batch is staged per instance. Default false: the backend must accept a second batch
   * per instance (RunBatch).
   */
  stageAhead?: boolean;
  /**
   * Triton's sequence batcher instead of the dynamic one (sequence-batch-scheduler.ts):
   * requests must carry `sequence`; batches carry each item's SequenceStep.
   */
  sequenceBatching?: SequenceBatchingConfig;
  /** Sequence batcher: a sequence's slot is released (END ran, idle, dropped, closed): free its state. */
  onSequenceReleased?: (key: number) => void;
}
