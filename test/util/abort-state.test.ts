import { AbortPoller, abortReason, signalFor, throwIfAborted } from '../../src/util/abort-state';

// The poller's interval timer runs on jest's fake timers: time moves only when a test says so.
beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());
const tick = (ms: number): void => void jest.advanceTimersByTime(ms);

describe('polled abort states', () => {
  it('calls onAbort once with the reason at the first poll after a watched state is aborted, and stops its timer after', () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false, reason: new Error('gone') };
    const seen: unknown[] = [];
    poller.watch(state, (reason) => seen.push(reason));
    tick(20);
    expect(seen).toEqual([]);
    expect(jest.getTimerCount()).toBe(1);
    state.aborted = true;
    tick(4);
    expect(seen).toEqual([]);
    tick(1);
    expect(seen).toEqual([state.reason]);
    tick(30);
    expect(seen).toEqual([state.reason]);
    expect(poller.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('forgets an unwatched state, and its timer with it', () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false };
    const seen: unknown[] = [];
    const entry = poller.watch(state, (reason) => seen.push(reason));
    poller.unwatch(entry);
    state.aborted = true;
    tick(20);
    expect(seen).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('gives an AbortError when the state has no reason, as AbortSignal does', () => {
    const reason = abortReason({ aborted: true }) as DOMException;
    expect(reason.name).toBe('AbortError');
    expect(() => throwIfAborted({ aborted: true })).toThrow('This operation was aborted');
    expect(() => throwIfAborted({ aborted: false })).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
  });

  it('makes an AbortSignal that follows a polled state (for undici), and passes a real one through', () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false, reason: 'bye' };
    const { signal, release } = signalFor(state, poller);
    expect(signal!.aborted).toBe(false);
    state.aborted = true;
    tick(5);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe('bye');
    release();
    const real = new AbortController().signal;
    expect(signalFor(real, poller).signal).toBe(real);
    expect(signalFor(undefined, poller).signal).toBeUndefined();
  });
});
