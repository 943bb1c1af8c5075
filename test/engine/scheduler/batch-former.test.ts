import { DeadlineUnreachableError, InvalidArgumentError, ModelConfigError, QueueFullError } from '../../../src/errors';
import { BatchFormer } from '../../../src/engine/scheduler/batch-former';
import type { DynamicBatchingConfig } from '../../../src/engine/scheduler/scheduler-types';

// Time is a plain number of microseconds: no timers anywhere in this file.

interface Req {
  id: string;
  rows?: number;
  shape?: string;
  at?: number;
  priority?: number;
  timeout?: number;
  /** The caller's state, read by the former whenever it asks. */
  gone?: { value: boolean };
}

function former(dynamicBatching: DynamicBatchingConfig | undefined, maxBatchSize = 8, instanceCount = 1): BatchFormer<string> {
  return new BatchFormer<string>({ modelName: 'm', maxBatchSize, dynamicBatching, instanceCount });
}

function add(f: BatchFormer<string>, reqs: Req[]): void {
  for (const r of reqs) {
    f.enqueue(
      {
        item: r.id,
        batchSize: r.rows ?? 1,
        shapeKey: r.shape ?? 's',
        priority: r.priority,
        timeoutMicroseconds: r.timeout,
        isCancelled: r.gone === undefined ? undefined : () => r.gone!.value,
      },
      r.at ?? 0,
    );
  }
}

/** Single-row requests a, b, c, ... all queued at `at`. */
function many(n: number, at = 0): Req[] {
  return Array.from({ length: n }, (_, i) => ({ id: String.fromCharCode(97 + i), at }));
}

/** Polls until no batch comes out; returns the batches in order. */
function drainBatches(f: BatchFormer<string>, now: number, idle = 1): string[][] {
  const batches: string[][] = [];
  for (let d = f.poll(now, idle); d.batch; d = f.poll(now, idle)) batches.push(d.batch);
  return batches;
}

describe('BatchFormer: forming the next batch', () => {
  it.each<[string, DynamicBatchingConfig | undefined, number, Req[], number, { batch?: string[]; waitUs?: number }]>([
    ['with delay 0 and no preferred sizes, whatever is queued goes at once', {}, 8, many(3), 0, { batch: ['a', 'b', 'c'] }],
    ['a full batch goes before the delay expires', { max_queue_delay_microseconds: 1000 }, 4, many(5), 0, { batch: ['a', 'b', 'c', 'd'] }],
    [
      'a partial batch waits until the oldest request has waited max_queue_delay',
      { max_queue_delay_microseconds: 1000 },
      8,
      [{ id: 'a', at: 0 }, { id: 'b', at: 300 }],
      500,
      { waitUs: 500 },
    ],
    [
      'once the oldest request has waited max_queue_delay, what is queued goes',
      { max_queue_delay_microseconds: 1000 },
      8,
      [{ id: 'a', at: 0 }, { id: 'b', at: 300 }],
      1000,
      { batch: ['a', 'b'] },
    ],
    ['the largest reachable preferred size goes at once', { preferred_batch_size: [2, 4], max_queue_delay_microseconds: 1000 }, 8, many(5), 0, { batch: ['a', 'b', 'c', 'd'] }],
    ['a preferred size goes at once even with more queued and delay 0', { preferred_batch_size: [2] }, 8, many(3), 0, { batch: ['a', 'b'] }],
    ['rows short of every preferred size wait for the delay', { preferred_batch_size: [4], max_queue_delay_microseconds: 1000 }, 8, many(3), 10, { waitUs: 990 }],
    ['after the delay everything that fits goes, past the preferred size', { preferred_batch_size: [2], max_queue_delay_microseconds: 1000 }, 8, many(3), 1000, { batch: ['a', 'b', 'c'] }],
    ['with delay 0, rows short of every preferred size go at once', { preferred_batch_size: [4] }, 8, many(3), 0, { batch: ['a', 'b', 'c'] }],
    [
      'multi-row requests count their rows against max_batch_size, and a batch that cannot grow goes',
      { max_queue_delay_microseconds: 1000 },
      8,
      [{ id: 'a', rows: 3 }, { id: 'b', rows: 3 }, { id: 'c', rows: 3 }],
      0,
      { batch: ['a', 'b'] },
    ],
    [
      'multi-row requests can land on a preferred size',
      { preferred_batch_size: [4], max_queue_delay_microseconds: 1000 },
      8,
      [{ id: 'a', rows: 1 }, { id: 'b', rows: 3 }, { id: 'c', rows: 2 }],
      0,
      { batch: ['a', 'b'] },
    ],
    [
      'a request that would carry rows past the largest preferred size leaves the batch before it',
      { preferred_batch_size: [4, 8], max_queue_delay_microseconds: 1000 },
      16,
      [{ id: 'a', rows: 3 }, { id: 'b', rows: 6 }],
      0,
      { batch: ['a'] },
    ],
    [
      'shape keys are never mixed: the batch stops at the first other shape and goes',
      { max_queue_delay_microseconds: 1000 },
      8,
      [{ id: 'a', shape: 'x' }, { id: 'b', shape: 'x' }, { id: 'c', shape: 'y' }, { id: 'd', shape: 'x' }],
      0,
      { batch: ['a', 'b'] },
    ],
    ['without dynamic_batching each request runs alone', undefined, 8, many(3), 0, { batch: ['a'] }],
    ['with max_batch_size 0 each request runs alone', { max_queue_delay_microseconds: 1000 }, 0, many(3), 0, { batch: ['a'] }],
  ])('%s', (_name, config, maxBatchSize, reqs, now, expected) => {
    const f = former(config, maxBatchSize);
    add(f, reqs);
    const decision = f.poll(now, 1);
    expect({ batch: decision.batch, waitUs: decision.waitUs }).toEqual({ batch: expected.batch, waitUs: expected.waitUs });
    expect(decision.timedOut).toEqual([]);
  });

  it('hands out successive batches while instances are idle, leaving the queue empty', () => {
    const f = former({ preferred_batch_size: [2] });
    add(f, many(5));
    expect(drainBatches(f, 0, 3)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(f.size).toBe(0);
    expect(f.poll(0, 1)).toEqual({ timedOut: [], cancelled: [] });
  });

  it('forms no batch without an idle instance, however full the queue', () => {
    const f = former({}, 2);
    add(f, many(4));
    expect(f.poll(0, 0)).toEqual({ timedOut: [], cancelled: [], waitUs: undefined });
    expect(f.size).toBe(4);
  });

  it('never mixes shapes across successive batches either', () => {
    const f = former({}, 8);
    add(f, [{ id: 'a', shape: 'x' }, { id: 'b', shape: 'y' }, { id: 'c', shape: 'y' }, { id: 'd', shape: 'x' }]);
    expect(drainBatches(f, 0, 4)).toEqual([['a'], ['b', 'c'], ['d']]);
  });
});

describe('BatchFormer: priorities', () => {
  const levels = { priority_levels: 3, default_priority_level: 2 };

  it.each<[string, DynamicBatchingConfig, number, Req[], string[][]]>([
    ['priority 1 is served before priority 2 even when queued later', levels, 8, [{ id: 'a', priority: 2 }, { id: 'b', priority: 1 }], [['b', 'a']]],
    [
      'unset, 0 and out-of-range priorities take default_priority_level',
      levels,
      8,
      [{ id: 'a' }, { id: 'b', priority: 0 }, { id: 'c', priority: 9 }, { id: 'd', priority: 3 }, { id: 'e', priority: 1 }],
      [['e', 'a', 'b', 'c', 'd']],
    ],
    [
      'a higher-priority request of another shape ends up in a batch of its own first',
      levels,
      8,
      [{ id: 'a', priority: 2, shape: 'x' }, { id: 'b', priority: 2, shape: 'x' }, { id: 'c', priority: 1, shape: 'y' }],
      [['c'], ['a', 'b']],
    ],
    ['with priority_levels 0 priorities are ignored (FIFO)', {}, 8, [{ id: 'a', priority: 2 }, { id: 'b', priority: 1 }], [['a', 'b']]],
    ['with max_batch_size 1 each batch is the highest-priority request', levels, 1, [{ id: 'a', priority: 3 }, { id: 'b', priority: 2 }, { id: 'c', priority: 1 }], [['c'], ['b'], ['a']]],
  ])('%s', (_name, config, maxBatchSize, reqs, batches) => {
    const f = former(config, maxBatchSize);
    add(f, reqs);
    expect(drainBatches(f, 0, reqs.length)).toEqual(batches);
  });
});

describe('BatchFormer: max_queue_size', () => {
  it('refuses a request over the limit with "Exceeds maximum queue size" and does not queue it', () => {
    const f = former({ default_queue_policy: { max_queue_size: 2 } });
    add(f, many(2));
    expect(() => add(f, [{ id: 'c' }])).toThrow(QueueFullError);
    expect(() => add(f, [{ id: 'c' }])).toThrow('Exceeds maximum queue size');
    expect(f.size).toBe(2);
  });

  it('counts each priority level against its own policy', () => {
    const f = former({ priority_levels: 2, default_priority_level: 2, priority_queue_policy: { 1: { max_queue_size: 1 } } });
    add(f, [{ id: 'a', priority: 1 }]);
    expect(() => add(f, [{ id: 'b', priority: 1 }])).toThrow(QueueFullError);
    add(f, [{ id: 'c', priority: 2 }, { id: 'd', priority: 2 }]);
    expect(f.size).toBe(3);
  });

  it('makes room again once a batch leaves the queue', () => {
    const f = former({ default_queue_policy: { max_queue_size: 1 } });
    add(f, [{ id: 'a' }]);
    expect(f.poll(0, 1).batch).toEqual(['a']);
    add(f, [{ id: 'b' }]);
    expect(f.size).toBe(1);
  });

  it('counts delayed (timed-out under DELAY) requests as queued', () => {
    const f = former({ default_queue_policy: { max_queue_size: 1, timeout_action: 'DELAY', default_timeout_microseconds: 10 } });
    add(f, [{ id: 'a', at: 0 }]);
    f.poll(20, 0);
    expect(() => add(f, [{ id: 'b', at: 20 }])).toThrow(QueueFullError);
  });
});

describe('BatchFormer: queue timeouts', () => {
  it('REJECT: a timed-out request leaves the queue and is reported once', () => {
    const f = former({ max_queue_delay_microseconds: 1000, default_queue_policy: { default_timeout_microseconds: 100 } });
    add(f, [{ id: 'a', at: 0 }, { id: 'b', at: 50 }]);
    expect(f.poll(100, 1)).toEqual({ timedOut: ['a'], cancelled: [], waitUs: 50 }); // b: timeout at 150 comes before its delay at 1050
    expect(f.size).toBe(1);
    expect(f.poll(120, 1).timedOut).toEqual([]);
  });

  it('REJECT: timeouts apply even when no instance is idle, and the wait is until the next deadline', () => {
    const f = former({ default_queue_policy: { default_timeout_microseconds: 100 } });
    add(f, [{ id: 'a', at: 0 }, { id: 'b', at: 30 }]);
    expect(f.poll(10, 0)).toEqual({ timedOut: [], cancelled: [], waitUs: 90 });
    expect(f.poll(100, 0)).toEqual({ timedOut: ['a'], cancelled: [], waitUs: 30 });
    expect(f.poll(130, 0)).toEqual({ timedOut: ['b'], cancelled: [] });
    expect(f.size).toBe(0);
  });

  it('DELAY: a timed-out request stays queued but goes behind the unexpired ones of its level', () => {
    const f = former({ default_queue_policy: { timeout_action: 'DELAY', default_timeout_microseconds: 100 } }, 1);
    add(f, [{ id: 'a', at: 0 }, { id: 'b', at: 90 }]);
    const first = f.poll(100, 1);
    expect(first).toEqual({ timedOut: [], cancelled: [], batch: ['b'] });
    expect(f.poll(100, 1).batch).toEqual(['a']);
  });

  it('DELAY: a delayed request still goes before every lower-priority request', () => {
    const f = former(
      {
        priority_levels: 2,
        default_priority_level: 2,
        priority_queue_policy: { 1: { timeout_action: 'DELAY', default_timeout_microseconds: 100 } },
      },
      1,
    );
    add(f, [{ id: 'a', priority: 1, at: 0 }, { id: 'b', priority: 2, at: 0 }, { id: 'c', priority: 1, at: 50 }]);
    expect(drainBatches(f, 100, 3)).toEqual([['c'], ['a'], ['b']]);
  });

  it.each<[string, { default_timeout_microseconds?: number; allow_timeout_override?: boolean }, number, number | undefined]>([
    ['without allow_timeout_override a request cannot shorten the default', { default_timeout_microseconds: 100 }, 50, 100],
    ['with allow_timeout_override a request can shorten the default', { default_timeout_microseconds: 100, allow_timeout_override: true }, 50, 50],
    ['with allow_timeout_override a request cannot lengthen the default', { default_timeout_microseconds: 100, allow_timeout_override: true }, 500, 100],
    ['with allow_timeout_override and no default a request sets its own', { allow_timeout_override: true }, 50, 50],
    ['without allow_timeout_override and no default a request never times out', {}, 50, undefined],
    ['a request timeout of 0 keeps the default', { default_timeout_microseconds: 100, allow_timeout_override: true }, 0, 100],
  ])('%s', (_name, policy, requestTimeout, expiresAt) => {
    const f = former({ default_queue_policy: policy });
    add(f, [{ id: 'a', at: 0, timeout: requestTimeout }]);
    if (expiresAt === undefined) {
      expect(f.poll(1e9, 0)).toEqual({ timedOut: [], cancelled: [] });
      return;
    }
    expect(f.poll(expiresAt - 1, 0)).toEqual({ timedOut: [], cancelled: [], waitUs: 1 });
    expect(f.poll(expiresAt, 0).timedOut).toEqual(['a']);
  });
});

describe('BatchFormer: guards', () => {
  it.each([
    ['more rows than max_batch_size', 8, 9, 'inference request batch-size must be <= 8'],
    ['zero rows', 8, 0, 'inference request batch-size must be >= 1'],
    ['more than one row for a model that does not batch', 0, 2, 'inference request batch-size must be <= 1'],
  ])('refuses a request with %s and queues nothing', (_name, maxBatchSize, rows, message) => {
    const f = former({}, maxBatchSize);
    expect(() => add(f, [{ id: 'a', rows }])).toThrow(InvalidArgumentError);
    expect(() => add(f, [{ id: 'a', rows }])).toThrow(message);
    expect(f.size).toBe(0);
  });

  it.each<[string, DynamicBatchingConfig, number, string]>([
    ['a preferred size above max_batch_size', { preferred_batch_size: [16] }, 8, 'dynamic_batching.preferred_batch_size'],
    ['a preferred size of 0', { preferred_batch_size: [0] }, 8, 'dynamic_batching.preferred_batch_size'],
    ['default_priority_level outside [1, priority_levels]', { priority_levels: 2, default_priority_level: 3 }, 8, 'dynamic_batching.default_priority_level'],
    ['priority_levels without default_priority_level', { priority_levels: 2 }, 8, 'dynamic_batching.default_priority_level'],
    ['a negative max_queue_delay_microseconds', { max_queue_delay_microseconds: -1 }, 8, 'dynamic_batching.max_queue_delay_microseconds'],
    ['a negative max_batch_size', {}, -1, 'max_batch_size'],
  ])('rejects a config with %s, naming the model and the field', (_name, config, maxBatchSize, field) => {
    expect(() => former(config, maxBatchSize)).toThrow(ModelConfigError);
    expect(() => former(config, maxBatchSize)).toThrow(`model 'm': ${field}`);
  });

  it('removeAll returns every queued request in service order and empties the queue', () => {
    const f = former({ priority_levels: 2, default_priority_level: 2 });
    add(f, [{ id: 'a' }, { id: 'b', priority: 1 }, { id: 'c' }]);
    expect(f.removeAll()).toEqual(['b', 'a', 'c']);
    expect(f.size).toBe(0);
    expect(f.poll(0, 1)).toEqual({ timedOut: [], cancelled: [] });
  });
});

describe('BatchFormer: staging a batch at a busy instance', () => {
  it.each<[string, DynamicBatchingConfig | undefined, number, Req[], number, number, string[] | undefined]>([
    ['a ready batch as big as the running one is staged', {}, 8, many(3), 0, 3, ['a', 'b', 'c']],
    ['a ready batch bigger than the running one is staged whole', {}, 8, many(5), 0, 3, ['a', 'b', 'c', 'd', 'e']],
    ['a batch smaller than the running one is not staged: it may still grow', {}, 8, many(2), 0, 3, undefined],
    ['a batch that cannot grow (full) is staged even when smaller than the running one', {}, 2, many(3), 0, 4, ['a', 'b']],
    [
      'a batch that cannot grow (the next request has another shape) is staged',
      {},
      8,
      [{ id: 'a' }, { id: 'b', shape: 't' }],
      0,
      4,
      ['a'],
    ],
    ['a batch still inside max_queue_delay is not staged', { max_queue_delay_microseconds: 1000 }, 8, many(4), 500, 2, undefined],
    ['once max_queue_delay has passed it is', { max_queue_delay_microseconds: 1000 }, 8, many(4), 1000, 2, ['a', 'b', 'c', 'd']],
    ['rows count, not requests', {}, 8, [{ id: 'a', rows: 2 }, { id: 'b', rows: 2 }], 0, 4, ['a', 'b']],
    ['without dynamic batching one request is staged behind the one running', undefined, 8, many(2), 0, 1, ['a']],
  ])('%s', (_name, config, maxBatchSize, reqs, now, runningRows, expected) => {
    const f = former(config, maxBatchSize);
    add(f, reqs);
    expect(f.stage(now, runningRows).batch).toEqual(expected);
    expect(f.size).toBe(reqs.length - (expected?.length ?? 0));
  });

  it('stages nothing from an empty queue', () => {
    expect(former({}).stage(0, 1)).toEqual({ cancelled: [] });
  });
});

describe('BatchFormer: a model without a queue policy honours request timeouts', () => {
  it.each<[string, DynamicBatchingConfig, boolean]>([
    ['no queue policy at all: the request timeout counts', {}, true],
    ['a default_queue_policy without allow_timeout_override: Triton\'s rule, it does not', { default_queue_policy: {} }, false],
    ['allow_timeout_override false said outright: it does not', { default_queue_policy: { allow_timeout_override: false } }, false],
    ['priority levels without policies: it counts at each', { priority_levels: 2, default_priority_level: 1 }, true],
  ])('%s', (_name, config, expires) => {
    const f = former(config);
    add(f, [{ id: 'a', at: 0, timeout: 100 }]);
    expect(f.poll(100, 0).timedOut).toEqual(expires ? ['a'] : []);
  });
});

describe('BatchFormer: cancelled requests never join a batch', () => {
  it('drops cancelled requests at the head of the queue and hands them back', () => {
    const gone = { value: false };
    const f = former({ max_queue_delay_microseconds: 1000 });
    add(f, [{ id: 'a', gone }, { id: 'b', gone }, { id: 'c' }]);
    gone.value = true;
    expect(f.poll(10, 0)).toEqual({ timedOut: [], cancelled: ['a', 'b'], waitUs: undefined });
    expect(f.size).toBe(1);
    expect(f.poll(1000, 1)).toEqual({ timedOut: [], cancelled: [], batch: ['c'] });
  });

  it('leaves a cancelled request behind the head out of the batch as it is taken', () => {
    const gone = { value: false };
    const f = former({});
    add(f, [{ id: 'a' }, { id: 'b', gone }, { id: 'c' }]);
    gone.value = true;
    expect(f.poll(0, 1)).toEqual({ timedOut: [], cancelled: ['b'], batch: ['a', 'c'] });
    expect(f.size).toBe(0);
  });

  it('plans again when every request of the planned batch was cancelled', () => {
    const gone = { value: false };
    const f = former({}, 2);
    add(f, [{ id: 'a' }, { id: 'b', gone }, { id: 'c', gone }, { id: 'd' }]);
    expect(f.poll(0, 1).batch).toEqual(['a', 'b']);
    gone.value = true;
    expect(f.poll(0, 1)).toEqual({ timedOut: [], cancelled: ['c'], batch: ['d'] });
  });

  it('a request whose caller is still there is taken as usual', () => {
    const f = former({});
    add(f, [{ id: 'a', gone: { value: false } }]);
    expect(f.poll(0, 1).batch).toEqual(['a']);
  });

  it('stage() hands back the cancelled requests too', () => {
    const gone = { value: false };
    const f = former({});
    add(f, [{ id: 'a', gone }, { id: 'b' }, { id: 'c' }]);
    gone.value = true;
    expect(f.stage(0, 1)).toEqual({ cancelled: ['a'], batch: ['b', 'c'] });
  });
});

describe('BatchFormer: shedding requests whose timeout the queue outlasts', () => {
  /** A former that has seen one batch of 4 rows take 400 µs: 100 µs per row. */
  function measured(config: DynamicBatchingConfig = {}, instanceCount = 1): BatchFormer<string> {
    const f = former(config, 8, instanceCount);
    f.observeExecution(4, 400);
    return f;
  }

  it('estimates the wait as the rows queued times the cost per row', () => {
    const f = measured();
    add(f, [{ id: 'a', rows: 4 }, { id: 'b', rows: 2 }]);
    expect(f.estimatedWaitUs()).toBe(600);
  });

  it('spreads the queued rows over the instances', () => {
    const f = measured({}, 2);
    add(f, [{ id: 'a', rows: 4 }, { id: 'b', rows: 2 }]);
    expect(f.estimatedWaitUs()).toBe(300);
  });

  it.each<[string, number | undefined, boolean]>([
    ['a timeout shorter than the queued work is refused at once', 500, true],
    ['a timeout longer than the queued work is queued', 700, false],
    ['a request without a timeout is always queued', undefined, false],
  ])('%s', (_name, timeout, refused) => {
    const f = measured();
    add(f, [{ id: 'a', rows: 4 }, { id: 'b', rows: 2 }]);
    const enqueue = () => add(f, [{ id: 'c', timeout }]);
    if (refused) {
      expect(enqueue).toThrow(DeadlineUnreachableError);
      expect(enqueue).toThrow('cannot be served within its timeout of 0.5 ms: the work queued ahead of it takes about 0.6 ms');
      expect(f.size).toBe(2);
    } else {
      enqueue();
      expect(f.size).toBe(3);
    }
  });

  it('never sheds before a batch has run: there is no estimate yet', () => {
    const f = former({});
    add(f, [{ id: 'a', rows: 8 }, { id: 'b', rows: 8 }]);
    expect(() => add(f, [{ id: 'c', timeout: 1 }])).not.toThrow();
  });

  it('counts only the rows at the request\'s priority level and above', () => {
    const f = measured({ priority_levels: 2, default_priority_level: 2 });
    add(f, [{ id: 'low', rows: 8, priority: 2 }]);
    expect(() => add(f, [{ id: 'high', timeout: 500, priority: 1 }])).not.toThrow();
    expect(() => add(f, [{ id: 'low2', timeout: 500, priority: 2 }])).toThrow(DeadlineUnreachableError);
  });

  it('forgets the rows that left the queue: taken, timed out, cancelled', () => {
    const gone = { value: false };
    const f = measured({}, 1);
    add(f, [{ id: 'a', rows: 4 }, { id: 'b', rows: 4 }, { id: 'c', rows: 4, gone }]);
    expect(f.estimatedWaitUs()).toBe(1200);
    expect(f.poll(0, 1).batch).toEqual(['a', 'b']);
    expect(f.estimatedWaitUs()).toBe(400);
    add(f, [{ id: 'd', rows: 2, timeout: 1000 }]);
    expect(f.estimatedWaitUs()).toBe(600);
    gone.value = true;
    expect(f.poll(1000, 0)).toEqual({ timedOut: ['d'], cancelled: ['c'], waitUs: undefined });
    expect(f.estimatedWaitUs()).toBe(0);
  });

  it('follows the recent cost per row (a moving average)', () => {
    const f = measured();
    f.observeExecution(1, 1100); // 1,100 µs per row: the average moves a fifth of the way
    add(f, [{ id: 'a' }]);
    expect(f.estimatedWaitUs()).toBe(300);
  });
});
