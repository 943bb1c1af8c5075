/**
 * The engine's model registry: which models exist in the repository, their state
 * (Triton's READY / UNAVAILABLE / LOADING / UNLOADING, with a reason), and the loaded
 * versions that requests are routed to.
 *
 * Invariants:
 * - Routing reads `entry.loaded`, which is replaced in one assignment: a reload builds the
 *   new versions completely, swaps them in, and only then drains the old ones, so requests
 *   in flight on an old version finish there and new requests go to the new one.
 * - Loads and unloads of one model are serialized through `entry.busy`. An entry is created,
 *   and its load queued, synchronously in loadEntry: an ensemble loading at the same time
 *   then always finds its composing models' loads and waits for them (never a second load).
 * - A reload retires the old versions with a successor lookup, so a request that resolved
 *   the old version just before the swap is served by the new one instead of failing.
 * - A load is bounded in time (loadTimeoutSecs) and cancellable: an unload aborts the loads
 *   queued before it, and shutdown aborts every load. Aborting terminates the load's model
 *   threads, so a load that would never finish (a warmup count of 2^32-1 in a load
 *   override) cannot hold the model, and its queue of loads and unloads, forever.
 * - The model control API (load/unload) is refused unless the mode is explicit, as in
 *   Triton; the repository's own changes (start-up, polling) use loadFromRepository and
 *   unloadFromRepository, which every mode allows.
 */
import { InvalidArgumentError, ModelLoadError, ModelNotFoundError, UnavailableError } from '../../errors';
import type { Logger } from '../../logger';
import type { ModelConfig } from '../config/model-config';
import { listModelNames, resolveModelPath } from '../repository/scan-repository';
import type { EnsembleHost } from './load-ensemble';
import { LoadedModel, LoaderOptions, isDirectory, loadModel } from './model-loader';
import type { ModelStatsJson } from './model-statistics';
import type { QuantileTarget } from '../../util/targeted-quantiles';
import type { ServableVersion } from './servable-version';

/** Triton's answer to load/unload requests outside explicit mode (UNAVAILABLE, so HTTP 503). */
export const MODEL_CONTROL_DISABLED_MESSAGE = 'explicit model load / unload is not allowed if polling is enabled';

export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

interface ModelEntry {
  name: string;
  state: ModelState;
  reason: string;
  loaded: LoadedModel | undefined;
  busy: Promise<void>;
  /** Loads and unloads queued on `busy` and not finished yet (the running one included). */
  queued: number;
  /** One per load queued or running: an unload or shutdown aborts them. */
  loads: Set<AbortController>;
}

export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelState;
  reason?: string;
}

export interface ModelManagerOptions extends LoaderOptions {
  repository: string;
  /**
   * Whether load() and unload() (the model control API) are allowed: true in explicit
   * mode. In none and poll mode Triton refuses them; the default (true) suits library use.
   */
  explicitModelControl?: boolean;
  /**
   * Longest a load (sessions created, warmup run) may take before it fails and its threads
   * are terminated; 0 or absent: no limit (Triton has none).
   */
  loadTimeoutSecs?: number;
  /** With --metrics-config summary_latencies=true: each loaded version's summaries track these quantiles. */
  latencySummaryQuantiles?: readonly QuantileTarget[];
}

/** How an unload cancels a load that is queued or running (the load's caller sees this). */
export function loadCancelledMessage(name: string): string {
  return `model '${name}': load cancelled by an unload request`;
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts; `late` gets a result that came after. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, late: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) late(value);
        else resolve(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

export class ModelManager {
  private readonly entries = new Map<string, ModelEntry>();
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {}

  private get logger(): Logger {
    return this.options.logger;
  }

  /** How ensembles reach their composing models: through this manager's routing. */
  private readonly ensembleHost: EnsembleHost = {
    resolve: (model, version) => this.lookup(model, version < 0 ? undefined : String(version)),
    prepare: (ensemble, model) => this.prepareComposingModel(ensemble, model),
  };

  /** Loads every model in the repository (model control mode "none" and "poll"). */
  async loadAll(): Promise<void> {
    const names = await listModelNames(this.options.repository);
    await Promise.all(names.map((n) => this.loadEntry(n).catch(() => undefined)));
  }

  /**
   * Loads (or reloads) a model: the model control API. Resolves when it is READY; rejects
   * with the reason when it cannot be, leaving the model UNAVAILABLE (and any previously
   * loaded versions serving). Refused outside explicit mode, as Triton does.
   */
  async load(name: string, configOverride?: unknown): Promise<void> {
    this.assertModelControl();
    return this.loadEntry(name, configOverride);
  }

  /** Loads or reloads a model because the repository changed (start-up, polling); any mode. */
  loadFromRepository(name: string): Promise<void> {
    return this.loadEntry(name);
  }

  private assertModelControl(): void {
    if (this.options.explicitModelControl === false) throw new UnavailableError(MODEL_CONTROL_DISABLED_MESSAGE);
  }

  /** Queues the load on the model's entry synchronously (see the invariants above). */
  private loadEntry(name: string, configOverride?: unknown): Promise<void> {
    const root = this.options.repository;
    let dir: string;
    try {
      dir = resolveModelPath(root, name);
    } catch (err) {
      return Promise.reject(err);
    }
    const fresh = !this.entries.has(name);
    const entry = this.entry(name);
    const cancel = new AbortController();
    entry.loads.add(cancel);
    const run = async (): Promise<void> => {
      if (this.closed) throw new UnavailableError('the engine is shutting down');
      cancel.signal.throwIfAborted();
      if (!(await isDirectory(dir))) {
        // A name the repository does not have leaves no entry behind (nor in the index).
        if (fresh && entry.queued === 1 && !entry.loaded && entry.reason === '' && this.entries.get(name) === entry) {
          this.entries.delete(name);
        }
        throw new InvalidArgumentError(`failed to load '${name}', no version is available`);
      }
      const previous = entry.loaded;
      entry.state = previous ? entry.state : 'LOADING';
      entry.reason = '';
      const startedAt = process.hrtime.bigint();
      const timeoutSecs = this.options.loadTimeoutSecs ?? 0;
      const timer =
        timeoutSecs > 0
          ? setTimeout(
              () =>
                cancel.abort(
                  new ModelLoadError(
                    `model '${name}': load did not finish within ${timeoutSecs} s (the model load timeout, --model-load-timeout-secs); its model threads were terminated`,
                  ),
                ),
              timeoutSecs * 1000,
            )
          : undefined;
      let loaded: LoadedModel;
      try {
        const loading = loadModel(root, name, configOverride, { ...this.options, ensembleHost: this.ensembleHost }, cancel.signal);
        // An ensemble's load waits on other models' loads and has no threads of its own to
        // terminate: the race ends it on time, and what it returns late is closed.
        loaded = await untilAborted(loading, cancel.signal, (late) => {
          void Promise.allSettled([...late.versions.values()].map((v) => v.close(cancel.signal.reason as Error)));
        });
      } catch (err) {
        entry.state = previous ? entry.state : 'UNAVAILABLE';
        entry.reason = (err as Error).message;
        // The reason is what callers see (no paths, public-error-text.ts); the cause keeps
        // the file system's own text (absolute path, errno) for the operator.
        const cause = (err as Error).cause;
        const detail = cause instanceof Error && cause.message !== entry.reason ? ` (${cause.message})` : '';
        this.logger.error(`failed to load model '${name}': ${entry.reason}${detail}`);
        throw err;
      } finally {
        clearTimeout(timer);
      }
      if (this.closed) {
        await Promise.allSettled([...loaded.versions.values()].map((v) => v.close(new UnavailableError('the engine is shutting down'))));
        throw new UnavailableError('the engine is shutting down');
      }
      // Summaries start before the swap, so they see every request the versions serve.
      const quantiles = this.options.latencySummaryQuantiles;
      if (quantiles) for (const v of loaded.versions.values()) v.stats.enableLatencySummaries({ quantiles, cacheEnabled: v.cacheEnabled });
      entry.loaded = loaded; // the swap: from here on, new requests go to the new versions
      for (const v of previous?.versions.values() ?? []) v.retire(() => this.successorOf(name, v.version));
      entry.state = 'READY';
      entry.reason = '';
      const secs = Number(process.hrtime.bigint() - startedAt) / 1e9;
      // Versions load together, so each reports the model's load time (nv_model_load_duration_secs).
      for (const v of loaded.versions.values()) v.stats.recordLoadDuration(secs);
      this.logger.info(
        `successfully loaded '${name}' version${loaded.versions.size > 1 ? 's' : ''} ${[...loaded.versions.keys()].join(', ')} in ${secs.toFixed(3)} s`,
      );
      if (previous) await this.drainVersions(name, previous);
    };
    return this.enqueue(entry, run).finally(() => entry.loads.delete(cancel));
  }

  /** Runs `op` after every operation already queued on the entry. */
  private enqueue(entry: ModelEntry, op: () => Promise<void>): Promise<void> {
    entry.queued += 1;
    const run = async (): Promise<void> => {
      try {
        await op();
      } finally {
        entry.queued -= 1;
      }
    };
    const next = entry.busy.then(run, run);
    entry.busy = next.catch(() => undefined);
    return next;
  }

  /** A retired version's stand-in: the same version number if it is still served, else the latest. */
  private successorOf(name: string, version: number): ServableVersion | undefined {
    const loaded = this.entries.get(name)?.loaded;
    if (!loaded) return undefined;
    return loaded.versions.get(version) ?? loaded.versions.get(Math.max(...loaded.versions.keys()));
  }

  /**
   * Makes sure an ensemble's composing model is loaded: a load or unload in progress
   * settles first; a model never loaded (or unloaded) is loaded now, as Triton loads an
   * ensemble's dependencies. A model whose load failed is tried again only in explicit
   * mode (the user asked for this load); otherwise the repository has not changed since,
   * and its reason stands (polling retries it once its files change).
   */
  private async prepareComposingModel(ensemble: string, model: string): Promise<void> {
    await this.entries.get(model)?.busy;
    const entry = this.entries.get(model);
    if (entry?.loaded) return;
    const failed = (reason: string) =>
      new ModelLoadError(
        `ensemble '${ensemble}' depends on '${model}' which has no loaded version. Model '${model}' loading failed with error: ${reason}`,
      );
    const explicit = this.options.explicitModelControl !== false;
    if (!explicit && entry && entry.reason !== '' && entry.reason !== 'unloaded') throw failed(entry.reason);
    try {
      await this.loadEntry(model);
    } catch (err) {
      throw failed((err as Error).message);
    }
  }

  /**
   * Unloads a model (the model control API), waiting for requests it accepted to finish.
   * With `unloadDependents` (Triton's unload_dependents), an ensemble's composing models are
   * unloaded after it, and theirs in turn, except those another loaded ensemble still uses.
   */
  async unload(name: string, options: { unloadDependents?: boolean } = {}): Promise<void> {
    this.assertModelControl();
    const composing = options.unloadDependents ? this.composingModels(name) : [];
    await this.unloadEntry(name);
    for (const model of composing) {
      if (this.entries.get(model)?.loaded === undefined || this.usedByLoadedEnsemble(model)) continue;
      await this.unload(model, options);
    }
  }

  /** The distinct models an ensemble's steps call; [] for a model that is not a loaded ensemble. */
  private composingModels(name: string): string[] {
    const steps = this.entries.get(name)?.loaded?.config.ensemble_scheduling?.step ?? [];
    return [...new Set(steps.map((step) => step.model_name))];
  }

  private usedByLoadedEnsemble(model: string): boolean {
    for (const entry of this.entries.values()) {
      if (entry.loaded !== undefined && this.composingModels(entry.name).includes(model)) return true;
    }
    return false;
  }

  /** Unloads a model because it left the repository (polling); any mode. */
  unloadFromRepository(name: string): Promise<void> {
    return this.unloadEntry(name);
  }

  private async unloadEntry(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new InvalidArgumentError(`failed to unload '${name}', model is not loaded`);
    // Loads asked for before this unload would be undone by it: end them now (terminating
    // their threads) instead of waiting behind a load that may never finish.
    for (const load of entry.loads) load.abort(new ModelLoadError(loadCancelledMessage(name)));
    const run = async (): Promise<void> => {
      const previous = entry.loaded;
      if (!previous) {
        entry.state = 'UNAVAILABLE';
        entry.reason = 'unloaded';
        return;
      }
      entry.state = 'UNLOADING';
      entry.loaded = undefined; // new requests now fail fast; accepted ones drain below
      await this.drainVersions(name, previous);
      entry.state = 'UNAVAILABLE';
      entry.reason = 'unloaded';
    };
    return this.enqueue(entry, run);
  }

  private async drainVersions(name: string, model: LoadedModel): Promise<void> {
    await Promise.all([...model.versions.values()].map((v) => v.unload()));
    this.logger.info(`successfully unloaded '${name}' version${model.versions.size > 1 ? 's' : ''} ${[...model.versions.keys()].join(', ')}`);
  }

  private entry(name: string): ModelEntry {
    let e = this.entries.get(name);
    if (!e) {
      e = { name, state: 'UNAVAILABLE', reason: '', loaded: undefined, busy: Promise.resolve(), queued: 0, loads: new Set() };
      this.entries.set(name, e);
    }
    return e;
  }

  /**
   * The version a request goes to: the one asked for, or the highest loaded one. Unknown
   * names and versions are Triton's INVALID_ARG ("Request for unknown model").
   */
  getVersion(name: string, version?: string): ServableVersion {
    if (this.closed) throw new UnavailableError('the server is shutting down');
    return this.lookup(name, version);
  }

  /** getVersion without the shutdown check: ensembles draining at shutdown still reach their models. */
  private lookup(name: string, version?: string): ServableVersion {
    const entry = this.entries.get(name);
    const loaded = entry?.loaded;
    if (!entry || !loaded) {
      if (entry && entry.state !== 'UNAVAILABLE') {
        throw new UnavailableError(`Request for unknown model: '${name}' is not ready (state ${entry.state})`);
      }
      throw new ModelNotFoundError(`Request for unknown model: '${name}' is not found`);
    }
    if (version === undefined || version === '') {
      const highest = Math.max(...loaded.versions.keys());
      return loaded.versions.get(highest)!;
    }
    const v = /^\d+$/.test(version) ? loaded.versions.get(Number(version)) : undefined;
    if (!v) throw new ModelNotFoundError(`Request for unknown model: '${name}' version ${version} is not found`);
    return v;
  }

  /** The config of a loaded model (versions share it). */
  getConfig(name: string, version?: string): ModelConfig {
    return this.getVersion(name, version).config;
  }

  /** Loaded and able to serve (an ensemble also needs its composing models loaded). */
  isModelReady(name: string, version?: string): boolean {
    try {
      return this.getVersion(name, version).isReady();
    } catch {
      return false;
    }
  }

  /** Versions ready to serve, as strings (KServe metadata lists them so). */
  readyVersions(name: string): string[] {
    const loaded = this.entries.get(name)?.loaded;
    return loaded ? [...loaded.versions.keys()].sort((a, b) => a - b).map(String) : [];
  }

  /** Server readiness: every model the engine was asked to load is READY. */
  allReady(): boolean {
    for (const e of this.entries.values()) {
      if (e.state !== 'READY' && !(e.state === 'UNAVAILABLE' && e.reason === 'unloaded')) return false;
    }
    return true;
  }

  /** Triton's repository index: every model directory, with state for those the engine knows. */
  async repositoryIndex(readyOnly: boolean): Promise<RepositoryIndexEntry[]> {
    const names = new Set([...(await listModelNames(this.options.repository)), ...this.entries.keys()]);
    const out: RepositoryIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const e = this.entries.get(name);
      if (!e) {
        if (!readyOnly) out.push({ name });
        continue;
      }
      if (e.loaded) {
        for (const v of [...e.loaded.versions.keys()].sort((a, b) => a - b)) {
          out.push({ name, version: String(v), state: e.state, reason: e.reason });
        }
      } else if (!readyOnly) {
        out.push({ name, state: e.state, reason: e.reason });
      }
    }
    return out;
  }

  /** Statistics for every loaded version, or one model's (one version's). */
  statistics(name?: string, version?: string): ModelStatsJson[] {
    if (name === undefined || name === '') {
      const all: ModelStatsJson[] = [];
      for (const e of [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name))) {
        for (const v of e.loaded?.versions.values() ?? []) all.push(v.stats.toJSON());
      }
      return all;
    }
    if (version !== undefined && version !== '') return [this.getVersion(name, version).stats.toJSON()];
    const loaded = this.entries.get(name)?.loaded;
    if (!loaded) throw new ModelNotFoundError(`Request for unknown model: '${name}' is not found`);
    return [...loaded.versions.values()].map((v) => v.stats.toJSON());
  }

  /** Every loaded version (for metrics). */
  *loadedVersions(): Iterable<ServableVersion> {
    for (const e of this.entries.values()) yield* e.loaded?.versions.values() ?? [];
  }

  /**
   * Drains every model (requests already accepted finish), then ends all instances.
   * Ensembles drain first: their accepted requests still have steps to run on the
   * composing models, which must be serving until then.
   */
  async close(): Promise<void> {
    this.closed = true;
    // A load in progress would hold its entry's queue (and this close) until it ended.
    for (const e of this.entries.values()) for (const load of e.loads) load.abort(new UnavailableError('the engine is shutting down'));
    const isEnsemble = (e: ModelEntry) => e.loaded?.config.platform === 'ensemble';
    const closeAll = (entries: ModelEntry[]) =>
      Promise.allSettled(
        entries.map(async (e) => {
          await e.busy;
          const loaded = e.loaded;
          e.loaded = undefined;
          e.state = 'UNAVAILABLE';
          e.reason = 'server shutting down';
          if (loaded) await Promise.allSettled([...loaded.versions.values()].map((v) => v.unload()));
        }),
      );
    const all = [...this.entries.values()];
    await closeAll(all.filter(isEnsemble));
    await closeAll(all.filter((e) => !isEnsemble(e)));
  }
}
