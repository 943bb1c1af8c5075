/**
 * Decodes a KServe v2 HTTP inference request (JSON, optionally followed by binary tensors)
 * into the engine's InferenceRequest. Structural checks live here (every field typed, every
 * shape a list of non-negative integers, data present exactly once); checks against the
 * model's config happen later in request validation.
 */
import { InvalidArgumentError, MalformedRequestError } from '../../errors';
import { elementCount, isDataType } from '../../tensor/datatypes';
import { sliceBinaryTensors, splitInferenceBody } from '../../tensor/binary-body';
import { tensorDataFromJson } from '../../tensor/json-tensor-data';
import { tensorDataFromRaw } from '../../tensor/raw-tensor-data';
import type { WireInferRequest, WireInputTensor, WireRequestedOutput } from '../../tensor/inference-wire';
import type { InferenceRequest, RequestedOutput, Tensor } from '../models/inference-types';

export interface DecodedInferRequest {
  request: InferenceRequest;
  /** Request-level `binary_data_output`: outputs not named in `outputs` come back binary. */
  binaryDataOutput: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deeper than any tensor's rank. The JSON decoders recurse per level, so deeper `data`
 * (a few hundred thousand `[`) would overflow the stack: a 500 instead of a 400.
 */
const MAX_DATA_DEPTH = 64;

function checkDataDepth(data: unknown, what: string): void {
  const stack: Array<[unknown[], number]> = Array.isArray(data) ? [[data, 1]] : [];
  while (stack.length > 0) {
    const [array, depth] = stack.pop()!;
    for (const item of array) {
      if (!Array.isArray(item)) continue;
      if (depth + 1 > MAX_DATA_DEPTH) throw new InvalidArgumentError(`${what}: 'data' is nested more than ${MAX_DATA_DEPTH} arrays deep`);
      stack.push([item, depth + 1]);
    }
  }
}

function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new InvalidArgumentError(`${what}: 'shape' must be an array of non-negative integers`);
  }
  return shape as number[];
}

function decodeInput(raw: unknown, index: number, binary: Map<string, Buffer>): Tensor {
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
    return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromRaw(input.datatype, count, bytes, what) };
  }
  if (input.data === undefined) {
    throw new InvalidArgumentError(`${what}: has neither 'data' nor binary_data_size`);
  }
  checkDataDepth(input.data, what);
  return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromJson(input.datatype, count, input.data, what) };
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

export function decodeInferRequest(body: Buffer, headerLength: string | undefined): DecodedInferRequest {
  const { json, binary } = splitInferenceBody(body, headerLength);
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
    inputs: wire.inputs.map((t, i) => decodeInput(t, i, slices)),
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
  const binaryDataOutput = params?.binary_data_output;
  if (binaryDataOutput !== undefined && typeof binaryDataOutput !== 'boolean') {
    throw new InvalidArgumentError("parameter 'binary_data_output' must be a boolean");
  }
  return { request, binaryDataOutput: binaryDataOutput === true };
}
