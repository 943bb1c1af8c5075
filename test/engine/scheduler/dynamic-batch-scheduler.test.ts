import { InvalidArgumentError, QueueFullError, QueueTimeoutError, ShuttingDownError } from '../../../src/errors';
import { createScheduler } from '../../../src/engine/scheduler/create-scheduler';
import type { BatchItem, DynamicBatchingConfig, Scheduler } from '../../../src/engine/scheduler/scheduler-types';

// The run callback is the scheduler's boundary, so these tests drive it with a fake one
// whose batches finish when the test says so.

interface Call {
  instance: number;
  payloads: number[];
  items: BatchItem<number>[];
  /** Finishes the batch: each item's result, or the whole batch's error. */
  finish(outcome?: Array<number | Error> | Error): void;
}

function harness(options: { instanceCount?: number; maxBatchSize?: number; dynamicBatching?: DynamicBatchingConfig; stageAhead?: boolean }) {
  const calls: Call[] = [];
  let running = 0;
  let maxRunning = 0;
  const busy = new Set<number>();
  let overlapOnOneInstance = false;
  const scheduler: Scheduler<number, number> = createScheduler<number, number>(
    { modelName: 'm', instanceCount: options.instanceCount ?? 1, maxBatchSize: options.maxBatchSize ?? 8, dynamicBatching: options.dynamicBatching, stageAhead: options.stageAhead },
    (instance, items) =>
      new Promise((resolve, reject) => {
        if (busy.has(instance)) overlapOnOneInstance = true;
        busy.add(instance);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const payloads = items.map((item) => item.payload);
        calls.push({
          instance,
          payloads,
          items,
          finish(outcome = payloads.map((p) => p * 10)) {
            busy.delete(instance);
            running--;
            if (outcome instanceof Error) reject(outcome);
            else resolve(outcome);
          },
        });
      }),
  );
  return {
    scheduler,
    calls,
    stats: () => ({ running, maxRunning, overlapOnOneInstance }),
  };
}

/** Lets the scheduler's setImmediate pump and any settled runs go through. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Jest's fake timers for the scheduler's delay and timeout timers and for its clock
 * (process.hrtime); setImmediate stays real, so turn() still lets the pump run. Time then
 * moves only when a test advances it: a deadline is checked on both sides, at any machine load.
 */
function fakeTime(): void {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
}
/** Moves fake time on by `ms` (firing the timers due), then lets the pump run. */
async function advance(ms: number): Promise<void> {
  jest.advanceTimersByTime(ms);
  await turn();
}
afterEach(() => jest.useRealTimers());

/** Records the settled state of a promise without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error) => Object.assign(state, { error, done: true }),
  );
  return state;
}

const req = (payload: number, extra: { batchSize?: number; shapeKey?: string; priority?: number } = {}) => ({
  payload,
  batchSize: extra.batchSize ?? 1,
  shapeKey: extra.shapeKey ?? 's',
  priority: extra.priority,
});

describe('DynamicBatchScheduler', () => {
  it('runs requests enqueued together as one batch and resolves each with its own result', async () => {
    const { scheduler, calls } = harness({ dynamicBatching: {} });
    const results = Promise.all([1, 2, 3].map((p) => scheduler.enqueue(req(p))));
    await turn();
    expect(calls.map((c) => c.payloads)).toEqual([[1, 2, 3]]);
    calls[0]!.finish();
    await expect(results).resolves.toEqual([10, 20, 30]);
  });

  it('never runs more batches than instances, nor two at once on one instance', async () => {
    const { scheduler, calls, stats } = harness({ instanceCount: 2, maxBatchSize: 1, dynamicBatching: {} });
    const results = Promise.all([1, 2, 3, 4, 5].map((p) => scheduler.enqueue(req(p))));
    await turn();
    expect(calls).toHaveLength(2);
    expect(scheduler.queuedCount).toBe(3);
    expect(scheduler.inFlightCount).toBe(2);
    for (let i = 0; i < 5; i++) {
      calls[i]!.finish();
      await turn();
    }
    await expect(results).resolves.toEqual([10, 20, 30, 40, 50]);
    expect(stats()).toEqual({ running: 0, maxRunning: 2, overlapOnOneInstance: false });
    expect(new Set(calls.map((c) => c.instance))).toEqual(new Set([0, 1]));
  });

  it('batches what queued up while every instance was busy', async () => {
    const { scheduler, calls } = harness({ dynamicBatching: {} });
    const first = scheduler.enqueue(req(1));
    await turn();
    const rest = Promise.all([2, 3, 4].map((p) => scheduler.enqueue(req(p))));
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await turn();
    expect(calls.map((c) => c.payloads)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    await expect(first).resolves.toBe(10);
    await expect(rest).resolves.toEqual([20, 30, 40]);
  });

  it('holds a partial batch for max_queue_delay, but sends a full one at once', async () => {
    fakeTime();
    const { scheduler, calls } = harness({ maxBatchSize: 4, dynamicBatching: { max_queue_delay_microseconds: 30_000 } });
    const partial = Promise.all([1, 2].map((p) => scheduler.enqueue(req(p))));
    await turn();
    expect(calls).toHaveLength(0);
    await advance(29);
    expect(calls).toHaveLength(0);
    await advance(1);
    expect(calls.map((c) => c.payloads)).toEqual([[1, 2]]);
    calls[0]!.finish();
    await partial;

    const full = Promise.all([3, 4, 5, 6].map((p) => scheduler.enqueue(req(p))));
    await turn();
    expect(calls.map((c) => c.payloads)).toEqual([[1, 2], [3, 4, 5, 6]]);
    calls[1]!.finish();
    await full;
  });

  it('records enqueue and dequeue times from the clock', async () => {
    let now = 5_000n;
    const calls: BatchItem<number>[][] = [];
    const scheduler = createScheduler<number, number>(
      { modelName: 'm', instanceCount: 1, maxBatchSize: 4, dynamicBatching: {} },
      async (_instance, items) => {
        calls.push(items);
        return items.map(() => 0);
      },
      { nowNs: () => now },
    );
    const done = scheduler.enqueue(req(1));
    now = 9_000n;
    await done;
    expect(calls[0]).toEqual([{ payload: 1, enqueuedAtNs: 5_000n, dequeuedAtNs: 9_000n }]);
  });

  it('fails only the item whose result is an Error', async () => {
    const { scheduler, calls } = harness({ dynamicBatching: {} });
    const a = track(scheduler.enqueue(req(1)));
    const b = track(scheduler.enqueue(req(2)));
    await turn();
    calls[0]!.finish([10, new Error('bad row')]);
    await turn();
    expect(a).toEqual({ done: true, value: 10 });
    expect(b.error).toEqual(new Error('bad row'));
  });

  it('when a run rejects, only its batch fails and the loop goes on', async () => {
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: {} });
    const a = track(scheduler.enqueue(req(1)));
    const b = track(scheduler.enqueue(req(2)));
    await turn();
    calls[0]!.finish(new Error('backend crashed'));
    await turn();
    expect(a.error).toEqual(new Error('backend crashed'));
    expect(b.done).toBe(false);
    calls[1]!.finish();
    await turn();
    expect(b).toEqual({ done: true, value: 20 });
  });

  it('treats a run that throws synchronously, or returns the wrong number of results, as a failed batch', async () => {
    let mode: 'throw' | 'short' | 'ok' = 'throw';
    const scheduler = createScheduler<number, number>(
      { modelName: 'm', instanceCount: 1, maxBatchSize: 1, dynamicBatching: {} },
      (_instance, items) => {
        if (mode === 'throw') throw new Error('sync boom');
        if (mode === 'short') return Promise.resolve([]);
        return Promise.resolve(items.map((i) => i.payload));
      },
    );
    await expect(scheduler.enqueue(req(1))).rejects.toThrow('sync boom');
    mode = 'short';
    await expect(scheduler.enqueue(req(2))).rejects.toThrow("model 'm': run returned 0 results for a batch of 1 requests");
    mode = 'ok';
    await expect(scheduler.enqueue(req(3))).resolves.toBe(3);
  });

  it('rejects a request over max_queue_size at enqueue with QueueFullError', async () => {
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: { default_queue_policy: { max_queue_size: 1 } } });
    const first = scheduler.enqueue(req(1));
    await turn(); // 1 runs
    const second = scheduler.enqueue(req(2)); // queued
    await expect(scheduler.enqueue(req(3))).rejects.toBeInstanceOf(QueueFullError);
    calls[0]!.finish();
    await turn();
    calls[1]!.finish();
    await expect(Promise.all([first, second])).resolves.toEqual([10, 20]);
  });

  it('rejects a request with a bad batch size without queueing it', async () => {
    const { scheduler } = harness({ maxBatchSize: 4, dynamicBatching: {} });
    await expect(scheduler.enqueue(req(1, { batchSize: 5 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(scheduler.queuedCount).toBe(0);
  });

  it('fails a queued request with QueueTimeoutError when its REJECT timeout expires while instances are busy', async () => {
    fakeTime();
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: { default_queue_policy: { default_timeout_microseconds: 10_000 } } });
    const first = scheduler.enqueue(req(1));
    await turn();
    const waiting = track(scheduler.enqueue(req(2)));
    await advance(9);
    expect(waiting.done).toBe(false);
    await advance(1);
    expect(waiting.error).toBeInstanceOf(QueueTimeoutError);
    expect((waiting.error as Error).message).toBe('Request timeout expired');
    expect(scheduler.queuedCount).toBe(0);
    calls[0]!.finish();
    await expect(first).resolves.toBe(10);
    expect(calls).toHaveLength(1);
  });

  it('serves higher priorities first once an instance frees up', async () => {
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: { priority_levels: 2, default_priority_level: 2 } });
    const all = [scheduler.enqueue(req(1))];
    await turn();
    all.push(scheduler.enqueue(req(2)), scheduler.enqueue(req(3, { priority: 1 })));
    for (let i = 0; i < 3; i++) {
      await turn();
      calls[i]!.finish();
    }
    await Promise.all(all);
    expect(calls.map((c) => c.payloads)).toEqual([[1], [3], [2]]);
  });

  it('with preserve_ordering delivers results in dispatch order even when a later batch finishes first', async () => {
    const { scheduler, calls } = harness({ instanceCount: 2, maxBatchSize: 1, dynamicBatching: { preserve_ordering: true } });
    const a = track(scheduler.enqueue(req(1)));
    const b = track(scheduler.enqueue(req(2)));
    await turn();
    calls[1]!.finish();
    await turn();
    expect(b.done).toBe(false);
    calls[0]!.finish();
    await turn();
    expect([a.value, b.value]).toEqual([10, 20]);
  });

  it('without dynamic_batching runs each request alone, FIFO, up to instanceCount at once', async () => {
    const { scheduler, calls, stats } = harness({ instanceCount: 2, maxBatchSize: 8 });
    const results = Promise.all([1, 2, 3].map((p) => scheduler.enqueue(req(p, { batchSize: 2 }))));
    await turn();
    expect(calls.map((c) => c.payloads)).toEqual([[1], [2]]);
    calls[0]!.finish();
    await turn();
    calls[1]!.finish();
    calls[2]!.finish();
    await expect(results).resolves.toEqual([10, 20, 30]);
    expect(calls.map((c) => c.payloads)).toEqual([[1], [2], [3]]);
    expect(stats().maxRunning).toBe(2);
  });

  it('drain resolves once queued and running requests are done', async () => {
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: {} });
    await scheduler.drain(); // nothing to wait for
    const results = Promise.all([1, 2].map((p) => scheduler.enqueue(req(p))));
    const drained = track(scheduler.drain());
    await turn();
    calls[0]!.finish();
    await turn();
    expect(drained.done).toBe(false);
    calls[1]!.finish();
    await results;
    await turn();
    expect(drained.done).toBe(true);
    expect([scheduler.queuedCount, scheduler.inFlightCount]).toEqual([0, 0]);
  });

  it('close rejects queued requests and later enqueues, lets running batches finish, then resolves', async () => {
    const { scheduler, calls } = harness({ maxBatchSize: 1, dynamicBatching: { max_queue_delay_microseconds: 60_000_000 } });
    const running = track(scheduler.enqueue(req(1)));
    await turn();
    const queued = track(scheduler.enqueue(req(2)));
    const stop = new ShuttingDownError("model 'm' is unloading");
    const closed = track(scheduler.close(stop));
    await turn();
    expect(queued.error).toBe(stop);
    expect(closed.done).toBe(false);
    await expect(scheduler.enqueue(req(3))).rejects.toBe(stop);
    calls[0]!.finish();
    await turn();
    expect(running).toEqual({ done: true, value: 10 });
    expect(closed.done).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('close leaves no timer behind for a partial batch waiting on a long delay', async () => {
    const { scheduler, calls } = harness({ dynamicBatching: { max_queue_delay_microseconds: 60_000_000 } });
    const waiting = track(scheduler.enqueue(req(1)));
    await turn();
    expect(calls).toHaveLength(0);
    await scheduler.close(new ShuttingDownError('stopping'));
    expect(waiting.error).toBeInstanceOf(ShuttingDownError);
    // jest would report the open 60 s timer as a leaked handle otherwise.
  });

  describe('with stageAhead', () => {
    it('hands a busy instance its next batch once it is ready and as big as the running one', async () => {
      const { scheduler, calls } = harness({ dynamicBatching: {}, stageAhead: true });
      const results = [1, 2].map((p) => scheduler.enqueue(req(p)));
      await turn();
      expect(calls.map((c) => c.payloads)).toEqual([[1, 2]]);
      results.push(scheduler.enqueue(req(3)));
      await turn();
      // One row is fewer than the two running: it may still grow, so it stays queued.
      expect(calls).toHaveLength(1);
      results.push(scheduler.enqueue(req(4)));
      await turn();
      expect(calls.map((c) => [c.instance, c.payloads])).toEqual([
        [0, [1, 2]],
        [0, [3, 4]],
      ]);
      expect(scheduler.inFlightCount).toBe(4);
      expect(scheduler.stagedCount).toBe(2);
      // The instance holds two batches: nothing more is handed to it until one settles.
      results.push(...[5, 6, 7].map((p) => scheduler.enqueue(req(p))));
      await turn();
      expect(calls).toHaveLength(2);
      calls[0]!.finish();
      await turn();
      expect(calls.map((c) => c.payloads)).toEqual([[1, 2], [3, 4], [5, 6, 7]]);
      // [3, 4] runs now; [5, 6, 7] waits behind it.
      expect(scheduler.stagedCount).toBe(3);
      calls[1]!.finish();
      calls[2]!.finish();
      await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40, 50, 60, 70]);
      expect(scheduler.stagedCount).toBe(0);
    });

    it('stages only when every instance is busy, and at the instance whose batch started first', async () => {
      const { scheduler, calls } = harness({ instanceCount: 2, dynamicBatching: {}, stageAhead: true });
      const results = [scheduler.enqueue(req(1))];
      await turn();
      results.push(scheduler.enqueue(req(2)));
      await turn();
      // The second instance was idle: the request ran there rather than being staged.
      expect(calls.map((c) => [c.instance, c.payloads])).toEqual([
        [0, [1]],
        [1, [2]],
      ]);
      results.push(scheduler.enqueue(req(3)));
      await turn();
      expect(calls.map((c) => [c.instance, c.payloads])[2]).toEqual([0, [3]]);
      for (const call of calls) call.finish();
      await expect(Promise.all(results)).resolves.toEqual([10, 20, 30]);
    });

    it('a failed running batch does not fail the staged one, and the instance is freed after both', async () => {
      const { scheduler, calls } = harness({ dynamicBatching: {}, stageAhead: true });
      const first = track(scheduler.enqueue(req(1)));
      await turn();
      const second = track(scheduler.enqueue(req(2)));
      await turn();
      expect(calls).toHaveLength(2);
      calls[0]!.finish(new Error('boom'));
      calls[1]!.finish();
      await turn();
      expect(first.error).toEqual(new Error('boom'));
      expect(second.value).toBe(20);
      const third = scheduler.enqueue(req(3));
      await turn();
      expect(calls[2]!.payloads).toEqual([3]);
      calls[2]!.finish();
      await expect(third).resolves.toBe(30);
      await scheduler.drain();
    });
  });
});

