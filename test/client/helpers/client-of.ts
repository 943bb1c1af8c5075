/** Both HTTP clients under the same tests: undici's pool (the default) and the lean one. */
import { InferenceServerClient, type InferenceServerClientOptions } from '../../../src/client';

export const TRANSPORTS = ['undici', 'lean'] as const;

export function clientOf(transport: (typeof TRANSPORTS)[number], options: InferenceServerClientOptions | string): InferenceServerClient {
  return new InferenceServerClient({ ...(typeof options === 'string' ? { url: options } : options), transport });
}
