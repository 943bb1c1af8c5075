/**
 * The request parameters that name a request's sequence, as tritonclient sends them:
 * `sequence_id` (an unsigned integer, or a string), `sequence_start`, `sequence_end`
 * (booleans). tritonclient leaves all three out when its sequence_id is 0 or "", and Triton
 * reads 0 and "" as "no sequence", so they are the same as absent here.
 *
 * One reader per wire form: HTTP's JSON `parameters` object and gRPC's InferParameter map
 * (whose one-of says which type was sent). Both give the engine the same SequenceFlags.
 */
import { InvalidArgumentError } from '../../errors';
import { namesSequence, type SequenceFlags } from '../scheduler/sequence-types';

const MAX_UINT64 = (1n << 64n) - 1n;
/** Triton (tritonserver.cc): "string correlation ID cannot be longer than 128 characters". */
const MAX_STRING_ID = 128;

/** The flags, or undefined when the request names no sequence (no id, no start/end set). */
function flags(id: SequenceFlags['id'] | undefined, start: boolean, end: boolean): SequenceFlags | undefined {
  if (!namesSequence(id) && !start && !end) return undefined;
  return { id: id ?? 0n, start, end };
}

function stringId(value: string): string {
  if (value.length > MAX_STRING_ID) {
    throw new InvalidArgumentError(`parameter 'sequence_id': string correlation ID cannot be longer than ${MAX_STRING_ID} characters`);
  }
  return value;
}

/** From HTTP's JSON `parameters` (already checked to be an object, or absent). */
export function sequenceFromJsonParameters(params: Readonly<Record<string, unknown>> | undefined): SequenceFlags | undefined {
  if (params === undefined) return undefined;
  const { sequence_id: rawId, sequence_start: start = false, sequence_end: end = false } = params;
  let id: SequenceFlags['id'] | undefined;
  if (typeof rawId === 'string') id = stringId(rawId);
  else if (typeof rawId === 'number') {
    // JSON numbers past 2^53 have already lost digits when they reach here: refused, not rounded.
    if (!Number.isSafeInteger(rawId) || rawId < 0) {
      throw new InvalidArgumentError(
        `parameter 'sequence_id' must be an unsigned integer up to ${Number.MAX_SAFE_INTEGER} or a string, got ${rawId} (send larger IDs as strings)`,
      );
    }
    id = BigInt(rawId);
  } else if (rawId !== undefined) {
    throw new InvalidArgumentError("parameter 'sequence_id' must be an unsigned integer or a string");
  }
  if (typeof start !== 'boolean') throw new InvalidArgumentError("parameter 'sequence_start' must be a boolean");
  if (typeof end !== 'boolean') throw new InvalidArgumentError("parameter 'sequence_end' must be a boolean");
  return flags(id, start, end);
}

/** An InferParameter as protobufjs decodes it (64-bit integers as decimal strings). */
interface GrpcParameter {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: string;
  uint64_param?: string;
  string_param?: string;
}

/** From gRPC's ModelInferRequest.parameters; the texts are Triton's gRPC server's. */
export function sequenceFromGrpcParameters(params: Readonly<Record<string, GrpcParameter>>): SequenceFlags | undefined {
  const p = params.sequence_id;
  let id: SequenceFlags['id'] | undefined;
  if (p !== undefined) {
    const choice = p.parameter_choice;
    if (choice === 'string_param') id = stringId(p.string_param ?? '');
    else if (choice === 'int64_param' || choice === 'uint64_param') {
      const text = (choice === 'int64_param' ? p.int64_param : p.uint64_param) ?? '0';
      const value = BigInt(text);
      // Triton reads an int64 ID as its uint64 bits; a negative one names no real sequence.
      if (value < 0n || value > MAX_UINT64) throw new InvalidArgumentError(`parameter 'sequence_id' must be a non-negative integer, got ${text}`);
      id = value;
    } else {
      throw new InvalidArgumentError("invalid value type for 'sequence_id' parameter, expected int64_param, uint64_param or string_param.");
    }
  }
  const bool = (key: 'sequence_start' | 'sequence_end'): boolean => {
    const b = params[key];
    if (b === undefined) return false;
    if (b.parameter_choice !== 'bool_param') throw new InvalidArgumentError(`invalid value type for '${key}' parameter, expected bool_param.`);
    return b.bool_param === true;
  };
  return flags(id, bool('sequence_start'), bool('sequence_end'));
}
