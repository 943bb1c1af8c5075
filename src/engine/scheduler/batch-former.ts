/**
 * Batch forming for one model: the pure state behind the dynamic batcher. No timers, no
 * promises; time is a number of microseconds the caller passes in, so every rule is a
 * table test. The loop (dynamic-batch-scheduler.ts) owns one and calls:
 *
 *   enqueue(request, nowUs)       queue it, or throw QueueFullError / DeadlineUnreachableError /
 *                                 InvalidArgumentError
 *   poll(nowUs, idleInstances)    → { timedOut, cancelled, batch?, waitUs? }; again after each batch
 *   stage(nowUs, minRows)         → { batch?, cancelled } for a busy instance (after poll)
 *   observeExecution(rows, us)    a batch's run time, for the wait estimate
 *   removeAll()                   everything queued, in order (close)
 *
 * Rules (Triton's dynamic batcher and ModelQueuePolicy):
 * - Queue order: priority level 1 first; within a level, requests whose DELAY timeout has
 *   not expired (FIFO), then the expired ones (FIFO). A batch is a prefix of that order:
 *   a request never overtakes one ahead of it.
 * - A batch grows while the next request has the batch's shapeKey and its rows fit in
 *   max_batch_size. When the next one doesn't (or rows reach max), the batch can't grow:
 *   it goes now, since waiting can't make it bigger.
 * - Preferred sizes: if the prefix's rows hit a preferred size, the largest one hit goes
 *   now. If the next request would carry rows past the largest preferred size, the batch
 *   so far counts as preferred (it can never land on one by growing).
 * - Otherwise it waits until the oldest request in it has been queued
 *   max_queue_delay_microseconds, then everything that fits goes (even past a preferred
 *   size). Delay 0 (the default): whatever is there goes as soon as an instance is idle.
 * - Timeouts run from enqueue. REJECT: the request leaves the queue (the caller fails it
 *   with QueueTimeoutError). DELAY: it stays, behind every unexpired request of its level.
 *   A request's own timeout counts only with allow_timeout_override, and only to shorten
 *   the default (or to set one where the default, 0, means none).
 *   scoreline's one departure: a model with no queue policy at all (neither
 *   default_queue_policy nor one for the level) honours a request's timeout, as if it had
 *   `allow_timeout_override: true` (Triton ignores it there), so the deadline a caller
 *   sends shortens its queue time out of the box. Any queue policy given is followed as
 *   Triton follows it (allow_timeout_override defaults to false in it).
 * - max_queue_size (per level, delayed requests included): a request over it is refused
 *   at enqueue and never queued.
 * - Shedding: a request with a timeout is refused at enqueue (DeadlineUnreachableError)
 *   when the rows queued at its level and above would take longer than that timeout to run,
 *   at the recent cost per row (observeExecution, spread over the instances). It would only
 *   expire in the queue after holding a place there; refusing it at once lets its caller
 *   retry elsewhere. No estimate yet (no batch ran), no shedding.
 * - Cancellation: a request whose isCancelled() says true never joins a batch. The queue
 *   heads are checked on every poll (under overload the oldest requests are the ones whose
 *   callers gave up), and every request is checked again as its batch is taken; poll and
 *   stage hand the cancelled ones back so the caller can fail them.
 * - Without dynamic_batching, or with max_batch_size 0, each request is a batch of its own
 *   (FIFO; the queue policies still apply when dynamic_batching is configured).
 */
import { DeadlineUnreachableError, InvalidArgumentError, ModelConfigError, QueueFullError } from '../../errors';
import { Fifo } from './fifo';
import type { QueuePolicy, SchedulerOptions, TimeoutAction } from './scheduler-types';

/** What the former queues: the caller's item plus what batching needs to know about it. */
export interface FormerRequest<T> {
  item: T;
  batchSize: number;
  shapeKey: string;
  priority?: number;
  timeoutMicroseconds?: number;
  /** True once the caller has gone (checked without a listener: see the module comment). */
  isCancelled?: () => boolean;
}

export interface BatchDecision<T> {
  /** Left the queue on a REJECT timeout: fail them. */
  timedOut: T[];
  /** Left the queue because their caller went away: fail them. */
  cancelled: T[];
  /** Run this batch now on an idle instance (only when idleInstances > 0). */
  batch?: T[];
  /** No batch now: poll again after this long unless an enqueue or a free instance comes first. */
  waitUs?: number;
}

interface Entry<T> {
  readonly item: T;
  readonly rows: number;
  readonly shapeKey: string;
  readonly enqueuedAtUs: number;
  /** Infinity: no timeout (or already delayed). */
  deadlineUs: number;
  readonly isCancelled: (() => boolean) | undefined;
  /** Index of its level, to keep the level's row count. */
  readonly level: number;
}

export interface StageDecision<T> {
  batch?: T[];
  cancelled: T[];
}

/** Weight of the newest batch in the cost-per-row average. */
const COST_EWMA_WEIGHT = 0.2;

interface Level<T> {
  readonly timeoutAction: TimeoutAction;
  readonly defaultTimeoutUs: number;
  readonly allowTimeoutOverride: boolean;
  readonly maxQueueSize: number;
  readonly waiting: Fifo<Entry<T>>;
  /** Timed out under DELAY: served after every request in `waiting`. */
  readonly delayed: Fifo<Entry<T>>;
  /** Rows in `waiting` and `delayed`. */
  rows: number;
}

export class BatchFormer<T> {
  private readonly modelName: string;
  private readonly maxBatchSize: number;
  /** false: one request per batch. */
  private readonly batching: boolean;
  private readonly preferred: ReadonlySet<number>;
  private readonly maxPreferred: number;
  private readonly delayUs: number;
  private readonly levels: Level<T>[];
  /** The queues in service order: L1 waiting, L1 delayed, L2 waiting, ... */
  private readonly order: Fifo<Entry<T>>[];
  private readonly defaultLevel: number;
  private readonly instanceCount: number;
  private count = 0;
  /** Recent microseconds of instance time per row; undefined until a batch ran. */
  private usPerRow: number | undefined;
  /** A lower bound on the earliest deadline in any `waiting` queue (exact after expire()). */
  private earliestDeadlineUs = Infinity;

  constructor(options: Pick<SchedulerOptions, 'modelName' | 'maxBatchSize' | 'dynamicBatching'> & { instanceCount?: number }) {
    const { modelName, maxBatchSize } = options;
    const db = options.dynamicBatching;
    const invalid = (field: string, rule: string, got: unknown) =>
      new ModelConfigError(`model '${modelName}': ${field} must be ${rule}, got ${String(got)}`);
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 0) {
      throw invalid('max_batch_size', 'a non-negative integer', maxBatchSize);
    }
    this.modelName = modelName;
    this.maxBatchSize = maxBatchSize;
    this.instanceCount = Math.max(1, options.instanceCount ?? 1);
    this.batching = db !== undefined && maxBatchSize > 0;

    const preferred = this.batching ? (db?.preferred_batch_size ?? []) : [];
    for (const size of preferred) {
      if (!Number.isInteger(size) || size < 1 || size > maxBatchSize) {
        throw invalid('dynamic_batching.preferred_batch_size', `between 1 and max_batch_size (${maxBatchSize})`, size);
      }
    }
    this.preferred = new Set(preferred);
    this.maxPreferred = preferred.length > 0 ? Math.max(...preferred) : 0;

    this.delayUs = db?.max_queue_delay_microseconds ?? 0;
    if (!Number.isFinite(this.delayUs) || this.delayUs < 0) {
      throw invalid('dynamic_batching.max_queue_delay_microseconds', 'a non-negative number', this.delayUs);
    }

    const levelCount = db?.priority_levels ?? 0;
    if (!Number.isInteger(levelCount) || levelCount < 0) {
      throw invalid('dynamic_batching.priority_levels', 'a non-negative integer', levelCount);
    }
    const defaultLevel = levelCount > 0 ? (db?.default_priority_level ?? 0) : 1;
    if (!Number.isInteger(defaultLevel) || defaultLevel < 1 || defaultLevel > Math.max(1, levelCount)) {
      throw invalid('dynamic_batching.default_priority_level', `between 1 and priority_levels (${levelCount})`, defaultLevel);
    }
    this.defaultLevel = defaultLevel - 1;
    this.levels = Array.from({ length: Math.max(1, levelCount) }, (_, i) =>
      makeLevel<T>((levelCount > 0 ? db?.priority_queue_policy?.[i + 1] : undefined) ?? db?.default_queue_policy),
    );
    this.order = this.levels.flatMap((level) => [level.waiting, level.delayed]);
  }

  /** Requests queued (delayed ones included). */
  get size(): number {
    return this.count;
  }

  enqueue(request: FormerRequest<T>, nowUs: number): void {
    const rows = request.batchSize;
    if (!Number.isInteger(rows) || rows < 1) {
      throw new InvalidArgumentError(`inference request batch-size must be >= 1 for '${this.modelName}'`);
    }
    const maxRows = Math.max(1, this.maxBatchSize);
    if (rows > maxRows) {
      throw new InvalidArgumentError(`inference request batch-size must be <= ${maxRows} for '${this.modelName}'`);
    }
    const levelIndex = this.levelIndex(request.priority);
    const level = this.levels[levelIndex]!;
    if (level.maxQueueSize > 0 && level.waiting.length + level.delayed.length >= level.maxQueueSize) {
      throw new QueueFullError();
    }
    let timeoutUs = level.defaultTimeoutUs;
    const own = request.timeoutMicroseconds;
    if (level.allowTimeoutOverride && own !== undefined && own > 0 && (timeoutUs === 0 || own < timeoutUs)) {
      timeoutUs = own;
    }
    if (timeoutUs > 0) {
      const waitUs = this.estimatedWaitUs(levelIndex);
      if (waitUs > timeoutUs) {
        throw new DeadlineUnreachableError(
          `the request cannot be served within its timeout of ${formatMs(timeoutUs)} ms: the work queued ahead of it takes about ${formatMs(waitUs)} ms`,
        );
      }
    }
    const deadlineUs = timeoutUs > 0 ? nowUs + timeoutUs : Infinity;
    level.waiting.push({ item: request.item, rows, shapeKey: request.shapeKey, enqueuedAtUs: nowUs, deadlineUs, isCancelled: request.isCancelled, level: levelIndex });
    level.rows += rows;
    this.count++;
    if (deadlineUs < this.earliestDeadlineUs) this.earliestDeadlineUs = deadlineUs;
  }

  poll(nowUs: number, idleInstances: number): BatchDecision<T> {
    // Cancellation first: a request whose caller has gone is cancelled, whatever its timeout says.
    const cancelled: T[] = [];
    this.dropCancelledHeads(cancelled);
    const timedOut = this.expire(nowUs);
    for (;;) {
      this.dropCancelledHeads(cancelled);
      if (this.count === 0) return { timedOut, cancelled };
      const untilTimeout = this.earliestDeadlineUs === Infinity ? undefined : this.earliestDeadlineUs - nowUs;
      if (idleInstances < 1) return { timedOut, cancelled, waitUs: untilTimeout };
      const plan = this.plan(nowUs);
      if (plan.waitUs !== undefined) {
        return { timedOut, cancelled, waitUs: untilTimeout === undefined ? plan.waitUs : Math.min(plan.waitUs, untilTimeout) };
      }
      const batch = this.take(plan.count, cancelled);
      // Every request of the planned batch had gone: plan again on what is left.
      if (batch.length > 0) return { timedOut, cancelled, batch };
    }
  }

  /**
   * Records that a batch of `rows` rows kept an instance busy for `durationUs`: the cost per
   * row behind the wait estimate that sheds requests whose timeout it exceeds.
   */
  observeExecution(rows: number, durationUs: number): void {
    if (!(rows > 0) || !(durationUs >= 0) || !Number.isFinite(durationUs)) return;
    const sample = durationUs / rows;
    this.usPerRow = this.usPerRow === undefined ? sample : this.usPerRow + COST_EWMA_WEIGHT * (sample - this.usPerRow);
  }

  /** How long the rows queued at `levelIndex` and above would keep every instance busy. */
  estimatedWaitUs(levelIndex = this.defaultLevel): number {
    if (this.usPerRow === undefined) return 0;
    let rows = 0;
    for (let i = 0; i <= levelIndex; i++) rows += this.levels[i]!.rows;
    return (rows * this.usPerRow) / this.instanceCount;
  }

  /**
   * The batch to stage at a busy instance whose running batch has `minRows` rows: the batch
   * poll() would send now, but only when it has at least `minRows` rows or cannot grow any
   * more (full, or the next request cannot join it). Timeouts are poll()'s to apply first.
   */
  stage(nowUs: number, minRows: number): StageDecision<T> {
    const cancelled: T[] = [];
    this.dropCancelledHeads(cancelled);
    if (this.count === 0) return { cancelled };
    const plan = this.plan(nowUs);
    if (plan.waitUs !== undefined || (plan.rows < minRows && !plan.full)) return { cancelled };
    const batch = this.take(plan.count, cancelled);
    return batch.length > 0 ? { batch, cancelled } : { cancelled };
  }

  /** Empties the queue; returns every item in service order. */
  removeAll(): T[] {
    const all = this.order.flatMap((queue) => queue.clear().map((entry) => entry.item));
    for (const level of this.levels) level.rows = 0;
    this.count = 0;
    this.earliestDeadlineUs = Infinity;
    return all;
  }

  private levelIndex(priority: number | undefined): number {
    const p = priority ?? 0;
    // Triton: 0 and out-of-range priorities mean the default level.
    return Number.isInteger(p) && p >= 1 && p <= this.levels.length ? p - 1 : this.defaultLevel;
  }

  /** Applies timeouts: REJECT entries are removed and returned, DELAY entries move back. */
  private expire(nowUs: number): T[] {
    if (nowUs < this.earliestDeadlineUs) return [];
    const rejected: T[] = [];
    let earliest = Infinity;
    for (const level of this.levels) {
      const expired = level.waiting.removeWhere((entry) => {
        if (entry.deadlineUs <= nowUs) return true;
        if (entry.deadlineUs < earliest) earliest = entry.deadlineUs;
        return false;
      });
      for (const entry of expired) {
        if (level.timeoutAction === 'DELAY') {
          entry.deadlineUs = Infinity;
          level.delayed.push(entry);
        } else {
          rejected.push(entry.item);
          level.rows -= entry.rows;
          this.count--;
        }
      }
    }
    this.earliestDeadlineUs = earliest;
    return rejected;
  }

  /**
   * How many requests from the head form the next batch, their rows, whether it can grow no
   * more, and whether it must wait.
   */
  private plan(nowUs: number): { count: number; rows: number; full: boolean; waitUs?: number } {
    if (!this.batching) return { count: 1, rows: this.head()!.rows, full: true };
    let rows = 0;
    let count = 0;
    let oldestUs = Infinity;
    let shapeKey = '';
    let preferredCount = 0;
    let full = false;
    walk: for (const queue of this.order) {
      for (let i = 0; i < queue.length; i++) {
        const entry = queue.at(i);
        if (count > 0) {
          if (entry.shapeKey !== shapeKey || rows + entry.rows > this.maxBatchSize) {
            full = true;
            break walk;
          }
          if (preferredCount === 0 && this.maxPreferred > 0 && rows + entry.rows > this.maxPreferred) {
            preferredCount = count;
          }
        }
        rows += entry.rows;
        count++;
        shapeKey = entry.shapeKey;
        if (entry.enqueuedAtUs < oldestUs) oldestUs = entry.enqueuedAtUs;
        if (this.preferred.has(rows)) preferredCount = count;
        if (rows === this.maxBatchSize) {
          full = true;
          break walk;
        }
      }
    }
    const delayExpired = this.delayUs > 0 && nowUs - oldestUs >= this.delayUs;
    if (preferredCount > 0 && !delayExpired) return { count: preferredCount, rows: this.rowsOf(preferredCount), full: false };
    if (full || delayExpired || this.delayUs === 0) return { count, rows, full };
    return { count, rows, full, waitUs: oldestUs + this.delayUs - nowUs };
  }

  /** The first request in service order. */
  private head(): Entry<T> | undefined {
    for (const queue of this.order) if (queue.length > 0) return queue.at(0);
    return undefined;
  }

  /** Rows of the first `count` requests in service order. */
  private rowsOf(count: number): number {
    let rows = 0;
    let seen = 0;
    for (const queue of this.order) {
      for (let i = 0; i < queue.length && seen < count; i++, seen++) rows += queue.at(i).rows;
      if (seen === count) break;
    }
    return rows;
  }

  /**
   * Takes the first `count` requests in service order; those cancelled meanwhile go to
   * `cancelled` instead of the batch (which is then smaller than planned, never mixed).
   */
  private take(count: number, cancelled: T[]): T[] {
    const batch: T[] = [];
    let taken = 0;
    for (const queue of this.order) {
      while (taken < count && queue.length > 0) {
        const entry = queue.shift()!;
        this.levels[entry.level]!.rows -= entry.rows;
        taken++;
        if (entry.isCancelled?.() === true) cancelled.push(entry.item);
        else batch.push(entry.item);
      }
      if (taken === count) break;
    }
    this.count -= taken;
    if (this.count === 0) this.earliestDeadlineUs = Infinity;
    return batch;
  }

  /** Removes cancelled requests from the front of every queue (they would be taken next). */
  private dropCancelledHeads(cancelled: T[]): void {
    if (this.count === 0) return;
    for (const queue of this.order) {
      while (queue.length > 0) {
        const head = queue.at(0);
        if (head.isCancelled?.() !== true) break;
        queue.shift();
        this.levels[head.level]!.rows -= head.rows;
        this.count--;
        cancelled.push(head.item);
      }
    }
    if (this.count === 0) this.earliestDeadlineUs = Infinity;
  }
}

/** Milliseconds for a message: one decimal below 10 ms, whole ones above. */
function formatMs(us: number): string {
  return us < 10_000 ? (us / 1000).toFixed(1) : String(Math.round(us / 1000));
}

function makeLevel<T>(policy: QueuePolicy | undefined): Level<T> {
  return {
    timeoutAction: policy?.timeout_action ?? 'REJECT',
    defaultTimeoutUs: policy?.default_timeout_microseconds ?? 0,
    // No policy at all means allowed (see the module comment): the one departure from Triton here.
    allowTimeoutOverride: policy === undefined ? true : (policy.allow_timeout_override ?? false),
    maxQueueSize: policy?.max_queue_size ?? 0,
    waiting: new Fifo<Entry<T>>(),
    delayed: new Fifo<Entry<T>>(),
    rows: 0,
  };
}
