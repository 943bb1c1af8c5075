/**
 * Builds the body of `POST .../infer` the way tritonclient.http does, byte for byte: a
 * compact JSON header with keys in tritonclient's order (id, inputs, outputs, parameters),
 * then the binary inputs in the order the inputs are listed. With no requested outputs the
 * request asks for every output in binary (`binary_data_output: true`), as tritonclient does.
 */
import { InvalidArgumentError } from '../errors';
import { WireParameterValue, joinInferenceBody } from '../tensor';
import type { InferInput } from './infer-input';
import type { InferRequestedOutput } from './infer-requested-output';

export interface InferRequestFields {
  /** Echoed back in the response's `id`. */
  requestId?: string;
  /** Sequence batcher correlation id; 0 or '' means "not part of a sequence". */
  sequenceId?: number | string;
  sequenceStart?: boolean;
  sequenceEnd?: boolean;
  /** Scheduler priority level; 0 (default) is the model's default, 1 the highest. */
  priority?: number;
  /** Server-side request timeout in microseconds (queue policy of the dynamic batcher). */
  timeout?: number;
  /** Outputs to return and how; all outputs, binary, when omitted. */
  outputs?: readonly InferRequestedOutput[];
  /** Extra request-level parameters. */
  parameters?: Record<string, WireParameterValue>;
}

export interface InferRequestBody {
  /** The body in pieces: the JSON header, then each binary input (not concatenated). */
  parts: Buffer[];
  byteLength: number;
  /** Value of Inference-Header-Content-Length; undefined when the body is all JSON. */
  headerLength: number | undefined;
}

// Reserved because the client sets them from its own arguments (tritonclient's list).
const RESERVED_PARAMETERS = new Set(['sequence_id', 'sequence_start', 'sequence_end', 'priority', 'binary_data_output']);

function checkUnsigned(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`infer option '${option}' must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

export function buildInferRequestBody(inputs: readonly InferInput[], fields: InferRequestFields = {}): InferRequestBody {
  // Duck-typed rather than instanceof: a second copy of this package must interoperate.
  if (!Array.isArray(inputs) || !inputs.every((i) => typeof (i as Partial<InferInput> | null)?.serialize === 'function')) {
    throw new InvalidArgumentError('infer: inputs must be an array of InferInput');
  }
  const { requestId = '', sequenceId = 0, sequenceStart = false, sequenceEnd = false, priority = 0, timeout, outputs } = fields;
  if (typeof requestId !== 'string') throw new InvalidArgumentError("infer option 'requestId' must be a string");
  if (outputs !== undefined && (!Array.isArray(outputs) || !outputs.every((o) => typeof (o as Partial<InferRequestedOutput> | null)?.toWire === 'function'))) {
    throw new InvalidArgumentError("infer option 'outputs' must be an array of InferRequestedOutput");
  }

  const parameters: Record<string, WireParameterValue> = {};
  if (sequenceId !== 0 && sequenceId !== '') {
    if (typeof sequenceId === 'number') checkUnsigned(sequenceId, 'sequenceId');
    else if (typeof sequenceId !== 'string') throw new InvalidArgumentError("infer option 'sequenceId' must be an integer or a string");
    parameters.sequence_id = sequenceId;
    parameters.sequence_start = !!sequenceStart;
    parameters.sequence_end = !!sequenceEnd;
  }
  if (checkUnsigned(priority, 'priority') !== 0) parameters.priority = priority;
  if (timeout !== undefined) parameters.timeout = checkUnsigned(timeout, 'timeout');
  if (outputs === undefined || outputs.length === 0) parameters.binary_data_output = true;
  for (const [key, value] of Object.entries(fields.parameters ?? {})) {
    if (RESERVED_PARAMETERS.has(key)) {
      throw new InvalidArgumentError(`infer option 'parameters': "${key}" is a reserved parameter and cannot be specified`);
    }
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new InvalidArgumentError(`infer option 'parameters': "${key}" must be a string, number or boolean`);
    }
    parameters[key] = value;
  }

  const serialized = inputs.map((i) => i.serialize());
  let json = '{';
  if (requestId !== '') json += `"id":${JSON.stringify(requestId)},`;
  json += `"inputs":[${serialized.map((s) => s.json).join(',')}]`;
  if (outputs !== undefined && outputs.length > 0) json += `,"outputs":${JSON.stringify(outputs.map((o) => o.toWire()))}`;
  if (Object.keys(parameters).length > 0) json += `,"parameters":${JSON.stringify(parameters)}`;
  json += '}';

  const chunks = serialized.flatMap((s) => (s.binary === undefined ? [] : [s.binary]));
  const { parts, headerLength, byteLength } = joinInferenceBody(json, chunks);
  return { parts, byteLength, headerLength: chunks.length > 0 ? headerLength : undefined };
}
