/**
 * The JSON documents the server answers with, typed as far as KServe v2 and Triton's
 * extensions define them. Field names are the protocol's (snake_case), exactly: these are
 * the server's words, handed to the caller unchanged, as tritonclient hands back dicts.
 */

/** `GET /v2`. */
export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
  [key: string]: unknown;
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  [key: string]: unknown;
}

/** `GET /v2/models/M[/versions/V]`. */
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  [key: string]: unknown;
}

/** `GET /v2/models/M[/versions/V]/config`: Triton's model config as JSON (model_config.proto names). */
export interface ModelConfig {
  name: string;
  platform?: string;
  backend?: string;
  max_batch_size?: number;
  input?: Array<{ name: string; data_type: string; dims: Array<number | string>; [key: string]: unknown }>;
  output?: Array<{ name: string; data_type: string; dims: Array<number | string>; label_filename?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** One entry of `POST /v2/repository/index`. */
export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  /** e.g. READY, UNAVAILABLE, LOADING, UNLOADING. */
  state?: string;
  reason?: string;
}

/** A count and its total duration, as Triton's statistics extension reports them. */
export interface StatisticDuration {
  count: number;
  ns: number;
}

export interface ModelStatistics {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: StatisticDuration;
    fail: StatisticDuration;
    queue: StatisticDuration;
    compute_input: StatisticDuration;
    compute_infer: StatisticDuration;
    compute_output: StatisticDuration;
    [key: string]: StatisticDuration;
  };
  batch_stats?: Array<{
    batch_size: number;
    compute_input: StatisticDuration;
    compute_infer: StatisticDuration;
    compute_output: StatisticDuration;
  }>;
  [key: string]: unknown;
}

/** `GET /v2/models[/M[/versions/V]]/stats`. */
export interface InferenceStatistics {
  model_stats: ModelStatistics[];
}
