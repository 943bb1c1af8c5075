/**
 * `scoreline perf` as a function: prepares the requests for the target (an engine model
 * or a scoring endpoint), runs the sweep and returns the report. The CLI and the
 * benchmarks both call it.
 */
import { readFile } from 'node:fs/promises';
import { InvalidOptionError } from '../errors';
import { engineApi } from './engine-api';
import { prepareEngineLoad } from './engine-requests';
import type { PreparedRequest } from './http-transport';
import type { StepLoad } from './load-threads';
import type { PerfOptions, ScoreTarget } from './perf-options';
import type { PerfReport } from './perf-report';
import { ProfileHooks, ProfileTarget, profile } from './profiler';
import { statsSnapshot } from './server-stats';

export interface RunPerfHooks extends ProfileHooks {
  signal?: AbortSignal;
}

async function scoreRequest(target: ScoreTarget, headers: Record<string, string>): Promise<{ origin: string; request: PreparedRequest }> {
  let body: Buffer;
  try {
    body = await readFile(target.bodyFile);
  } catch (err) {
    throw new InvalidOptionError(`--body ${target.bodyFile}: ${(err as Error).message}`, { cause: err });
  }
  const url = new URL(target.url);
  return { origin: url.origin, request: { method: 'POST', path: `${url.pathname}${url.search}`, headers: { ...headers, 'content-type': target.contentType }, body } };
}

export function stepLoads(options: PerfOptions): StepLoad[] {
  const { load } = options;
  return load.mode === 'concurrency'
    ? load.steps.map((concurrency) => ({ mode: 'concurrency' as const, concurrency }))
    : load.steps.map((ratePerSecond) => ({ mode: 'rate' as const, ratePerSecond, distribution: load.distribution }));
}

export async function runPerf(options: PerfOptions, hooks: RunPerfHooks = {}): Promise<PerfReport> {
  const { target } = options;
  const settings = {
    steps: stepLoads(options),
    warmupMs: options.warmupMs,
    measurementIntervalMs: options.measurementIntervalMs,
    stabilityPercentage: options.stabilityPercentage,
    maxTrials: options.maxTrials,
    percentile: options.percentile,
    threads: options.threads,
    maxConnections: options.maxConnections,
    timeoutMs: options.timeoutMs,
    seed: options.seed,
    signal: hooks.signal,
  };
  if (target.kind === 'score') {
    const { origin, request } = await scoreRequest(target, options.headers);
    const result = await profile({ load: { protocol: 'http', origin, requests: [request] }, batchSize: 1 }, settings, hooks);
    return { target: { kind: 'score', url: target.url }, mode: options.load.mode, batchSize: 1, ...result };
  }
  const api = engineApi(target, options.headers, options.timeoutMs);
  try {
    const prepared = await prepareEngineLoad(api, target, { batchSize: options.batchSize, headers: options.headers, seed: options.seed });
    const profileTarget: ProfileTarget = {
      load: prepared.target,
      batchSize: options.batchSize,
      readStats: async () => statsSnapshot(await api.statistics(target.model, target.modelVersion)),
    };
    const result = await profile(profileTarget, settings, hooks);
    return {
      target: { kind: 'engine', url: target.url, model: target.model, modelVersion: target.modelVersion },
      mode: options.load.mode,
      batchSize: options.batchSize,
      ...result,
    };
  } finally {
    await api.close();
  }
}
