/**
 * The state behind --max-requests-per-worker (gunicorn's max_requests with jitter) and
 * --worker-timeout-ms (gunicorn's timeout): plain functions and a watchdog, given numbers.
 */
import { HeartbeatWatchdog, requestLimit } from '../../src/frontend/supervisor/worker-lifetime';

describe('a worker request limit', () => {
  it.each([
    [0, 10, 0.99, 0],
    [100, 0, 0.99, 100],
    [100, 10, 0, 100],
    [100, 10, 0.5, 105],
    [100, 10, 0.999, 110],
  ])('of max %i with jitter %i and randomness %d is %i (0: never)', (max, jitter, random, limit) => {
    expect(requestLimit(max, jitter, () => random)).toBe(limit);
  });

  it('spreads over max..max+jitter', () => {
    const limits = new Set(Array.from({ length: 2000 }, () => requestLimit(50, 5)));
    expect([...limits].sort((a, b) => a - b)).toEqual([50, 51, 52, 53, 54, 55]);
  });
});

describe('the heartbeat watchdog', () => {
  it('reports a worker silent for longer than the timeout once, and no other', () => {
    const watchdog = new HeartbeatWatchdog<string>(2_000);
    watchdog.beat('a', 0);
    watchdog.beat('b', 0);
    watchdog.beat('b', 1_500);
    expect(watchdog.overdue(2_000)).toEqual([]);
    expect(watchdog.overdue(2_001)).toEqual([{ worker: 'a', silentMs: 2_001 }]);
    expect(watchdog.overdue(3_000)).toEqual([]);
    expect(watchdog.overdue(3_501)).toEqual([{ worker: 'b', silentMs: 2_001 }]);
  });

  it('forgets workers that exited, and reports nothing when the timeout is 0', () => {
    const watchdog = new HeartbeatWatchdog<string>(1_000);
    watchdog.beat('a', 0);
    watchdog.forget('a');
    expect(watchdog.overdue(10_000)).toEqual([]);
    const off = new HeartbeatWatchdog<string>(0);
    off.beat('a', 0);
    expect(off.overdue(1e9)).toEqual([]);
  });
});
