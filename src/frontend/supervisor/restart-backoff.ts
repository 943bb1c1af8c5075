/**
 * How long to wait before restarting something that died (a worker, the engine): doubling
 * from `initialMs` to `maxMs` while deaths come in quick succession, back to `initialMs`
 * once the last one is `resetAfterMs` in the past. A plain state object; callers pass the
 * clock, tests pass numbers.
 */
export interface RestartBackoffOptions {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

export class RestartBackoff {
  private consecutive = 0;
  private lastDeathAt = -Infinity;

  constructor(private readonly options: RestartBackoffOptions = { initialMs: 100, maxMs: 10_000, resetAfterMs: 60_000 }) {}

  /** Records a death at `now` and returns the delay before the restart. */
  next(now: number): number {
    if (now - this.lastDeathAt >= this.options.resetAfterMs) this.consecutive = 0;
    this.lastDeathAt = now;
    const delay = Math.min(this.options.initialMs * 2 ** this.consecutive, this.options.maxMs);
    this.consecutive++;
    return delay;
  }

  /** Deaths in the current run of quick successive deaths. */
  get streak(): number {
    return this.consecutive;
  }
}
