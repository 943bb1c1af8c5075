/**
 * The sequence batcher's async loop through the Scheduler contract: the run callback gets
 * each item's sequence step, releases are reported (END, idle, close), and requests that a
 * sequence batcher cannot take are refused with Triton's texts.
 */
import { InvalidArgumentError } from '../../../src/errors';
import { createScheduler } from '../../../src/engine/scheduler/create-scheduler';
import type { BatchItem, Scheduler } from '../../../src/engine/scheduler/scheduler-types';
import type { SequenceBatchingConfig } from '../../../src/engine/scheduler/sequence-types';

function harness(sequenceBatching: SequenceBatchingConfig, maxBatchSize = 4) {
  const batches: BatchItem<string>[][] = [];
  const released: number[] = [];
  const scheduler: Scheduler<string, string> = createScheduler<string, string>(
    { modelName: 'acc', instanceCount: 1, maxBatchSize, sequenceBatching, onSequenceReleased: (key) => released.push(key) },
    async (_instance, items) => {
      batches.push(items);
      return items.map((i) => `${i.payload}!`);
    },
  );
  return { scheduler, batches, released };
}
const req = (payload: string, id: bigint | string, start: boolean, end = false, batchSize = 1) => ({
  payload,
  batchSize,
  shapeKey: 'k',
  sequence: { id, start, end },
});

describe('SequenceBatchScheduler', () => {
  it('hands each item its sequence step and reports the release after END', async () => {
    const { scheduler, batches, released } = harness({});
    const answers = await Promise.all([scheduler.enqueue(req('a1', 1n, true)), scheduler.enqueue(req('b1', 'x', true))]);
    expect(answers).toEqual(['a1!', 'b1!']);
    expect(batches[0]!.map((i) => i.sequence)).toEqual([
      { key: 1, id: 1n, start: true, end: false, slot: 0 },
      { key: 2, id: 'x', start: true, end: false, slot: 1 },
    ]);
    await scheduler.enqueue(req('a2', 1n, false, true));
    expect(released).toEqual([1]);
    await expect(scheduler.enqueue(req('a3', 1n, false))).rejects.toThrow(
      "inference request for sequence 1 to model 'acc' must specify the START flag on the first request of the sequence",
    );
    await scheduler.close(new Error('closed'));
    expect(released).toEqual([1, 2]);
  });

  it('refuses a request without a correlation ID, or with a batch size other than 1 (Triton\'s texts)', async () => {
    const { scheduler } = harness({});
    const noId = scheduler.enqueue({ payload: 'p', batchSize: 1, shapeKey: 'k' });
    await expect(noId).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(noId).rejects.toThrow("inference request to model 'acc' must specify a non-zero or non-empty correlation ID");
    await expect(scheduler.enqueue(req('p', 0n, true))).rejects.toThrow('non-zero or non-empty correlation ID');
    await expect(scheduler.enqueue(req('p', 3n, true, false, 2))).rejects.toThrow(
      "inference request to model 'acc' must specify batch-size 1 due to requirements of sequence batcher",
    );
  });

  it('releases an idle sequence by itself after max_sequence_idle_microseconds', async () => {
    // Fake timers for the idle timer and the clock (process.hrtime); setImmediate stays real for
    // the scheduler's pump. Time moves only here, so the bound is checked on both sides.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { scheduler, released } = harness({ max_sequence_idle_microseconds: 20_000 });
      await scheduler.enqueue(req('a1', 9n, true));
      jest.advanceTimersByTime(19);
      expect(released).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(released).toEqual([1]);
      await expect(scheduler.enqueue(req('a2', 9n, false))).rejects.toThrow('must specify the START flag');
    } finally {
      jest.useRealTimers();
    }
  });
});
