/**
 * Decodes a ModelInferRequest into the engine's InferenceRequest. Structural checks live
 * here (names, datatypes, shapes, contents present exactly once, raw contents one per
 * input); checks against the model's config happen later in request validation, the same
 * for gRPC and HTTP.
 */
import { InvalidArgumentError } from '../../errors';
import { claimBytesElements, type BytesElementBudget } from '../../tensor/bytes-elements';
import { allocateTypedArray, elementCount, isDataType } from '../../tensor/datatypes';
import { tensorDataFromRaw } from '../../tensor/raw-tensor-data';
import type { InferenceRequest, RequestedOutput, Tensor } from '../models/inference-types';
import type { WireInferInput, WireModelInferRequest, WireRequestedOutput } from './grpc-messages';
import { checkReservedParameters, nonNegativeIntegerParameter } from './infer-parameters';
import { sequenceFromGrpcParameters } from '../models/sequence-parameters';
import { CONTENTS_FIELD, tensorDataFromContents } from './tensor-contents';

function decodeShape(shape: readonly string[], what: string): number[] {
  return shape.map((d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${what}: 'shape' must hold non-negative integers, got ${d}`);
    return n;
  });
}

/** Decoding state shared by a request's inputs. */
type DecodeBudget = BytesElementBudget;

function decodeInput(input: WireInferInput, index: number, raw: Buffer | undefined, budget: DecodeBudget): Tensor {
  if (input.name === '') throw new InvalidArgumentError(`inputs[${index}]: 'name' must be a non-empty string`);
  const what = `input '${input.name}'`;
  if (!isDataType(input.datatype)) throw new InvalidArgumentError(`${what}: invalid datatype '${input.datatype}'`);
  const shape = decodeShape(input.shape, what);
  const count = elementCount(shape);
  if (input.datatype === 'BYTES') claimBytesElements(budget, shape, count, what);
  if (raw !== undefined) {
    if (input.contents !== null) {
      throw new InvalidArgumentError(`${what}: has both contents and raw_input_contents; send one`);
    }
    return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromRaw(input.datatype, count, raw, what) };
  }
  if (input.contents === null) {
    if (count > 0) {
      const field = CONTENTS_FIELD[input.datatype];
      const where = field === undefined ? 'raw_input_contents' : `contents.${field} or raw_input_contents`;
      throw new InvalidArgumentError(`${what}: has no contents; send its elements in ${where}`);
    }
    const data = input.datatype === 'BYTES' ? [] : allocateTypedArray(input.datatype, 0);
    return { name: input.name, datatype: input.datatype, shape, data };
  }
  return { name: input.name, datatype: input.datatype, shape, data: tensorDataFromContents(input.datatype, count, input.contents, what) };
}

function decodeOutput(output: WireRequestedOutput, index: number): RequestedOutput {
  if (output.name === '') throw new InvalidArgumentError(`outputs[${index}]: 'name' must be a non-empty string`);
  const out: RequestedOutput = { name: output.name };
  const k = nonNegativeIntegerParameter(output.parameters, 'classification', `output '${output.name}': parameter 'classification'`);
  if (k !== undefined) out.classification = k;
  return out;
}

export function decodeGrpcInferRequest(message: WireModelInferRequest): InferenceRequest {
  const raw = message.raw_input_contents;
  // Triton's rule: raw contents are all or nothing, one entry per input, in input order.
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw new InvalidArgumentError(
      `expected ${message.inputs.length} raw_input_contents (one per input, in order) but got ${raw.length}`,
    );
  }
  const budget: DecodeBudget = { bytesElements: 0 };
  const request: InferenceRequest = {
    inputs: message.inputs.map((input, i) => decodeInput(input, i, raw.length > 0 ? raw[i] : undefined, budget)),
  };
  if (message.id !== '') request.id = message.id;
  // Proto3 cannot tell an empty list from none: no outputs asked for means every output.
  if (message.outputs.length > 0) request.outputs = message.outputs.map(decodeOutput);
  checkReservedParameters(message.parameters);
  const priority = nonNegativeIntegerParameter(message.parameters, 'priority', "parameter 'priority'");
  if (priority !== undefined) request.priority = priority;
  const timeout = nonNegativeIntegerParameter(message.parameters, 'timeout', "parameter 'timeout'");
  if (timeout !== undefined) request.timeoutMicroseconds = timeout;
  const sequence = sequenceFromGrpcParameters(message.parameters);
  if (sequence) request.sequence = sequence;
  return request;
}
