/**
 * What the engine's front doors (HTTP, gRPC) and metrics see of one loaded model version,
 * whatever runs it: a ModelVersion (instances behind a scheduler) or an EnsembleModel
 * (a dataflow over other models). The model manager routes requests to these.
 */
import type { ModelConfig } from '../config/model-config';
import type { InferenceRequest, InferenceResponse } from './inference-types';
import type { ModelStatistics } from './model-statistics';

/** Where requests go once a version has been replaced by a reload (undefined: nowhere). */
export type Successor = () => ServableVersion | undefined;

export interface ServableVersion {
  readonly modelName: string;
  readonly version: number;
  readonly config: ModelConfig;
  readonly stats: ModelStatistics;
  /**
   * Requests awaiting execution, as Triton's nv_inference_pending_request_count: queued, or
   * staged at a busy instance; not those running. An ensemble counts the requests inside it.
   */
  readonly pendingCount: number;
  /** Whether its responses are cached (the engine's cache on, and response_cache.enable in its config). */
  readonly cacheEnabled: boolean;
  /**
   * What the response cache keys on besides name and version: this load's identity
   * (load-identity.ts), and an ensemble's composing versions' after it.
   */
  cacheIdentity(): readonly number[];
  infer(request: InferenceRequest): Promise<InferenceResponse>;
  /**
   * Whether requests can be served now. A model with instances is ready while loaded; an
   * ensemble only while every composing model it needs is loaded too.
   */
  isReady(): boolean;
  /**
   * Marks the version replaced (a reload swapped in new versions). A caller that looked it
   * up just before the swap and calls infer() afterwards is served by `successor()`, so a
   * reload drops no request that raced with it. Requests already accepted finish here.
   */
  retire(successor: Successor): void;
  /** Stops taking requests, lets accepted ones finish, then releases what it holds. */
  unload(): Promise<void>;
  /** Releases everything now; requests still queued fail with `error`. */
  close(error: Error): Promise<void>;
}
