/**
 * Poll mode's rule for acting on a scan: a model directory's change (added, changed or
 * removed) is applied only once two consecutive scans agree on it, that is, the directory
 * looked the same in this scan and the previous one (the same fingerprint, or absent both
 * times) and different from what the poller last acted on. Stability across two scans is
 * the whole rule.
 *
 * Why: a scan is not atomic with respect to someone editing the repository, and what it
 * catches mid-edit is transient. A model updated by swapping its folder (mv m m.old;
 * mv m.new m) is absent for an instant: acting on a scan that lands in that instant
 * unloads the model, and its requests fail ("not ready", then "not found") until a later
 * scan loads it again. A model copied in with cp -r, or a config.pbtxt rewritten in place
 * (truncated, then written), is half-written for a while: loading it then fails, or loads
 * a model other than the one meant. The next scan sees something else in each case, so
 * waiting for two agreeing scans filters them out. The rule judges stability, not
 * completeness: whether a directory is a complete model is the loader's question (model
 * file names vary by backend, an ensemble's version directories are empty), and a model
 * still being written changes size or mtime between scans. It costs one poll interval
 * more before a change takes effect. What it cannot catch is an edit that pauses for
 * longer than an interval; renaming a finished folder into place is still the way to add
 * or update a model.
 *
 * New models wait for two agreeing scans too. Triton has no such rule (each scan is acted
 * on as found), but a half-written copy is most likely for a model being added, and a
 * staging folder inside the repository (m.new) that is renamed away before the next scan
 * is never loaded under a name no one meant. One rule for every kind of change is also
 * simpler to state and to reason about than exceptions by kind.
 *
 * The start-up scan is taken as it is (accept): start-up loads everything at once and
 * waits for nothing, as in Triton and in the other model control modes.
 *
 * Pure: no timers, no file system; the poller feeds it snapshots and applies what it returns.
 */
import { RepositoryChanges, RepositorySnapshot, diffSnapshots } from './repository-snapshot';

/** A fingerprint no scan produces (they are sha256 hex digests): "reload when settled". */
const STALE = 'stale';

export class ScanConfirmation {
  /** What the poller last acted on: model → fingerprint. */
  private applied = new Map<string, string>();
  /** Models whose last scan differed from `applied`, with what it saw (undefined: absent). */
  private pending = new Map<string, string | undefined>();

  /** Takes a scan as it is, all of it confirmed (the start-up scan). */
  accept(snapshot: RepositorySnapshot): RepositoryChanges {
    const changes = diffSnapshots(this.applied, snapshot);
    this.applied = new Map(snapshot);
    this.pending = new Map();
    return changes;
  }

  /**
   * Feeds a later scan; returns the changes this scan and the previous one agree on, which
   * the caller is to apply now. A model that differs from what was applied but not the way
   * the previous scan saw it waits for the next scan.
   */
  observe(snapshot: RepositorySnapshot): RepositoryChanges {
    const confirmed = new Map(this.applied);
    const pending = new Map<string, string | undefined>();
    for (const name of new Set([...this.applied.keys(), ...this.pending.keys(), ...snapshot.keys()])) {
      const seen = snapshot.get(name);
      // Unchanged, or back as it was applied (a swap of identical files): nothing to do.
      if (seen === this.applied.get(name)) continue;
      if (this.pending.has(name) && this.pending.get(name) === seen) {
        if (seen === undefined) confirmed.delete(name);
        else confirmed.set(name, seen);
      } else {
        pending.set(name, seen);
      }
    }
    const changes = diffSnapshots(this.applied, confirmed);
    this.applied = confirmed;
    this.pending = pending;
    return changes;
  }

  /**
   * Asks for a loaded model to be reported modified once two scans agree on its directory,
   * even if they agree it is as it was applied. For an ensemble whose composing model
   * changed while its own directory was mid-change: it is reloaded from settled files
   * rather than half-written ones, and not forgotten if they settle back unchanged.
   */
  reloadWhenSettled(name: string): void {
    if (this.applied.has(name)) this.applied.set(name, STALE);
  }

  /** Models applied (loaded or tried), sorted. */
  get appliedNames(): string[] {
    return [...this.applied.keys()].sort();
  }

  /** Models whose last scan saw a change that the next scan is to confirm, sorted. */
  get waiting(): string[] {
    return [...this.pending.keys()].sort();
  }

  isWaiting(name: string): boolean {
    return this.pending.has(name);
  }
}
