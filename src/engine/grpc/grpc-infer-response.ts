/**
 * Encodes the engine's InferenceResponse as a ModelInferResponse. Every output goes in
 * raw_output_contents, as Triton's gRPC server does: one entry per output, in order,
 * numeric data as its little-endian bytes (a view, not a copy), BYTES length-prefixed.
 */
import { tensorDataToRaw } from '../../tensor/raw-tensor-data';
import type { InferenceResponse } from '../models/inference-types';
import type { WireModelInferResponse } from './grpc-messages';

export function encodeGrpcInferResponse(response: InferenceResponse): WireModelInferResponse {
  return {
    model_name: response.modelName,
    model_version: response.modelVersion,
    id: response.id ?? '',
    outputs: response.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: response.outputs.map((o) => {
      const bytes = tensorDataToRaw(o.datatype, o.data);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }),
  };
}
