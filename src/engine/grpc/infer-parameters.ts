/**
 * Reads the parameters the engine acts on from an InferParameter map. Parameters it does
 * not know are left alone (Triton hands them to the backend), and `binary_data` /
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
