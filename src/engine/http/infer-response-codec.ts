/**
 * Encodes an InferenceResponse as KServe v2 HTTP: plain JSON, or JSON followed by binary
 * tensors (binary tensor data extension) when any output is sent binary. The JSON is built
 * as text so large `data` arrays are written once, and 64-bit integers print exactly.
 */
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../../tensor/inference-wire';
import { joinInferenceBody } from '../../tensor/binary-body';
import { tensorDataJsonText } from '../../tensor/json-tensor-data';
import { tensorDataToRaw } from '../../tensor/raw-tensor-data';
import type { InferenceResponse, RequestedOutput } from '../models/inference-types';

export interface EncodedResponse {
  headers: Record<string, string>;
  parts: Buffer[];
  byteLength: number;
}

export function encodeInferResponse(
  response: InferenceResponse,
  requested: readonly RequestedOutput[] | undefined,
  binaryDataOutput: boolean,
): EncodedResponse {
  const chunks: Uint8Array[] = [];
  const outputTexts: string[] = [];
  for (const out of response.outputs) {
    const asked = requested?.find((r) => r.name === out.name);
    const binary = asked?.binaryData ?? binaryDataOutput;
    const head = `{"name":${JSON.stringify(out.name)},"datatype":"${out.datatype}","shape":${JSON.stringify(out.shape)}`;
    if (binary) {
      const raw = tensorDataToRaw(out.datatype, out.data);
      chunks.push(raw);
      outputTexts.push(`${head},"parameters":{"binary_data_size":${raw.byteLength}}}`);
    } else {
      outputTexts.push(`${head},"data":${tensorDataJsonText(out.datatype, out.data)}}`);
    }
  }
  const id = response.id !== undefined ? `,"id":${JSON.stringify(response.id)}` : '';
  const json =
    `{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)}${id},` +
    `"outputs":[${outputTexts.join(',')}]}`;
  const { parts, headerLength, byteLength } = joinInferenceBody(json, chunks);
  const headers: Record<string, string> =
    chunks.length > 0
      ? { 'content-type': 'application/octet-stream', [INFERENCE_HEADER_CONTENT_LENGTH]: String(headerLength) }
      : { 'content-type': 'application/json' };
  return { headers, parts, byteLength };
}
