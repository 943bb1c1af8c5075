/**
 * The load API's `config` parameter (HTTP and gRPC): a JSON string holding a model config.
 * Its size is bounded before it is parsed, so one request cannot make the engine parse and
 * validate megabytes of config; what it holds is checked later by validateModelConfig.
 */

import { InvalidArgumentError } from '../../errors';
import { modelConfigLimits, overLimit } from './config-limits';

export function parseConfigOverride(text: string): unknown {
  const bytes = Buffer.byteLength(text);
  if (bytes > modelConfigLimits().config_bytes) {
    throw new InvalidArgumentError(`parameter 'config' is ${bytes} bytes, which ${overLimit(bytes, 'config_bytes')}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`parameter 'config' is not valid JSON: ${(err as Error).message}`);
  }
}
