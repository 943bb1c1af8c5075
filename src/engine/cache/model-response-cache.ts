/**
 * One model version's use of the engine's response cache: the lookup before a request is
 * scheduled and the insertion after it succeeded, with Triton's statistics for each (a hit
 * is a success with a cache_hit and no execution; a miss adds cache_miss = lookup + insert).
 * ModelVersion and the ensemble's top level (which Triton caches too when its config
 * enables it) share it, so both count alike.
 */
import type { Tensor, InferenceRequest, InferenceResponse } from '../models/inference-types';
import type { ModelStatistics } from '../models/model-statistics';
import { responseCacheKey } from './cache-key';
import type { ResponseCache } from './response-cache';
import { nowNs } from '../../util/monotonic-clock';

/** A lookup that missed: what store() needs to insert the response and count the miss. */
export interface CacheMiss {
  key: Buffer;
  lookupNs: number;
}

export class ModelResponseCache {
  constructor(
    private readonly cache: ResponseCache,
    private readonly stats: ModelStatistics,
    private readonly modelName: string,
    private readonly version: number,
  ) {}

  /**
   * The cached response of a validated request (its statistics recorded), or the miss to
   * store() once the request has succeeded. `inputs` are the validated ones (what the model
   * would see); `arrivedAtNs` starts the hit's request duration; `loads` is the answering
   * version's cacheIdentity().
   */
  lookup(
    request: InferenceRequest,
    inputs: readonly Tensor[],
    arrivedAtNs: bigint,
    loads: readonly number[],
  ): InferenceResponse | CacheMiss {
    const startNs = nowNs();
    const key = responseCacheKey({ modelName: this.modelName, version: this.version, loads, inputs, outputs: request.outputs });
    const cached = this.cache.lookup(key);
    const endNs = nowNs();
    const lookupNs = Number(endNs - startNs);
    if (!cached) return { key, lookupNs };
    // Triton's queue time of a hit runs from enqueue to the lookup's start: nothing waits.
    this.stats.recordCacheHit(Number(endNs - arrivedAtNs), 0, lookupNs);
    return {
      modelName: this.modelName,
      modelVersion: String(this.version),
      id: request.id,
      outputs: cached,
      timings: { queueNs: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 },
    };
  }

  /** Inserts a successful response's outputs; counts the miss unless an equal entry won the race. */
  store(miss: CacheMiss, outputs: readonly Tensor[]): void {
    const startNs = nowNs();
    const result = this.cache.insert(miss.key, outputs);
    // Triton: ALREADY_EXISTS (a concurrent identical request inserted first) is no miss.
    if (result !== 'exists') this.stats.recordCacheMiss(miss.lookupNs + Number(nowNs() - startNs));
  }
}

export function isCacheMiss(result: InferenceResponse | CacheMiss): result is CacheMiss {
  return (result as CacheMiss).key !== undefined;
}
