/**
 * Decodes a KServe v2 HTTP inference request (JSON, optionally followed by binary tensors)
 * into the engine's InferenceRequest. Structural checks live here (every field typed, every
 * shape a list of non-negative integers, data present exactly once); checks against the
 * model's config happen later in request validation.
 *
 * The JSON is read from the body's bytes (json-byte-reader.ts), not with JSON.parse: each
 * input's `data` goes straight into the typed array of its declared shape, checked against
 * the max input size before it is allocated, so a hostile body grows the engine by about
 * its own size at most and is refused at the first element that does not fit.
 */
import { isUtf8 } from 'node:buffer';
import { InvalidArgumentError, MalformedRequestError } from '../../errors';
import { DEFAULT_HTTP_MAX_INPUT_SIZE } from '../engine-options';
import { DataType, TensorData, elementCount, isDataType } from '../../tensor/datatypes';
import { inferenceJsonLength, sliceBinaryTensors } from '../../tensor/binary-body';
import { claimBytesElements } from '../../tensor/bytes-elements';
import { DecodeBudget, JsonByteReader } from '../../tensor/json-byte-reader';
import { tensorDataFromJson } from '../../tensor/json-tensor-data';
import { tensorDataFromRaw } from '../../tensor/raw-tensor-data';
import type { WireInferRequest, WireInputTensor, WireRequestedOutput } from '../../tensor/inference-wire';
import type { InferenceRequest, RequestedOutput, Tensor } from '../models/inference-types';
import { sequenceFromJsonParameters } from '../models/sequence-parameters';

/** Headers up to this size without a `"data"` key go to JSON.parse (see readRequestJson). */
const SMALL_HEADER_BYTES = 4096;

export interface DecodedInferRequest {
  request: InferenceRequest;
  /** Request-level `binary_data_output`: outputs not named in `outputs` come back binary. */
  binaryDataOutput: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An input's `data` as the reader left it: decoded already when the input's name, datatype
 * and shape came before it (the usual order), else only located, to be read once they are known.
 */
class JsonData {
  constructor(
    /** Byte offset of the `data` value in the body. */
    readonly start: number,
    readonly decoded?: { datatype: DataType; count: number; data: TensorData },
  ) {}
}

function setMember(target: Record<string, unknown>, key: string, value: unknown): void {
  // As JSON.parse does: '__proto__' becomes an own property, not the prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** The element count of an input whose `data` can be read now, else undefined. */
function readableCount(input: Record<string, unknown>): number | undefined {
  if (typeof input.name !== 'string' || input.name === '' || !isDataType(input.datatype)) return undefined;
  const shape = input.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return undefined;
  const params = input.parameters;
  if (isObject(params) && params.binary_data_size !== undefined) return undefined;
  return elementCount(shape as number[]);
}

/**
 * An input object. A key may appear once: `data` is decoded as soon as it is read, by the
 * name, datatype and shape before it, and a later `shape` would change what it meant
 * (JSON.parse keeps the last of repeated keys, Triton's parser the first).
 */
function readInput(reader: JsonByteReader, index: number, budget: DecodeBudget): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const keys = new Set<string>();
  reader.object((key) => {
    if (keys.has(key)) throw new InvalidArgumentError(`inputs[${index}]: '${key}' appears more than once`);
    keys.add(key);
    if (key !== 'data') {
      setMember(input, key, reader.value());
      return;
    }
    reader.peek();
    const start = reader.pos;
    const count = readableCount(input);
    if (count === undefined) {
      reader.skip();
      input.data = new JsonData(start);
    } else {
      const datatype = input.datatype as DataType;
      const data = reader.tensorData(datatype, count, budget, `input '${input.name as string}'`);
      input.data = new JsonData(start, { datatype, count, data });
    }
  });
  return input;
}

/**
 * The request's JSON, as JSON.parse would give it except for inputs' `data` (JsonData).
 * Requested outputs are checked for repeats as they are read: a body naming one output a
 * million times is refused at the second.
 */
function readRequestJson(body: Buffer, jsonLength: number, budget: DecodeBudget): unknown {
  // A small header with no tensor data (a binary request's): JSON.parse reads it a microsecond
  // faster, and a few KiB of JSON cannot grow into much, whatever it holds.
  if (jsonLength <= SMALL_HEADER_BYTES && body.subarray(0, jsonLength).indexOf('"data"') === -1) {
    try {
      return JSON.parse(body.toString('utf8', 0, jsonLength)) as unknown;
    } catch (err) {
      throw new MalformedRequestError(`failed to parse the request JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const reader = new JsonByteReader(body, 0, jsonLength);
  let json: unknown;
  if (reader.peek() !== 0x7b /* { */) {
    json = reader.value();
  } else {
    const request: Record<string, unknown> = {};
    reader.object((key) => {
      if (key === 'inputs' && reader.peek() === 0x5b /* [ */) {
        const inputs: unknown[] = [];
        reader.array((i) => inputs.push(reader.peek() === 0x7b ? readInput(reader, i, budget) : reader.value()));
        request.inputs = inputs;
      } else if (key === 'outputs' && reader.peek() === 0x5b) {
        const outputs: unknown[] = [];
        const names = new Set<string>();
        reader.array(() => {
          const o = reader.value();
          if (isObject(o) && typeof o.name === 'string') {
            if (names.has(o.name)) throw new InvalidArgumentError(`output '${o.name}' already exists in request`);
            names.add(o.name);
          }
          outputs.push(o);
        });
        request.outputs = outputs;
      } else {
        setMember(request, key, reader.value());
      }
    });
    json = request;
  }
  if (!reader.atEnd()) reader.fail('expected the end of the JSON');
  return json;
}

function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new InvalidArgumentError(`${what}: 'shape' must be an array of non-negative integers`);
  }
  return shape as number[];
}

function decodeInput(raw: unknown, index: number, binary: Map<string, Buffer>, body: Buffer, jsonLength: number, budget: DecodeBudget): Tensor {
  if (!isObject(raw)) throw new InvalidArgumentError(`inputs[${index}] must be an object`);
  const input = raw as unknown as WireInputTensor;
  if (typeof input.name !== 'string' || input.name === '') {
    throw new InvalidArgumentError(`inputs[${index}]: 'name' must be a non-empty string`);
  }
  const what = `input '${input.name}'`;
  if (!isDataType(input.datatype)) {
    throw new InvalidArgumentError(`${what}: invalid datatype '${String(input.datatype)}'`);
  }
  const shape = checkShape(input.shape, what);
  const count = elementCount(shape);
  const bytes = binary.get(input.name);
  if (bytes !== undefined) {
    if (input.data !== undefined) {
      throw new InvalidArgumentError(`${what}: has both 'data' and binary_data_size; send one`);
    }
    if (input.datatype === 'BYTES') claimBytesElements(budget, shape, count, what);
    return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromRaw(input.datatype, count, bytes, what) };
  }
  if (input.data === undefined) {
    throw new InvalidArgumentError(`${what}: has neither 'data' nor binary_data_size`);
  }
  if (!(input.data instanceof JsonData)) {
    // From the small-header path: a key spelled with escapes ("d\u0061ta") is still data.
    if (input.datatype === 'BYTES') claimBytesElements(budget, shape, count, what);
    return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromJson(input.datatype, count, input.data, what) };
  }
  const json = input.data;
  const decoded = json.decoded;
  // Decoded while it was read, unless its datatype or shape came after it.
  const data =
    decoded !== undefined && decoded.datatype === input.datatype && decoded.count === count
      ? decoded.data
      : new JsonByteReader(body, json.start, jsonLength).tensorData(input.datatype, count, budget, what);
  return { name: input.name, datatype: input.datatype, shape, data };
}

function decodeOutput(raw: unknown, index: number): RequestedOutput {
  if (!isObject(raw) || typeof raw.name !== 'string' || raw.name === '') {
    throw new InvalidArgumentError(`outputs[${index}] must be an object with a non-empty 'name'`);
  }
  const o = raw as unknown as WireRequestedOutput;
  const params = o.parameters;
  if (params !== undefined && !isObject(params)) {
    throw new InvalidArgumentError(`output '${o.name}': 'parameters' must be an object`);
  }
  const out: RequestedOutput = { name: o.name };
  if (params?.binary_data !== undefined) {
    if (typeof params.binary_data !== 'boolean') throw new InvalidArgumentError(`output '${o.name}': binary_data must be a boolean`);
    out.binaryData = params.binary_data;
  }
  if (params?.classification !== undefined) {
    const k = params.classification;
    if (!Number.isSafeInteger(k) || (k as number) < 0) {
      throw new InvalidArgumentError(`output '${o.name}': classification must be a non-negative integer`);
    }
    out.classification = k as number;
  }
  return out;
}

/** @param maxInputBytes the engine's --http-max-input-size: what all decoded inputs may take in memory. */
export function decodeInferRequest(
  body: Buffer,
  headerLength: string | undefined,
  maxInputBytes = DEFAULT_HTTP_MAX_INPUT_SIZE,
): DecodedInferRequest {
  const jsonLength = inferenceJsonLength(body, headerLength);
  // JSON is UTF-8 (RFC 8259); read as text, invalid bytes in a BYTES string would become
  // U+FFFD and reach the model altered. simdutf's check: milliseconds for 64 MiB.
  if (!isUtf8(body.subarray(0, jsonLength))) {
    throw new MalformedRequestError('the request JSON is not valid UTF-8; send BYTES that are not text in binary (binary_data_size)');
  }
  const budget: DecodeBudget = { limit: maxInputBytes, bytes: maxInputBytes, bytesElements: 0 };
  const json = readRequestJson(body, jsonLength, budget);
  const binary = body.subarray(jsonLength);
  if (!isObject(json)) throw new MalformedRequestError('the request body must be a JSON object');
  const wire = json as unknown as WireInferRequest;
  if (!Array.isArray(wire.inputs)) throw new InvalidArgumentError("the request must have an 'inputs' array");
  if (wire.outputs !== undefined && !Array.isArray(wire.outputs)) throw new InvalidArgumentError("'outputs' must be an array");
  if (wire.id !== undefined && typeof wire.id !== 'string') throw new InvalidArgumentError("'id' must be a string");
  const params = wire.parameters;
  if (params !== undefined && !isObject(params)) throw new InvalidArgumentError("'parameters' must be an object");

  for (const [i, t] of wire.inputs.entries()) if (!isObject(t)) throw new InvalidArgumentError(`inputs[${i}] must be an object`);
  const slices = sliceBinaryTensors(wire.inputs as WireInputTensor[], binary, 'input');
  const request: InferenceRequest = {
    inputs: wire.inputs.map((t, i) => decodeInput(t, i, slices, body, jsonLength, budget)),
  };
  if (wire.id !== undefined) request.id = wire.id;
  if (wire.outputs !== undefined) request.outputs = wire.outputs.map(decodeOutput);
  if (params?.priority !== undefined) {
    if (!Number.isSafeInteger(params.priority) || (params.priority as number) < 0) {
      throw new InvalidArgumentError("parameter 'priority' must be a non-negative integer");
    }
    request.priority = params.priority as number;
  }
  if (params?.timeout !== undefined) {
    if (!Number.isSafeInteger(params.timeout) || (params.timeout as number) < 0) {
      throw new InvalidArgumentError("parameter 'timeout' must be a non-negative integer (microseconds)");
    }
    request.timeoutMicroseconds = params.timeout as number;
  }
  const sequence = sequenceFromJsonParameters(params);
  if (sequence) request.sequence = sequence;
  const binaryDataOutput = params?.binary_data_output;
  if (binaryDataOutput !== undefined && typeof binaryDataOutput !== 'boolean') {
    throw new InvalidArgumentError("parameter 'binary_data_output' must be a boolean");
  }
  return { request, binaryDataOutput: binaryDataOutput === true };
}
