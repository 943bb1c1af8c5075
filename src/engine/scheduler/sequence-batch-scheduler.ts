/**
 * Triton's sequence batcher as a Scheduler: the async loop (promises, instance turns, one
 * timer) around SequenceSlots, which makes every decision. Like the dynamic batcher it
 * never sees the backend: batches go to the RunBatch callback, each item with its
 * SequenceStep (sequence key, slot, START/END) so the engine can fill control inputs and
 * keep the implicit state; released sequences are reported through onSequenceReleased.
 *
 * Ownership and ordering: an instance runs one batch at a time (no staging ahead: a
 * sequence's next request needs the state its previous one writes, and the batch it could
 * join is only known once that has finished). A batch settling marks its sequences ready,
 * reports releases, then pumps. The timer wakes the loop for a queue delay or an idle expiry;
 * it is unref'd, so an idle sequence never keeps the process alive.
 */
import { InferenceError, InvalidArgumentError, ModelConfigError, RequestCancelledError } from '../../errors';
import { nsToUs, systemClock, type Clock } from '../../util/monotonic-clock';
import type { BatchItem, RunBatch, ScheduledRequest, Scheduler, SchedulerOptions, SequenceStats } from './scheduler-types';
import { SequenceSlots } from './sequence-slots';
import { namesSequence, type SequenceStep } from './sequence-types';

interface Pending<P, R> {
  readonly payload: P;
  readonly enqueuedAtNs: bigint;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
}

/** Triton's SEQUENCE_IDLE_DEFAULT_MICROSECONDS. */
const DEFAULT_IDLE_US = 1_000_000;

export class SequenceBatchScheduler<P, R> implements Scheduler<P, R> {
  private readonly modelName: string;
  private readonly slots: SequenceSlots<Pending<P, R>>;
  private readonly busy: boolean[];
  private readonly onReleased: (key: number) => void;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueUs = Infinity;
  private immediate: NodeJS.Immediate | undefined;
  private closedWith: Error | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(
    options: SchedulerOptions,
    private readonly run: RunBatch<P, R>,
    private readonly clock: Clock = systemClock,
  ) {
    const { instanceCount, modelName, maxBatchSize } = options;
    const config = options.sequenceBatching!;
    if (!Number.isInteger(instanceCount) || instanceCount < 1) {
      throw new ModelConfigError(`model '${modelName}': instance count must be a positive integer, got ${instanceCount}`);
    }
    this.modelName = modelName;
    const maxBatch = Math.max(1, maxBatchSize);
    const oldest = config.oldest;
    const candidates = oldest?.max_candidate_sequences ?? 0;
    this.slots = new SequenceSlots({
      modelName,
      instanceCount,
      maxBatch,
      strategy: oldest ? 'oldest' : 'direct',
      slotsPerInstance: oldest && candidates > 0 ? candidates : maxBatch,
      idleUs: config.max_sequence_idle_microseconds || DEFAULT_IDLE_US,
      maxQueueDelayUs: (oldest ? oldest.max_queue_delay_microseconds : config.direct?.max_queue_delay_microseconds) ?? 0,
      minimumSlotUtilization: config.direct?.minimum_slot_utilization ?? 0,
      preferredBatchSizes: oldest?.preferred_batch_size ?? [],
    });
    this.busy = Array.from({ length: instanceCount }, () => false);
    this.onReleased = options.onSequenceReleased ?? (() => {});
  }

  /** The run's own measure feeds no estimate here: sequence requests are not shed by deadline. */
  observeExecution(): void {}

  get queuedCount(): number {
    return this.slots.queuedCount;
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  get stagedCount(): number {
    return 0;
  }

  /** Sequences holding a slot or waiting for one. */
  get sequenceCount(): number {
    return this.slots.sequenceCount;
  }

  get sequenceStats(): SequenceStats {
    const { started, released } = this.slots.sequenceCounts;
    return { active: this.slots.activeCount, backlog: this.slots.backlogCount, started, released };
  }

  enqueue(req: ScheduledRequest<P>): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const sequence = req.sequence;
    if (!sequence || !namesSequence(sequence.id)) {
      return Promise.reject(
        new InvalidArgumentError(`inference request to model '${this.modelName}' must specify a non-zero or non-empty correlation ID`),
      );
    }
    if (req.batchSize !== 1) {
      return Promise.reject(
        new InvalidArgumentError(`inference request to model '${this.modelName}' must specify batch-size 1 due to requirements of sequence batcher`),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const enqueuedAtNs = this.clock.nowNs();
      this.slots.enqueue({ payload: req.payload, enqueuedAtNs, resolve, reject }, sequence, nsToUs(enqueuedAtNs), req.shapeKey, req.isCancelled);
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
      this.clearTimer();
      if (this.immediate) clearImmediate(this.immediate);
      this.immediate = undefined;
      const { items, released } = this.slots.removeAll();
      for (const pending of items) pending.reject(error);
      this.report(released);
      this.notifyIfIdle();
    }
    return this.drain();
  }

  private pump(): void {
    if (this.closedWith) return;
    const nowUs = nsToUs(this.clock.nowNs());
    const idle = this.busy.flatMap((b, i) => (b ? [] : [i]));
    const decision = this.slots.poll(nowUs, idle);
    for (const pending of decision.cancelled) pending.reject(new RequestCancelledError());
    this.report(decision.released);
    for (const { instance, steps } of decision.batches) {
      this.dispatch(
        instance,
        steps.map((s) => s.item),
        steps.map((s) => s.step),
      );
    }
    this.armTimer(decision.waitUs);
    this.notifyIfIdle();
  }

  private dispatch(instance: number, batch: Pending<P, R>[], steps: SequenceStep[]): void {
    const dequeuedAtNs = this.clock.nowNs();
    this.busy[instance] = true;
    this.inFlight += batch.length;
    const items: BatchItem<P>[] = batch.map((p, i) => ({ payload: p.payload, enqueuedAtNs: p.enqueuedAtNs, dequeuedAtNs, sequence: steps[i] }));
    void this.invoke(instance, items).then((outcome) => {
      this.busy[instance] = false;
      this.report(this.slots.complete(steps, nsToUs(this.clock.nowNs())));
      for (let i = 0; i < batch.length; i++) {
        const result = outcome instanceof Error ? outcome : outcome[i];
        if (result instanceof Error) batch[i]!.reject(result);
        else batch[i]!.resolve(result as R);
      }
      this.inFlight -= batch.length;
      this.pump();
    });
  }

  /** Never rejects: a throw, a rejection or a malformed result becomes the batch's error. */
  private async invoke(instance: number, items: BatchItem<P>[]): Promise<Array<R | Error> | Error> {
    try {
      const results = await this.run(instance, items);
      if (!Array.isArray(results) || results.length !== items.length) {
        return new InferenceError(`model '${this.modelName}': run returned ${Array.isArray(results) ? results.length : typeof results} results for a batch of ${items.length} requests`);
      }
      return results;
    } catch (err) {
      return err instanceof Error ? err : new InferenceError(`model '${this.modelName}': ${String(err)}`, { cause: err });
    }
  }

  private report(released: readonly number[]): void {
    for (const key of released) this.onReleased(key);
  }

  private armTimer(waitUs: number | undefined): void {
    if (waitUs === undefined) {
      this.clearTimer();
      return;
    }
    const dueUs = nsToUs(this.clock.nowNs()) + waitUs;
    if (this.timer && this.timerDueUs <= dueUs) return;
    this.clearTimer();
    this.timerDueUs = dueUs;
    // Millisecond timers: rounded up, so the loop rarely wakes before the deadline.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDueUs = Infinity;
      this.pump();
    }, Math.max(1, Math.ceil(waitUs / 1000)));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueUs = Infinity;
  }

  private isIdle(): boolean {
    return this.slots.queuedCount === 0 && this.inFlight === 0;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle() || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
