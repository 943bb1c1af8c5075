/**
 * The KServe v2 inference request and response as they appear in JSON, with Triton's
 * binary tensor data extension. Field names are the protocol's, exactly.
 */

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

/**
 * The 503 error text of a scoreline engine that listens but has not loaded its start-up
 * models yet (a restarted engine is found on its old port at once). The client reads it as
 * "the server is coming back", not as a refusal (client option resendAfterOutage).
 */
export const SERVER_STARTING_MESSAGE = 'the server is starting: its models are loading';

export type WireParameterValue = string | number | boolean;
export type WireParameters = Record<string, WireParameterValue>;

export interface WireInputTensor {
  name: string;
  shape: number[];
  datatype: string;
  /** `binary_data_size` marks an input whose bytes follow the JSON header. */
  parameters?: WireParameters & { binary_data_size?: number };
  data?: unknown;
}

export interface WireRequestedOutput {
  name: string;
  parameters?: WireParameters & { binary_data?: boolean; classification?: number };
}

export interface WireInferRequest {
  id?: string;
  parameters?: WireParameters & { binary_data_output?: boolean; priority?: number; timeout?: number };
  inputs: WireInputTensor[];
  outputs?: WireRequestedOutput[];
}

export interface WireOutputTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: WireParameters & { binary_data_size?: number };
  data?: unknown[];
}

export interface WireInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: WireParameters;
  outputs: WireOutputTensor[];
}
