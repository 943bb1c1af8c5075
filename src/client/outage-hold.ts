/**
 * Holding calls while the server is away (the client's `resendAfterOutage` option). When a
 * call fails because the server cannot be reached, it waits here until the server answers
 * ready again, then its caller sends it again. One probe loop serves every held call: the
 * first call held starts it, and it ends when the server is back, so an outage costs the
 * server one readiness probe per interval however many calls wait.
 *
 * Bounds: at most `maxHeldCalls` wait at once (a call beyond them fails with its own error
 * at once: an outage must not grow the client without limit), and each waits only until its
 * own deadline, then fails with the error that made it wait.
 */
import { throwIfAborted, type AbortState } from '../util/abort-state';

export interface OutageHoldOptions {
  maxHeldCalls: number;
  probeIntervalMs: number;
  /** True when the server answers ready; rejects or false while it does not. */
  probe(signal: AbortSignal): Promise<boolean>;
}

export class OutageHold {
  private held = 0;
  private recovery: Promise<void> | undefined;
  private stopped = false;
  private readonly stopWaiters = new Set<() => void>();

  constructor(private readonly options: OutageHoldOptions) {}

  /** Calls waiting now (tests and diagnostics read it). */
  get heldCalls(): number {
    return this.held;
  }

  /**
   * Resolves when the server is ready again. Rejects with `error` when the cap is reached,
   * when `deadlineMs` (Date.now() scale) comes first, or when the hold is stopped; with the
   * abort state's reason when it is aborted meanwhile.
   */
  async waitForServer(error: unknown, deadlineMs: number, signal?: AbortState): Promise<void> {
    if (this.stopped || this.held >= this.options.maxHeldCalls || Date.now() >= deadlineMs) throw error;
    this.held++;
    let timer: NodeJS.Timeout | undefined;
    let release: (() => void) | undefined;
    try {
      const back = (this.recovery ??= this.recover());
      const givenUp = new Promise<'gave up'>((resolve) => {
        timer = setTimeout(() => resolve('gave up'), Math.max(1, deadlineMs - Date.now()));
        release = () => resolve('gave up');
        this.stopWaiters.add(release);
      });
      if ((await Promise.race([back.then(() => 'back' as const), givenUp])) === 'gave up') throw error;
      throwIfAborted(signal);
    } finally {
      this.held--;
      clearTimeout(timer);
      if (release !== undefined) this.stopWaiters.delete(release);
    }
  }

  /** Fails every held call with its error; no call is held from now on (the client is closing). */
  stop(): void {
    this.stopped = true;
    for (const release of this.stopWaiters) release();
    this.stopWaiters.clear();
  }

  /** Probes until the server answers ready (or the hold is stopped); shared by every held call. */
  private async recover(): Promise<void> {
    const { probeIntervalMs, probe } = this.options;
    try {
      while (!this.stopped) {
        await sleep(probeIntervalMs);
        // A probe the server accepts but never answers must not stall the loop.
        const signal = AbortSignal.timeout(Math.max(250, probeIntervalMs * 4));
        if (await probe(signal).catch(() => false)) return;
      }
    } finally {
      this.recovery = undefined;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
