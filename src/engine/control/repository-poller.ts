/**
 * Model control mode "poll" (Triton's --model-control-mode=poll --repository-poll-secs=N):
 * the repository is scanned every N seconds, and what changed since the last scan is
 * applied: new model directories are loaded, changed ones reloaded, removed ones unloaded.
 * A change is applied once two consecutive scans agree on it (ScanConfirmation, which says
 * why), so a scan landing mid-edit (a folder swapped by two renames, a file half-written)
 * unloads or reloads nothing; the start-up scan is applied as found. This module only
 * scans, feeds the scans to that rule and applies what it returns.
 *
 * Ordering: polls never overlap. A poll applies its changes and waits for the loads and
 * unloads it started before the next one is scheduled (as Triton's poll thread does), so a
 * slow load delays the next scan rather than piling up reloads. The first poll is the
 * start-up load. A reload swaps versions in the model manager, which drains the old ones:
 * requests in flight are never dropped. A reload that fails leaves the loaded versions
 * serving (Triton's rule); the next change to the model's files tries again.
 *
 * Ensembles: when a model is added, changed or removed, the ensembles that depend on it (directly
 * or through other ensembles) are reloaded with it, as Triton's dependency graph does, so
 * an ensemble that failed for want of a composing model loads once that model arrives,
 * and one whose composing model changed is checked against the new config.
 */
import type { Logger } from '../../logger';
import { readComposingModels } from '../models/load-ensemble';
import { RepositoryChanges, hasChanges, snapshotRepository } from './repository-snapshot';
import { ScanConfirmation } from './scan-confirmation';

/** What the poller needs from the model manager. */
export interface PolledModels {
  loadFromRepository(name: string): Promise<void>;
  unloadFromRepository(name: string): Promise<void>;
}

export interface RepositoryPollerOptions {
  repository: string;
  intervalSecs: number;
  logger: Logger;
}

export class RepositoryPoller {
  private readonly confirmation = new ScanConfirmation();
  /** Each applied model's composing models (none unless an ensemble), as read at the last change. */
  private composing = new Map<string, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<RepositoryChanges> | undefined;
  private closed = false;
  /** Whether a scan has succeeded: until one has, a scan error is the caller's (start-up) error. */
  private scanned = false;

  constructor(
    private readonly models: PolledModels,
    private readonly options: RepositoryPollerOptions,
  ) {}

  /**
   * Scans once and applies the changes; resolves when every load and unload it started has
   * settled. A poll already running is joined rather than doubled.
   */
  pollOnce(): Promise<RepositoryChanges> {
    this.current ??= this.poll().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  /** Polls every intervalSecs from now on, each poll starting after the previous one ended. */
  start(): void {
    if (this.closed || this.timer) return;
    this.schedule();
  }

  /** Stops polling; resolves once a poll in progress (and its loads) has finished. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollOnce().finally(() => {
        if (!this.closed) this.schedule();
      });
    }, this.options.intervalSecs * 1000);
    // The servers keep the process alive; a pending scan alone should not.
    this.timer.unref();
  }

  private async poll(): Promise<RepositoryChanges> {
    const { logger } = this.options;
    let next: Map<string, string>;
    try {
      next = await snapshotRepository(this.options.repository);
    } catch (err) {
      if (!this.scanned) throw err;
      // A failed scan saw nothing: it neither confirms nor contradicts what the last one saw.
      logger.error(`failed to poll model repository '${this.options.repository}': ${(err as Error).message}`);
      return { added: [], modified: [], removed: [] };
    }
    // Start-up loads what it finds at once; later scans act on what two of them agree on.
    // Recorded before applying: a file rewritten while its model loads shows up next poll.
    const changes = this.scanned ? this.confirmation.observe(next) : this.confirmation.accept(next);
    this.scanned = true;
    const { waiting } = this.confirmation;
    if (waiting.length > 0) logger.verbose(`model repository poll: waiting for the next scan to confirm changes to ${waiting.join(', ')}`);
    if (!hasChanges(changes) || this.closed) return changes;
    const changed = [...changes.added, ...changes.modified];
    const triggers = new Set([...changed, ...changes.removed]);
    const dependents = await this.dependentEnsembles(this.confirmation.appliedNames, triggers);
    // A dependent ensemble whose own directory is mid-change is reloaded once it settles,
    // from settled files, rather than now from half-written ones.
    const deferred = dependents.filter((name) => this.confirmation.isWaiting(name));
    for (const name of deferred) this.confirmation.reloadWhenSettled(name);
    const reloaded = dependents.filter((name) => !this.confirmation.isWaiting(name));
    const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
    logger.info(
      `model repository poll: added ${list(changes.added)}; modified ${list(changes.modified)}; removed ${list(changes.removed)}` +
        (reloaded.length > 0 ? `; reloading dependent ensembles ${list(reloaded)}` : '') +
        (deferred.length > 0 ? `; reloading dependent ensembles ${list(deferred)} once their own changes settle` : ''),
    );
    // The manager logs each failure with its reason; one model failing never stops the others.
    // Loads are all queued in this one synchronous map, so an ensemble added together with
    // its composing models finds their loads queued and waits for them.
    const settle = (p: Promise<void>) => p.catch(() => undefined);
    await Promise.all([
      ...changes.removed.map((name) => settle(this.models.unloadFromRepository(name))),
      ...[...changed, ...reloaded].map((name) => settle(this.models.loadFromRepository(name))),
    ]);
    return changes;
  }

  /** Models in `names` that are ensembles depending on a `changed` model, transitively; not `changed` ones. */
  private async dependentEnsembles(names: string[], changed: ReadonlySet<string>): Promise<string[]> {
    const composing = new Map<string, string[]>();
    await Promise.all(
      names.map(async (name) => {
        // A model mid-change (its folder away mid-swap, its config half-written) is judged
        // by its config as last read settled, not by what is on disk this instant.
        const settled = this.composing.get(name);
        composing.set(name, this.confirmation.isWaiting(name) && settled ? settled : await readComposingModels(this.options.repository, name));
      }),
    );
    this.composing = composing;
    const affected = new Set(changed);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [name, models] of composing) {
        if (!affected.has(name) && models.some((m) => affected.has(m))) {
          affected.add(name);
          grew = true;
        }
      }
    }
    return [...affected].filter((name) => !changed.has(name)).sort();
  }
}

/** Runs the start-up poll (loading every model), then polls every intervalSecs. */
export async function startRepositoryPoller(models: PolledModels, options: RepositoryPollerOptions): Promise<RepositoryPoller> {
  const poller = new RepositoryPoller(models, options);
  await poller.pollOnce();
  poller.start();
  return poller;
}
