/**
 * The sequence batcher's decisions, as a pure state object (no timers, no promises): the
 * caller passes the time in, so every rule is testable step by step.
 *
 * As in Triton's sequence batcher (core src/sequence_batch_scheduler):
 * - every instance has a number of sequence slots: max(1, max_batch_size) for `direct`,
 *   `oldest.max_candidate_sequences` (0: the same) for `oldest`. A starting sequence takes a
 *   free slot (the lowest slot index over all instances, so sequences spread over instances)
 *   and keeps it, on that instance, until its END request has run or it is idle too long.
 *   With no free slot it waits in a FIFO backlog, its requests queued with it.
 * - a request without sequence_start whose ID has no sequence is refused (Triton's text).
 *   A START for an ID whose sequence is still open continues in that sequence (Triton logs
 *   "Previous sequence will be terminated early"); the START resets its state when it runs.
 * - a sequence runs one request at a time, in arrival order: its next request is a
 *   candidate only once the previous one has finished, since it reads the state that one
 *   writes. A batch on an instance holds at most one request per slot.
 * - `direct`: an idle instance runs every ready slot at once, unless minimum_slot_utilization
 *   is set: then it waits until that share of its slots is ready, or the oldest ready request
 *   has waited max_queue_delay_microseconds.
 * - `oldest`: an idle instance batches its candidates' ready requests oldest first, up to
 *   max_batch_size: at once when a preferred batch size (or max_batch_size) is reached or
 *   there is no delay, else when the oldest has waited max_queue_delay_microseconds.
 * - idle expiry: a sequence holding a slot with nothing queued or running for
 *   max_sequence_idle_microseconds is released (slot and state); later requests of it
 *   without START are refused. Backlogged sequences do not expire (Triton's reaper skips
 *   them too). Idle time counts from its last request's arrival or finish, whichever is later,
 *   so a long run never expires the sequence it belongs to.
 * Requests of different shapes never share a batch (as the dynamic batcher).
 */
import { InvalidArgumentError } from '../../errors';
import { type SequenceFlags, type SequenceStep, formatSequenceId } from './sequence-types';

export type SequenceStrategy = 'direct' | 'oldest';

export interface SequenceSlotsOptions {
  modelName: string;
  instanceCount: number;
  /** Rows a batch may hold: max(1, max_batch_size). */
  maxBatch: number;
  strategy: SequenceStrategy;
  slotsPerInstance: number;
  idleUs: number;
  maxQueueDelayUs: number;
  /** direct only; 0 = run as soon as one slot is ready. */
  minimumSlotUtilization: number;
  /** oldest only; sizes at which a batch goes at once. */
  preferredBatchSizes: number[];
}

interface Queued<T> {
  item: T;
  start: boolean;
  end: boolean;
  enqueuedUs: number;
  shapeKey: string;
  isCancelled?: () => boolean;
}

interface Sequence<T> {
  readonly key: number;
  readonly id: SequenceFlags['id'];
  readonly queue: Queued<T>[];
  instance: number;
  slot: number;
  inFlight: boolean;
  lastActiveUs: number;
}

/** A request handed to an instance: the caller's item and its sequence step. */
export interface SlotStep<T> {
  item: T;
  step: SequenceStep;
}

export interface SlotPoll<T> {
  /** Batches to start now, one per idle instance at most. */
  batches: Array<{ instance: number; steps: SlotStep<T>[] }>;
  /** Queued requests whose callers went away; dropped. */
  cancelled: T[];
  /** Keys of sequences released (END ran, idle, or END dropped): free their state. */
  released: number[];
  /** When to poll again at the latest (a queue delay or an idle expiry), from now. */
  waitUs?: number;
}

const idKey = (id: SequenceFlags['id']) => (typeof id === 'bigint' ? `u${id}` : `s${id}`);

/** Why a sequence let go of its slot and state. */
export type SequenceReleaseReason = 'end' | 'idle' | 'cancelled';

/** Sequences counted since load (the scheduler's statistics and metrics read them). */
export interface SequenceCounts {
  started: number;
  released: Record<SequenceReleaseReason, number>;
}

/**
 * How many closed IDs are remembered so that a late request can be told why its sequence is
 * gone (idle release or END) instead of only "never started": a bound, so that clients that
 * never reuse IDs cannot grow it; the oldest is forgotten first.
 */
export const REMEMBERED_CLOSED_IDS = 4096;

export class SequenceSlots<T> {
  /** Open sequences by correlation ID (an END's arrival closes the ID, as in Triton). */
  private readonly byId = new Map<string, Sequence<T>>();
  /** slots[instance][slot]: the sequence holding it. */
  private readonly slots: Array<Array<Sequence<T> | undefined>>;
  private readonly backlog: Sequence<T>[] = [];
  /** Every sequence holding a slot or in the backlog, ID closed or not. */
  private readonly live = new Set<Sequence<T>>();
  private nextKey = 1;
  private queued = 0;
  private readonly counts: SequenceCounts = { started: 0, released: { end: 0, idle: 0, cancelled: 0 } };
  /** Recently closed IDs and why (insertion order = age; see REMEMBERED_CLOSED_IDS). */
  private readonly closedIds = new Map<string, SequenceReleaseReason>();

  constructor(private readonly options: SequenceSlotsOptions) {
    this.slots = Array.from({ length: options.instanceCount }, () => Array.from({ length: options.slotsPerInstance }, () => undefined));
  }

  /** Requests waiting (in slots' queues and in the backlog). */
  get queuedCount(): number {
    return this.queued;
  }

  /** Sequences holding a slot or waiting for one. */
  get sequenceCount(): number {
    return this.live.size;
  }

  /** Sequences holding a slot. */
  get activeCount(): number {
    return this.live.size - this.backlog.length;
  }

  /** Sequences waiting for a slot. */
  get backlogCount(): number {
    return this.backlog.length;
  }

  /** Started and released sequences since load. */
  get sequenceCounts(): SequenceCounts {
    return { started: this.counts.started, released: { ...this.counts.released } };
  }

  /**
   * Queues one request of a sequence; throws InvalidArgumentError (Triton's text) when it
   * continues a sequence that was never started, has ended, or was released as idle.
   */
  enqueue(item: T, flags: SequenceFlags, nowUs: number, shapeKey: string, isCancelled?: () => boolean): void {
    const k = idKey(flags.id);
    let sequence = this.byId.get(k);
    if (sequence === undefined) {
      if (!flags.start) throw this.notStarted(flags.id, this.closedIds.get(k));
      this.closedIds.delete(k);
      this.counts.started++;
      sequence = { key: this.nextKey++, id: flags.id, queue: [], instance: -1, slot: -1, inFlight: false, lastActiveUs: nowUs };
      this.live.add(sequence);
      this.byId.set(k, sequence);
      if (!this.bind(sequence)) this.backlog.push(sequence);
    }
    sequence.queue.push({ item, start: flags.start, end: flags.end, enqueuedUs: nowUs, shapeKey, isCancelled });
    sequence.lastActiveUs = Math.max(sequence.lastActiveUs, nowUs);
    this.queued++;
    // After END the ID names no open sequence: a later request needs START (a new sequence).
    if (flags.end) {
      this.byId.delete(k);
      this.rememberClosed(k, 'end');
    }
  }

  /**
   * Triton's text, which clients match on, then why when the ID was seen before: a streaming
   * client whose sequence idled out needs to know to start again, not that it never started.
   */
  private notStarted(id: SequenceFlags['id'], closed: SequenceReleaseReason | undefined): InvalidArgumentError {
    const triton = `inference request for sequence ${formatSequenceId(id)} to model '${this.options.modelName}' must specify the START flag on the first request of the sequence`;
    if (closed === 'idle') {
      return new InvalidArgumentError(
        `${triton}: sequence ${formatSequenceId(id)} was released after ${this.options.idleUs} us without requests (max_sequence_idle_microseconds), and its state with it; send sequence_start to begin again`,
      );
    }
    if (closed !== undefined) return new InvalidArgumentError(`${triton}: sequence ${formatSequenceId(id)} has ended (sequence_end); send sequence_start to begin a new one`);
    return new InvalidArgumentError(triton);
  }

  /** Forms batches for the idle instances, drops cancelled requests, expires idle sequences. */
  poll(nowUs: number, idleInstances: readonly number[]): SlotPoll<T> {
    const result: SlotPoll<T> = { batches: [], cancelled: [], released: [] };
    let waitUs = Infinity;
    this.dropCancelled(result);
    this.expire(nowUs, result);
    for (const instance of idleInstances) {
      const formed = this.form(instance, nowUs);
      if (typeof formed === 'number') waitUs = Math.min(waitUs, formed);
      else if (formed) result.batches.push({ instance, steps: formed });
    }
    const idleDue = this.nextIdleExpiryUs();
    if (idleDue !== undefined) waitUs = Math.min(waitUs, Math.max(0, idleDue - nowUs));
    if (waitUs !== Infinity) result.waitUs = waitUs;
    return result;
  }

  /** A batch has finished: its sequences may run their next request; ENDed ones are released. */
  complete(steps: readonly SequenceStep[], nowUs: number): number[] {
    const released: number[] = [];
    for (const step of steps) {
      const sequence = this.findByKey(step.key);
      if (!sequence) continue;
      sequence.inFlight = false;
      sequence.lastActiveUs = Math.max(sequence.lastActiveUs, nowUs);
      if (step.end && sequence.queue.length === 0) released.push(this.release(sequence, 'end'));
    }
    return released;
  }

  /** Removes everything (close): the queued items, and every sequence's key. */
  removeAll(): { items: T[]; released: number[] } {
    const items: T[] = [];
    const released: number[] = [];
    for (const sequence of this.live) {
      for (const q of sequence.queue) items.push(q.item);
      released.push(sequence.key);
    }
    this.live.clear();
    this.byId.clear();
    this.backlog.length = 0;
    for (const row of this.slots) row.fill(undefined);
    this.queued = 0;
    return { items, released };
  }

  private findByKey(key: number): Sequence<T> | undefined {
    for (const sequence of this.live) if (sequence.key === key) return sequence;
    return undefined;
  }

  /** Takes the free slot with the lowest index over all instances; false when none is free. */
  private bind(sequence: Sequence<T>): boolean {
    for (let slot = 0; slot < this.options.slotsPerInstance; slot++) {
      for (let instance = 0; instance < this.options.instanceCount; instance++) {
        if (this.slots[instance]![slot] === undefined) {
          this.slots[instance]![slot] = sequence;
          sequence.instance = instance;
          sequence.slot = slot;
          return true;
        }
      }
    }
    return false;
  }

  /** Frees the sequence's slot (handing it to the oldest backlogged sequence) and forgets it. */
  private release(sequence: Sequence<T>, reason: SequenceReleaseReason): number {
    this.live.delete(sequence);
    this.counts.released[reason]++;
    const k = idKey(sequence.id);
    if (this.byId.get(k) === sequence) this.byId.delete(k);
    // An ID reopened by a START after this sequence's END names a live sequence: not closed.
    if (!this.byId.has(k)) this.rememberClosed(k, reason);
    if (sequence.instance >= 0) {
      this.slots[sequence.instance]![sequence.slot] = undefined;
      const next = this.backlog.shift();
      if (next) this.bind(next);
    } else {
      const i = this.backlog.indexOf(sequence);
      if (i >= 0) this.backlog.splice(i, 1);
    }
    return sequence.key;
  }

  private rememberClosed(k: string, reason: SequenceReleaseReason): void {
    this.closedIds.delete(k);
    this.closedIds.set(k, reason);
    if (this.closedIds.size > REMEMBERED_CLOSED_IDS) this.closedIds.delete(this.closedIds.keys().next().value!);
  }

  private dropCancelled(result: SlotPoll<T>): void {
    for (const sequence of [...this.live]) {
      if (sequence.inFlight) continue;
      // Only a head can be dropped without reordering what the sequence runs; later ones are
      // seen when they reach the head.
      while (sequence.queue.length > 0 && sequence.queue[0]!.isCancelled?.()) {
        const dropped = sequence.queue.shift()!;
        this.queued--;
        result.cancelled.push(dropped.item);
        if (dropped.end && sequence.queue.length === 0) {
          result.released.push(this.release(sequence, 'cancelled'));
          break;
        }
      }
    }
  }

  private expire(nowUs: number, result: SlotPoll<T>): void {
    for (const sequence of [...this.live]) {
      if (sequence.instance < 0 || sequence.inFlight || sequence.queue.length > 0) continue;
      if (nowUs - sequence.lastActiveUs >= this.options.idleUs) result.released.push(this.release(sequence, 'idle'));
    }
  }

  private nextIdleExpiryUs(): number | undefined {
    let due: number | undefined;
    for (const sequence of this.live) {
      if (sequence.instance < 0 || sequence.inFlight || sequence.queue.length > 0) continue;
      const at = sequence.lastActiveUs + this.options.idleUs;
      if (due === undefined || at < due) due = at;
    }
    return due;
  }

  /** The batch for one idle instance: its steps, a wait in µs, or undefined (nothing ready). */
  private form(instance: number, nowUs: number): SlotStep<T>[] | number | undefined {
    const ready: Sequence<T>[] = [];
    for (const sequence of this.slots[instance]!) {
      if (sequence && !sequence.inFlight && sequence.queue.length > 0) ready.push(sequence);
    }
    if (ready.length === 0) return undefined;
    const byAge = [...ready].sort((a, b) => a.queue[0]!.enqueuedUs - b.queue[0]!.enqueuedUs);
    const shapeKey = byAge[0]!.queue[0]!.shapeKey;
    const sameShape = byAge.filter((s) => s.queue[0]!.shapeKey === shapeKey);
    const waitedUs = nowUs - sameShape[0]!.queue[0]!.enqueuedUs;
    const delay = this.options.maxQueueDelayUs;
    const { maxBatch } = this.options;
    let take: Sequence<T>[];
    if (this.options.strategy === 'direct') {
      const u = this.options.minimumSlotUtilization;
      // Triton: max_queue_delay_microseconds is only waited while a set utilization is not met.
      if (u > 0 && sameShape.length / this.options.slotsPerInstance < u && waitedUs < delay) return delay - waitedUs;
      take = sameShape.slice(0, maxBatch).sort((a, b) => a.slot - b.slot);
    } else {
      const preferred = this.options.preferredBatchSizes.filter((p) => p <= maxBatch);
      const largestPreferred = preferred.length > 0 ? Math.max(...preferred) : maxBatch;
      const full = sameShape.length >= Math.min(maxBatch, largestPreferred);
      if (!full && delay > 0 && waitedUs < delay) {
        const fits = preferred.filter((p) => p <= sameShape.length);
        // A preferred size reached goes at once; otherwise wait for more, up to the delay.
        if (fits.length === 0) return delay - waitedUs;
        take = sameShape.slice(0, Math.max(...fits));
      } else {
        take = sameShape.slice(0, full ? Math.min(maxBatch, largestPreferred) : maxBatch);
      }
    }
    return take.map((sequence) => {
      const q = sequence.queue.shift()!;
      this.queued--;
      sequence.inFlight = true;
      return { item: q.item, step: { key: sequence.key, id: sequence.id, start: q.start, end: q.end, slot: sequence.slot } };
    });
  }
}
