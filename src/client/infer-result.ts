/**
 * The response of an inference: tritonclient.http's InferResult. Outputs sent as binary
 * are viewed in place in the response body where alignment allows; JSON outputs are
 * decoded on demand. FP16/BF16 have no JavaScript typed array on Node 20, so asking for one
 * without `raw: true` is an error rather than a silent reinterpretation of the bits.
 */
import { InferenceServerError, InvalidArgumentError, isScorelineError } from '../errors';
import {
  DataType,
  NumericTypedArray,
  TensorData,
  WireInferResponse,
  WireOutputTensor,
  elementCount,
  isDataType,
  sliceBinaryTensors,
  splitInferenceBody,
  tensorDataFromJson,
  tensorDataFromRaw,
} from '../tensor';

export type InferResultData = NumericTypedArray | Buffer[] | string[];

export interface AsTypedArrayOptions {
  /** BYTES elements as Buffers (default, exact bytes) or as UTF-8 decoded strings. */
  bytesAs?: 'buffer' | 'string';
  /**
   * FP16/BF16: return the 16-bit patterns in a Uint16Array (convert with
   * `float16BitsToFloat32` / `bfloat16BitsToFloat32`). Without it those datatypes throw.
   */
  raw?: boolean;
}

/** A response the client cannot make sense of is the server's fault: 502, as a proxy says. */
function malformed(message: string, cause?: unknown): InferenceServerError {
  return new InferenceServerError(502, `malformed inference response: ${message}`, undefined, { cause });
}

function validateResponse(json: unknown): WireInferResponse {
  const r = json as Partial<WireInferResponse> | null;
  if (r === null || typeof r !== 'object' || !Array.isArray(r.outputs)) {
    throw malformed("the JSON header has no 'outputs' array");
  }
  for (const [i, o] of r.outputs.entries()) {
    const ok =
      o !== null &&
      typeof o === 'object' &&
      typeof o.name === 'string' &&
      isDataType(o.datatype) &&
      Array.isArray(o.shape) &&
      o.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!ok) throw malformed(`output ${i} lacks a valid name, datatype or shape: ${JSON.stringify(o).slice(0, 200)}`);
  }
  return r as WireInferResponse;
}

export class InferResult {
  private readonly response: WireInferResponse;
  private readonly binary: Map<string, Buffer>;

  /**
   * Parses a response body; `headerLength` is the Inference-Header-Content-Length value
   * (undefined when the whole body is JSON). Mirrors tritonclient's parse_response_body.
   */
  static fromResponseBody(body: Buffer, headerLength?: number | string): InferResult {
    try {
      const { json, binary } = splitInferenceBody(body, headerLength === undefined ? undefined : String(headerLength));
      const response = validateResponse(json);
      return new InferResult(response, sliceBinaryTensors(response.outputs, binary, 'output'));
    } catch (err) {
      if (err instanceof InferenceServerError) throw err;
      throw malformed(isScorelineError(err) ? err.message : String(err), err);
    }
  }

  /** @internal A result assembled by the client itself (one caller's rows of a merged call). */
  static fromParts(response: WireInferResponse, binary: Map<string, Buffer>): InferResult {
    return new InferResult(response, binary);
  }

  private constructor(response: WireInferResponse, binary: Map<string, Buffer>) {
    this.response = response;
    this.binary = binary;
  }

  /** The JSON header of the response as the server sent it (model_name, id, outputs, ...). */
  getResponse(): WireInferResponse {
    return this.response;
  }

  /** The output's JSON entry (name, datatype, shape, parameters), or undefined if absent. */
  getOutput(name: string): WireOutputTensor | undefined {
    return this.response.outputs.find((o) => o.name === name);
  }

  /**
   * The output's elements, flat and row-major, in the datatype's typed array: Float32Array for
   * FP32, BigInt64Array for INT64, Uint8Array (0/1) for BOOL, Buffer[] or string[] for BYTES.
   * The shape is `getOutput(name).shape`. Throws if the response has no such output.
   */
  asTypedArray<T extends InferResultData = InferResultData>(name: string, options: AsTypedArrayOptions = {}): T {
    const output = this.getOutput(name);
    if (output === undefined) {
      const names = this.response.outputs.map((o) => `'${o.name}'`).join(', ') || 'none';
      throw new InvalidArgumentError(`output '${name}' is not in the response (outputs: ${names})`);
    }
    const datatype = output.datatype as DataType;
    if ((datatype === 'FP16' || datatype === 'BF16') && !options.raw) {
      throw new InvalidArgumentError(
        `output '${name}' is ${datatype}, which has no JavaScript typed array; ` +
          `call asTypedArray('${name}', { raw: true }) for its 16-bit patterns (Uint16Array)`,
      );
    }
    const data = this.decode(output, datatype);
    if (datatype === 'BYTES') {
      const elements = (data as Uint8Array[]).map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));
      return (options.bytesAs === 'string' ? elements.map((e) => e.toString('utf8')) : elements) as T;
    }
    return data as T;
  }

  private decode(output: WireOutputTensor, datatype: DataType): TensorData {
    const what = `output '${output.name}'`;
    const count = elementCount(output.shape);
    try {
      const bytes = this.binary.get(output.name);
      if (bytes !== undefined) return tensorDataFromRaw(datatype, count, bytes, what);
      if (output.data === undefined) throw new InvalidArgumentError(`${what} has neither binary data nor 'data'`);
      // JSON half floats come back as their bit patterns too (the codec rounds them).
      return tensorDataFromJson(datatype, count, output.data, what);
    } catch (err) {
      throw malformed(isScorelineError(err) ? err.message : String(err), err);
    }
  }
}
