/**
 * `scoreline/client`: a typed KServe v2 / Triton HTTP client in the image of
 * tritonclient.http. Public API only.
 */
export { InferenceServerClient } from './inference-server-client';
export type {
  CompressionAlgorithm,
  InferOptions,
  LoadModelOptions,
  ModelRequestOptions,
  RequestOptions,
  UnloadModelOptions,
  WaitUntilReadyOptions,
} from './inference-server-client';
export type { InferenceServerClientOptions } from './client-options';
export type { QueryParams } from './http-transport';
export { InferInput } from './infer-input';
export type { InferInputData, SetDataOptions } from './infer-input';
export { InferRequestedOutput } from './infer-requested-output';
export type { InferRequestedOutputOptions } from './infer-requested-output';
export { InferResult } from './infer-result';
export type { AsTypedArrayOptions, InferResultData } from './infer-result';
export type { InferRequestBody, InferRequestFields } from './inference-request-body';
export type {
  InferenceStatistics,
  ModelConfig,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexEntry,
  ServerMetadata,
  StatisticDuration,
  TensorMetadata,
} from './server-responses';

// Half floats travel as 16-bit patterns (no Float16Array on Node 20); these convert them.
export { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBFloat16Bits, float32ToFloat16Bits } from '../tensor/half-float';
export { DATATYPES } from '../tensor/datatypes';
export type { DataType, NumericTypedArray } from '../tensor/datatypes';
export type { WireInferResponse, WireOutputTensor } from '../tensor/inference-wire';

// The errors a caller of the client can meet, matched on `code`.
export {
  ClientTimeoutError,
  InferenceServerError,
  InvalidArgumentError,
  InvalidOptionError,
  NetworkError,
  ScorelineError,
  isScorelineError,
} from '../errors';
