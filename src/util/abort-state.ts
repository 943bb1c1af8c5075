/**
 * Cancellation that costs nothing until it happens. An AbortSignal is an EventTarget: making
 * one and listening to it is a measurable share of a scoring worker's request (bench/README.md,
 * "Measurements behind design choices").
 * Most calls are never cancelled, so the client also takes a plain `AbortState` (anything
 * with `aborted` and `reason`, a scoring worker's RunContext among them) and polls it: one
 * interval timer per pool, running only while such calls are in flight, notices an abort
 * within ABORT_POLL_INTERVAL_MS. A real AbortSignal is still listened to, as before.
 */

/** What the client needs to know of a cancellation: whether, and why. AbortSignal is one. */
export interface AbortState {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

/** How often polled abort states are read while calls that carry them are in flight. */
export const ABORT_POLL_INTERVAL_MS = 20;

export function isAbortSignal(state: AbortState | undefined): state is AbortSignal {
  return state instanceof AbortSignal;
}

/** The error a polled abort rejects with when its state gives no reason (as AbortSignal's default). */
export function abortReason(state: AbortState): unknown {
  if (state.reason !== undefined) return state.reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

/** Throws the state's reason when it is aborted (AbortSignal.throwIfAborted for any state). */
export function throwIfAborted(state: AbortState | undefined): void {
  if (state?.aborted === true) throw abortReason(state);
}

interface Watched {
  readonly state: AbortState;
  readonly onAbort: (reason: unknown) => void;
}

/**
 * Polls abort states on one unref'd interval timer that runs only while something is
 * watched. Watching and unwatching are a Set insert and delete.
 */
export class AbortPoller {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = ABORT_POLL_INTERVAL_MS) {}

  /** Calls onAbort once, within about one interval, if the state becomes aborted. Returns the handle to unwatch. */
  watch(state: AbortState, onAbort: (reason: unknown) => void): Watched {
    const entry: Watched = { state, onAbort };
    this.watched.add(entry);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.check(), this.intervalMs);
      this.timer.unref();
    }
    return entry;
  }

  unwatch(entry: Watched): void {
    this.watched.delete(entry);
    if (this.watched.size === 0) this.stop();
  }

  get size(): number {
    return this.watched.size;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    for (const entry of this.watched) {
      if (!entry.state.aborted) continue;
      this.watched.delete(entry);
      entry.onAbort(abortReason(entry.state));
    }
    if (this.watched.size === 0) this.stop();
  }
}

/** An AbortSignal that follows a polled state (for APIs that want a real one: undici). */
export function signalFor(state: AbortState | undefined, poller: AbortPoller): { signal: AbortSignal | undefined; release(): void } {
  if (state === undefined || isAbortSignal(state)) return { signal: state, release: () => {} };
  const controller = new AbortController();
  if (state.aborted) {
    controller.abort(abortReason(state));
    return { signal: controller.signal, release: () => {} };
  }
  const entry = poller.watch(state, (reason) => controller.abort(reason));
  return { signal: controller.signal, release: () => poller.unwatch(entry) };
}
