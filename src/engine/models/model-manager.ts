/**
 * The engine's model registry: which models exist in the repository, their state
 * (Triton's READY / UNAVAILABLE / LOADING / UNLOADING, with a reason), and the loaded
 * versions that requests are routed to.
 *
 * Invariants:
 * - Routing reads `entry.loaded`, which is replaced in one assignment: a reload builds the
 *   new versions completely, swaps them in, and only then drains the old ones, so requests
 *   in flight on an old version finish there and new requests go to the new one.
 * - Loads and unloads of one model are serialized through `entry.busy`.
 */
import { InvalidArgumentError, ModelNotFoundError, UnavailableError } from '../../errors';
import type { Logger } from '../../logger';
import type { ModelConfig } from '../config/model-config';
import { listModelNames, resolveModelPath } from '../repository/scan-repository';
import { LoadedModel, LoaderOptions, isDirectory, loadModel } from './model-loader';
import type { ModelStatsJson } from './model-statistics';
import type { ModelVersion } from './model-version';

export type ModelState = 'READY' | 'UNAVAILABLE' | 'LOADING' | 'UNLOADING';

interface ModelEntry {
  name: string;
  state: ModelState;
  reason: string;
  loaded: LoadedModel | undefined;
  busy: Promise<void>;
}

export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: ModelState;
  reason?: string;
}

export interface ModelManagerOptions extends LoaderOptions {
  repository: string;
}

export class ModelManager {
  private readonly entries = new Map<string, ModelEntry>();
  private closed = false;

  constructor(private readonly options: ModelManagerOptions) {}

  private get logger(): Logger {
    return this.options.logger;
  }

  /** Loads every model in the repository (model control mode "none" and "poll"). */
  async loadAll(): Promise<void> {
    const names = await listModelNames(this.options.repository);
    await Promise.all(names.map((n) => this.load(n).catch(() => undefined)));
  }

  /**
   * Loads (or reloads) a model. Resolves when it is READY; rejects with the reason when it
   * cannot be, leaving the model UNAVAILABLE (and any previously loaded versions serving).
   */
  async load(name: string, configOverride?: unknown): Promise<void> {
    const root = this.options.repository;
    const dir = resolveModelPath(root, name);
    if (!(await isDirectory(dir))) {
      throw new InvalidArgumentError(`failed to load '${name}', no version is available`);
    }
    const entry = this.entry(name);
    const run = async (): Promise<void> => {
      if (this.closed) throw new UnavailableError('the engine is shutting down');
      const previous = entry.loaded;
      entry.state = previous ? entry.state : 'LOADING';
      entry.reason = '';
      const startedAt = process.hrtime.bigint();
      let loaded: LoadedModel;
      try {
        loaded = await loadModel(root, name, configOverride, this.options);
      } catch (err) {
        entry.state = previous ? entry.state : 'UNAVAILABLE';
        entry.reason = (err as Error).message;
        this.logger.error(`failed to load model '${name}': ${entry.reason}`);
        throw err;
      }
      if (this.closed) {
        await Promise.allSettled([...loaded.versions.values()].map((v) => v.close(new UnavailableError('the engine is shutting down'))));
        throw new UnavailableError('the engine is shutting down');
      }
      entry.loaded = loaded; // the swap: from here on, new requests go to the new versions
      entry.state = 'READY';
      entry.reason = '';
      const secs = Number(process.hrtime.bigint() - startedAt) / 1e9;
      this.logger.info(
        `successfully loaded '${name}' version${loaded.versions.size > 1 ? 's' : ''} ${[...loaded.versions.keys()].join(', ')} in ${secs.toFixed(3)} s`,
      );
      if (previous) await this.drainVersions(name, previous);
    };
    const next = entry.busy.then(run, run);
    entry.busy = next.catch(() => undefined);
    return next;
  }

  /** Unloads a model, waiting for requests already accepted by it to finish. */
  async unload(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new InvalidArgumentError(`failed to unload '${name}', model is not loaded`);
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
    const next = entry.busy.then(run, run);
    entry.busy = next.catch(() => undefined);
    return next;
  }

  private async drainVersions(name: string, model: LoadedModel): Promise<void> {
    await Promise.all([...model.versions.values()].map((v) => v.unload()));
    this.logger.info(`successfully unloaded '${name}' version${model.versions.size > 1 ? 's' : ''} ${[...model.versions.keys()].join(', ')}`);
  }

  private entry(name: string): ModelEntry {
    let e = this.entries.get(name);
    if (!e) {
      e = { name, state: 'UNAVAILABLE', reason: '', loaded: undefined, busy: Promise.resolve() };
      this.entries.set(name, e);
    }
    return e;
  }

  /**
   * The version a request goes to: the one asked for, or the highest loaded one. Unknown
   * names and versions are Triton's INVALID_ARG ("Request for unknown model").
   */
  getVersion(name: string, version?: string): ModelVersion {
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

  isModelReady(name: string, version?: string): boolean {
    try {
      this.getVersion(name, version);
      return true;
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
  *loadedVersions(): Iterable<ModelVersion> {
    for (const e of this.entries.values()) yield* e.loaded?.versions.values() ?? [];
  }

  /** Drains every model (requests already accepted finish), then ends all instances. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(
      [...this.entries.values()].map(async (e) => {
        await e.busy;
        const loaded = e.loaded;
        e.loaded = undefined;
        e.state = 'UNAVAILABLE';
        e.reason = 'server shutting down';
        if (loaded) await Promise.allSettled([...loaded.versions.values()].map((v) => v.unload()));
      }),
    );
  }
}
