/**
 * The sequence batcher's decisions (SequenceSlots), step by step with the time passed in:
 * slot assignment and backlog, one request per sequence at a time, direct vs oldest batch
 * forming, START/END rules with Triton's error text, idle expiry, cancellation.
 */
import { InvalidArgumentError } from '../../../src/errors';
import { REMEMBERED_CLOSED_IDS, SequenceSlots, type SequenceSlotsOptions } from '../../../src/engine/scheduler/sequence-slots';
import { errorOf } from '../../helpers/error-of';

function slots(options: Partial<SequenceSlotsOptions> = {}) {
  return new SequenceSlots<string>({
    modelName: 'acc',
    instanceCount: 1,
    maxBatch: 4,
    strategy: 'direct',
    slotsPerInstance: 4,
    idleUs: 1_000_000,
    maxQueueDelayUs: 0,
    minimumSlotUtilization: 0,
    preferredBatchSizes: [],
    ...options,
  });
}
const start = (id: bigint | string, end = false) => ({ id, start: true, end });
const next = (id: bigint | string, end = false) => ({ id, start: false, end });
const items = (poll: { batches: Array<{ steps: Array<{ item: string }> }> }) => poll.batches.map((b) => b.steps.map((s) => s.item));

describe('SequenceSlots', () => {
  it('refuses a request that continues a sequence never started, with Triton\'s text', () => {
    const s = slots();
    const error = errorOf(() => s.enqueue('a', next(7n), 0, 'k'));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toBe("inference request for sequence 7 to model 'acc' must specify the START flag on the first request of the sequence");
    expect(errorOf(() => s.enqueue('a', next('user-1'), 0, 'k')).message).toContain('for sequence user-1 to model');
  });

  it('says why a continuing request has no sequence: released as idle, or ended (Triton\'s text first)', () => {
    const s = slots({ idleUs: 100 });
    s.enqueue('a1', start(1n), 0, 'k');
    s.enqueue('b1', start(2n, true), 0, 'k');
    const p = s.poll(1, [0]);
    s.complete(p.batches[0]!.steps.map((x) => x.step), 2);
    expect(s.poll(200, [0]).released).toHaveLength(1);
    const triton = (id: number) => `inference request for sequence ${id} to model 'acc' must specify the START flag on the first request of the sequence`;
    expect(errorOf(() => s.enqueue('a2', next(1n), 300, 'k')).message).toBe(
      `${triton(1)}: sequence 1 was released after 100 us without requests (max_sequence_idle_microseconds), and its state with it; send sequence_start to begin again`,
    );
    expect(errorOf(() => s.enqueue('b2', next(2n), 300, 'k')).message).toBe(
      `${triton(2)}: sequence 2 has ended (sequence_end); send sequence_start to begin a new one`,
    );
    expect(s.sequenceCounts).toEqual({ started: 2, released: { end: 1, idle: 1, cancelled: 0 } });
    // A new START clears the memory: the ID names a live sequence again.
    s.enqueue('a3', start(1n), 301, 'k');
    expect(s.sequenceCounts.started).toBe(3);
  });

  it('forgets the oldest closed IDs beyond REMEMBERED_CLOSED_IDS', () => {
    const s = slots({ slotsPerInstance: 1, maxBatch: 1 });
    for (let i = 1; i <= REMEMBERED_CLOSED_IDS + 1; i++) {
      s.enqueue(`x${i}`, start(BigInt(i), true), i, 'k');
      const p = s.poll(i, [0]);
      s.complete(p.batches[0]!.steps.map((x) => x.step), i);
    }
    expect(errorOf(() => s.enqueue('late', next(1n), 0, 'k')).message).not.toContain('has ended');
    expect(errorOf(() => s.enqueue('late', next(2n), 0, 'k')).message).toContain('has ended');
  });

  it('runs one request of a sequence at a time, in order, and batches different sequences together', () => {
    const s = slots();
    s.enqueue('a1', start(1n), 0, 'k');
    s.enqueue('a2', next(1n), 1, 'k');
    s.enqueue('b1', start(2n), 2, 'k');
    const first = s.poll(10, [0]);
    expect(items(first)).toEqual([['a1', 'b1']]);
    expect(first.batches[0]!.steps.map((x) => x.step.slot)).toEqual([0, 1]);
    // a2 waits for a1 (it reads the state a1 writes), even with the instance idle.
    expect(items(s.poll(11, [0]))).toEqual([]);
    s.complete(first.batches[0]!.steps.map((x) => x.step), 12);
    expect(items(s.poll(13, [0]))).toEqual([['a2']]);
  });

  it('keeps a sequence on its slot; a sequence beyond the slots waits in the backlog until one ends', () => {
    const s = slots({ slotsPerInstance: 1, maxBatch: 1 });
    s.enqueue('a1', start(1n, true), 0, 'k');
    s.enqueue('b1', start(2n), 1, 'k');
    expect(s.activeCount).toBe(1);
    expect(s.sequenceCount).toBe(2);
    const p = s.poll(2, [0]);
    expect(items(p)).toEqual([['a1']]);
    expect(items(s.poll(3, [0]))).toEqual([]);
    const released = s.complete([p.batches[0]!.steps[0]!.step], 4);
    expect(released).toEqual([p.batches[0]!.steps[0]!.step.key]);
    expect(items(s.poll(5, [0]))).toEqual([['b1']]);
    expect(s.sequenceCount).toBe(1);
  });

  it('spreads new sequences over instances (lowest slot index first)', () => {
    const s = slots({ instanceCount: 2, slotsPerInstance: 2, maxBatch: 2 });
    for (const id of [1n, 2n, 3n]) s.enqueue(`s${id}`, start(id), 0, 'k');
    const p = s.poll(1, [0, 1]);
    expect(p.batches.map((b) => [b.instance, b.steps.map((x) => x.item)])).toEqual([
      [0, ['s1', 's3']],
      [1, ['s2']],
    ]);
  });

  it('after END the ID is closed: a continuing request is refused, a START opens a new sequence with a new key', () => {
    const s = slots();
    s.enqueue('a1', start(1n, true), 0, 'k');
    expect(() => s.enqueue('a2', next(1n), 1, 'k')).toThrow(/must specify the START flag/);
    s.enqueue('a3', start(1n), 2, 'k');
    const p = s.poll(3, [0]);
    const keys = p.batches[0]!.steps.map((x) => x.step.key);
    expect(new Set(keys).size).toBe(2);
  });

  it('a START on an open sequence continues it (same key, start flag set so its state resets)', () => {
    const s = slots();
    s.enqueue('a1', start(1n), 0, 'k');
    let p = s.poll(1, [0]);
    const key = p.batches[0]!.steps[0]!.step.key;
    s.complete([p.batches[0]!.steps[0]!.step], 2);
    s.enqueue('a2', start(1n), 3, 'k');
    p = s.poll(4, [0]);
    expect(p.batches[0]!.steps[0]!.step).toMatchObject({ key, start: true });
  });

  it('releases a sequence idle for max_sequence_idle_microseconds, then refuses its next non-START request', () => {
    const s = slots({ idleUs: 1000 });
    s.enqueue('a1', start(5n), 0, 'k');
    const p = s.poll(0, [0]);
    s.complete([p.batches[0]!.steps[0]!.step], 100);
    const waiting = s.poll(500, [0]);
    expect(waiting.released).toEqual([]);
    expect(waiting.waitUs).toBe(600); // idle counts from the finish at 100
    const expired = s.poll(1100, [0]);
    expect(expired.released).toEqual([p.batches[0]!.steps[0]!.step.key]);
    expect(s.sequenceCount).toBe(0);
    expect(() => s.enqueue('a2', next(5n), 1200, 'k')).toThrow("inference request for sequence 5 to model 'acc' must specify the START flag");
  });

  it('never expires a sequence with a request queued or running', () => {
    const s = slots({ idleUs: 1000 });
    s.enqueue('a1', start(5n), 0, 'k');
    const p = s.poll(0, [0]);
    expect(s.poll(50_000, []).released).toEqual([]); // running for 50 ms
    s.complete([p.batches[0]!.steps[0]!.step], 50_000);
    expect(s.poll(50_500, [0]).released).toEqual([]);
  });

  it('direct with minimum_slot_utilization waits for enough ready slots, up to max_queue_delay', () => {
    const s = slots({ minimumSlotUtilization: 0.5, maxQueueDelayUs: 1000 });
    s.enqueue('a1', start(1n), 0, 'k');
    const p = s.poll(10, [0]);
    expect(items(p)).toEqual([]);
    expect(p.waitUs).toBe(990);
    s.enqueue('b1', start(2n), 20, 'k');
    expect(items(s.poll(30, [0]))).toEqual([['a1', 'b1']]);
    const t = slots({ minimumSlotUtilization: 0.5, maxQueueDelayUs: 1000 });
    t.enqueue('a1', start(1n), 0, 'k');
    expect(items(t.poll(1000, [0]))).toEqual([['a1']]);
  });

  it('oldest batches candidates oldest first up to max_batch_size, waiting for a preferred size within the delay', () => {
    const s = slots({ strategy: 'oldest', slotsPerInstance: 8, maxBatch: 2, preferredBatchSizes: [2], maxQueueDelayUs: 1000 });
    s.enqueue('c1', start(3n), 5, 'k');
    expect(items(s.poll(6, [0]))).toEqual([]);
    s.enqueue('a1', start(1n), 7, 'k');
    s.enqueue('b1', start(2n), 8, 'k');
    // c1 and a1 are the oldest two; b1 waits for the next batch.
    const p = s.poll(9, [0]);
    expect(items(p)).toEqual([['c1', 'a1']]);
    expect(s.activeCount).toBe(3); // 8 candidates per instance, more than max_batch_size
    s.complete(p.batches[0]!.steps.map((x) => x.step), 10);
    expect(items(s.poll(11, [0]))).toEqual([]); // b1 alone waits for a partner...
    expect(items(s.poll(1008, [0]))).toEqual([['b1']]); // ...until its delay has passed
  });

  it('oldest with no delay sends what is ready; max_batch_size 0 runs each request alone', () => {
    const s = slots({ strategy: 'oldest', slotsPerInstance: 3, maxBatch: 1 });
    s.enqueue('a1', start(1n), 0, 'k');
    s.enqueue('b1', start(2n), 1, 'k');
    expect(items(s.poll(2, [0]))).toEqual([['a1']]);
  });

  it('never batches requests whose shapes differ', () => {
    const s = slots();
    s.enqueue('a1', start(1n), 0, '[3]');
    s.enqueue('b1', start(2n), 1, '[5]');
    expect(items(s.poll(2, [0]))).toEqual([['a1']]);
  });

  it('drops a cancelled head, and releases a sequence whose END was dropped', () => {
    const s = slots();
    let gone = false;
    s.enqueue('a1', start(1n, true), 0, 'k', () => gone);
    gone = true;
    const p = s.poll(1, [0]);
    expect(p.cancelled).toEqual(['a1']);
    expect(p.released).toHaveLength(1);
    expect(s.sequenceCount).toBe(0);
  });

  it('tells string and integer IDs apart', () => {
    const s = slots();
    s.enqueue('n', start(1n), 0, 'k');
    expect(() => s.enqueue('x', next('1'), 1, 'k')).toThrow(/sequence 1 to model/);
  });
});
