/**
 * The async loop around BatchFormer: it owns the promises, the instances' turns and at
 * most one timer; every batching decision is the former's.
 *
 * Ownership and ordering:
 * - `idle` holds the instances with no batch running; a batch takes one and gives it back
 *   when run() settles, so at most instanceCount batches run and each instance runs one
 *   at a time.
 * - With stageAhead, when no instance is idle, a busy instance may also hold one staged
 *   batch (the former's stage() rule: ready, and at least as big as the one running). The
 *   instance's `lane` remembers the rows of each batch it holds, oldest first; when the
 *   oldest settles the staged one is running, and the instance becomes idle only when its
 *   lane is empty.
 * - The loop wakes (pump) on: enqueue (coalesced into one setImmediate, so requests that
 *   arrive in the same event-loop turn, e.g. several sockets read in one poll phase, can
 *   share a batch), a batch settling (an instance is free), and the timer the former
 *   asked for (a max_queue_delay or a queue timeout expiring).
 * - A batch settling frees its instance before its results are delivered. With
 *   preserve_ordering, deliveries are chained in dispatch order: a batch's results wait
 *   for every earlier batch's.
 * - `inFlight` counts requests dispatched and not yet delivered; drain() and close()
 *   resolve when it and the queue are both zero.
 */
import { InferenceError, ModelConfigError, QueueTimeoutError, RequestCancelledError } from '../../errors';
import { BatchFormer } from './batch-former';
import { nsToUs, systemClock, type Clock } from '../../util/monotonic-clock';
import type { BatchItem, RunBatch, ScheduledRequest, Scheduler, SchedulerOptions } from './scheduler-types';

interface Pending<P, R> {
  readonly payload: P;
  readonly rows: number;
  readonly enqueuedAtNs: bigint;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

/** A settled run: one outcome per item, or one error for the whole batch. */
type Outcome<R> = Array<R | Error> | Error;

export class DynamicBatchScheduler<P, R> implements Scheduler<P, R> {
  private readonly modelName: string;
  private readonly former: BatchFormer<Pending<P, R>>;
  private readonly preserveOrdering: boolean;
  /** Free instances; popped from the end, so the most recently used (warmest) goes first. */
  private readonly idle: number[];
  private readonly stageAhead: boolean;
  /** Per instance: the batches handed to it and not settled, in hand-over order. */
  private readonly lanes: Array<Array<{ rows: number; requests: number }>>;
  /** Per instance: when its running batch was handed over (or became the running one). */
  private readonly handedAt: bigint[];
  private inFlight = 0;
  /** Set once the backend reports its batches' run times (observeExecution). */
  private backendObserves = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDueUs = Infinity;
  private immediate: NodeJS.Immediate | undefined;
  private closedWith: Error | undefined;
  private drainWaiters: Array<() => void> = [];
  /** With preserve_ordering: settles when the last dispatched batch has delivered. */
  private deliveryTail: Promise<void> = Promise.resolve();

  constructor(
    options: SchedulerOptions,
    private readonly run: RunBatch<P, R>,
    private readonly clock: Clock = systemClock,
  ) {
    const { instanceCount, modelName } = options;
    if (!Number.isInteger(instanceCount) || instanceCount < 1) {
      throw new ModelConfigError(`model '${modelName}': instance count must be a positive integer, got ${instanceCount}`);
    }
    this.modelName = modelName;
    this.former = new BatchFormer({ ...options, instanceCount });
    this.preserveOrdering = options.dynamicBatching?.preserve_ordering ?? false;
    this.idle = Array.from({ length: instanceCount }, (_, i) => instanceCount - 1 - i);
    this.stageAhead = options.stageAhead ?? false;
    this.lanes = Array.from({ length: instanceCount }, () => []);
    this.handedAt = Array.from({ length: instanceCount }, () => 0n);
  }

  observeExecution(rows: number, durationUs: number): void {
    this.backendObserves = true;
    this.former.observeExecution(rows, durationUs);
  }

  get queuedCount(): number {
    return this.former.size;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  get stagedCount(): number {
    let staged = 0;
    for (const lane of this.lanes) for (let i = 1; i < lane.length; i++) staged += lane[i]!.requests;
    return staged;
  }

  enqueue(req: ScheduledRequest<P>): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    // A throw inside the executor (queue full, bad batch size) becomes the rejection.
    return new Promise<R>((resolve, reject) => {
      const enqueuedAtNs = this.clock.nowNs();
      this.former.enqueue(
        {
          item: { payload: req.payload, rows: req.batchSize, enqueuedAtNs, resolve, reject },
          batchSize: req.batchSize,
          shapeKey: req.shapeKey,
          priority: req.priority,
          timeoutMicroseconds: req.timeoutMicroseconds,
          isCancelled: req.isCancelled,
        },
        nsToUs(enqueuedAtNs),
      );
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        this.pump();
      });
    });
  }

  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(error: Error): Promise<void> {
    if (!this.closedWith) {
      this.closedWith = error;
      this.stopTimers();
      for (const pending of this.former.removeAll()) pending.reject(error);
      this.notifyIfIdle();
    }
    return this.drain();
  }

  /** Applies timeouts, starts every batch the former allows on the idle instances, re-arms the timer. */
  private pump(): void {
    if (this.closedWith) return;
    const nowUs = nsToUs(this.clock.nowNs());
    for (;;) {
      const decision = this.former.poll(nowUs, this.idle.length);
      for (const pending of decision.timedOut) pending.reject(new QueueTimeoutError());
      this.rejectCancelled(decision.cancelled);
      if (decision.batch && !this.closedWith) {
        this.dispatch(this.idle.pop()!, decision.batch);
        continue;
      }
      if (this.idle.length === 0 && this.stageAhead && this.stageOne(nowUs)) continue;
      this.armTimer(nowUs, decision.waitUs);
      break;
    }
    this.notifyIfIdle();
  }

  /**
   * Stages a batch at the busy instance with one batch and the earliest hand-over (likely
   * the first to finish), when the former has one for it. Returns whether it did.
   */
  private stageOne(nowUs: number): boolean {
    let candidate = -1;
    for (let i = 0; i < this.lanes.length; i++) {
      if (this.lanes[i]!.length === 1 && (candidate === -1 || this.handedAt[i]! < this.handedAt[candidate]!)) candidate = i;
    }
    if (candidate === -1 || this.closedWith) return false;
    const { batch, cancelled } = this.former.stage(nowUs, this.lanes[candidate]![0]!.rows);
    this.rejectCancelled(cancelled);
    if (batch === undefined) return false;
    this.dispatch(candidate, batch);
    return true;
  }

  private rejectCancelled(cancelled: readonly Pending<P, R>[]): void {
    for (const pending of cancelled) pending.reject(new RequestCancelledError());
  }

  private dispatch(instance: number, batch: Pending<P, R>[]): void {
    const dequeuedAtNs = this.clock.nowNs();
    this.inFlight += batch.length;
    const items: BatchItem<P>[] = batch.map((p) => ({ payload: p.payload, enqueuedAtNs: p.enqueuedAtNs, dequeuedAtNs }));
    const lane = this.lanes[instance]!;
    if (lane.length === 0) this.handedAt[instance] = dequeuedAtNs;
    lane.push({ rows: batch.reduce((rows, pending) => rows + pending.rows, 0), requests: batch.length });
    const settled = this.invoke(instance, items);
    void settled.then(() => {
      // Without the backend's measure: the instance's time on this batch, from hand-over (or
      // from the end of the batch before it when it was staged: handedAt moves then) to now.
      if (!this.backendObserves) this.former.observeExecution(lane[0]!.rows, nsToUs(this.clock.nowNs() - this.handedAt[instance]!));
      lane.shift();
      if (lane.length === 0) this.idle.push(instance);
      else this.handedAt[instance] = this.clock.nowNs();
      this.pump();
    });
    if (this.preserveOrdering) {
      const previous = this.deliveryTail;
      this.deliveryTail = Promise.all([settled, previous]).then(([outcome]) => this.deliver(batch, outcome));
    } else {
      void settled.then((outcome) => this.deliver(batch, outcome));
    }
  }

  /** Never rejects: a throw, a rejection or a malformed result becomes the batch's error. */
  private async invoke(instance: number, items: BatchItem<P>[]): Promise<Outcome<R>> {
    try {
      const results = await this.run(instance, items);
      if (!Array.isArray(results) || results.length !== items.length) {
        const got = Array.isArray(results) ? `${results.length} results` : typeof results;
        return new InferenceError(`model '${this.modelName}': run returned ${got} for a batch of ${items.length} requests`);
      }
      return results;
    } catch (err) {
      return err instanceof Error ? err : new InferenceError(`model '${this.modelName}': ${String(err)}`, { cause: err });
    }
  }

  private deliver(batch: Pending<P, R>[], outcome: Outcome<R>): void {
    for (let i = 0; i < batch.length; i++) {
      const result = outcome instanceof Error ? outcome : outcome[i];
      if (result instanceof Error) batch[i]!.reject(result);
      else batch[i]!.resolve(result as R);
    }
    this.inFlight -= batch.length;
    this.notifyIfIdle();
  }

  private armTimer(nowUs: number, waitUs: number | undefined): void {
    if (waitUs === undefined) {
      this.clearTimer();
      return;
    }
    const dueUs = nowUs + waitUs;
    // An earlier wake is harmless (the pump re-arms), so keep a timer that is due sooner.
    if (this.timer && this.timerDueUs <= dueUs) return;
    this.clearTimer();
    this.timerDueUs = dueUs;
    // setTimeout has millisecond resolution; round up so we rarely wake before the deadline.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueUs = Infinity;
      this.pump();
    }, Math.max(1, Math.ceil(waitUs / 1000)));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueUs = Infinity;
  }

  private stopTimers(): void {
    this.clearTimer();
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
  }

  private isIdle(): boolean {
    return this.former.size === 0 && this.inFlight === 0;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle() || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
