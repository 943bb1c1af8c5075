import { AbortPoller, abortReason, signalFor, throwIfAborted } from '../../src/util/abort-state';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('polled abort states', () => {
  it('calls onAbort once with the reason when a watched state is aborted, and stops its timer after', async () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false, reason: new Error('gone') };
    const seen: unknown[] = [];
    poller.watch(state, (reason) => seen.push(reason));
    await tick(20);
    expect(seen).toEqual([]);
    state.aborted = true;
    await tick(30);
    expect(seen).toEqual([state.reason]);
    expect(poller.size).toBe(0);
  });

  it('forgets an unwatched state', async () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false };
    const seen: unknown[] = [];
    const entry = poller.watch(state, (reason) => seen.push(reason));
    poller.unwatch(entry);
    state.aborted = true;
    await tick(20);
    expect(seen).toEqual([]);
  });

  it('gives an AbortError when the state has no reason, as AbortSignal does', () => {
    const reason = abortReason({ aborted: true }) as DOMException;
    expect(reason.name).toBe('AbortError');
    expect(() => throwIfAborted({ aborted: true })).toThrow('This operation was aborted');
    expect(() => throwIfAborted({ aborted: false })).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
  });

  it('makes an AbortSignal that follows a polled state (for undici), and passes a real one through', async () => {
    const poller = new AbortPoller(5);
    const state = { aborted: false, reason: 'bye' };
    const { signal, release } = signalFor(state, poller);
    expect(signal!.aborted).toBe(false);
    state.aborted = true;
    await tick(30);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe('bye');
    release();
    const real = new AbortController().signal;
    expect(signalFor(real, poller).signal).toBe(real);
    expect(signalFor(undefined, poller).signal).toBeUndefined();
  });
});
