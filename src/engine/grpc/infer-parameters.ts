/**
 * Reads the parameters the engine acts on from an InferParameter map. Parameters it does
 * not know are left alone (Triton hands them to the backend) unless their key is one of
 * Triton's reserved `triton_` keys, and `binary_data` /
 * `binary_data_output` mean nothing on gRPC, where outputs are always raw.
 */
import { InvalidArgumentError } from '../../errors';
import type { WireInferParameter } from './grpc-messages';

/**
 * A non-negative integer parameter (int64_param or uint64_param), or undefined when
 * absent. `what` names where it was found ("parameter 'priority'").
 */
export function nonNegativeIntegerParameter(
  parameters: Readonly<Record<string, WireInferParameter>>,
  key: string,
  what: string,
): number | undefined {
  const p = parameters[key];
  if (p === undefined) return undefined;
  const choice = p.parameter_choice;
  const text = choice === 'int64_param' ? p.int64_param : choice === 'uint64_param' ? p.uint64_param : undefined;
  if (text === undefined) {
    throw new InvalidArgumentError(`${what} must be an int64_param or uint64_param, got ${choice ?? 'no value'}`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${text}`);
  }
  return value;
}

/** The request parameter keys starting with `triton_` that Triton lets a client send. */
const RESERVED_ALLOWED = ['triton_enable_empty_final_response'];

/**
 * Triton reserves request parameter keys starting with `triton_` (infer_handler.cc) and
 * refuses any but the allowed ones, on ModelInfer and ModelStreamInfer alike.
 * `triton_enable_empty_final_response` must be a bool_param; it asks for an empty final
 * response from a decoupled model, and scoreline has none, so it changes nothing here.
 */
export function checkReservedParameters(parameters: Readonly<Record<string, WireInferParameter>>): void {
  for (const [key, p] of Object.entries(parameters)) {
    if (!key.startsWith('triton_')) continue;
    if (!RESERVED_ALLOWED.includes(key)) {
      throw new InvalidArgumentError(
        `parameter keys starting with 'triton_' are reserved for Triton usage. Only the following keys starting with 'triton_' are allowed: ${RESERVED_ALLOWED.join(' ')}`,
      );
    }
    if (p.parameter_choice !== 'bool_param') throw new InvalidArgumentError(`invalid value type for '${key}' parameter, expected bool_param.`);
  }
}
