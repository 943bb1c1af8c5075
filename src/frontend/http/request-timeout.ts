/**
 * A caller's own deadline for one /score request: the `x-scoreline-timeout-ms` header, a
 * whole number of milliseconds. It can only shorten SCORING_TIMEOUT_MS, never lengthen it
 * (the operator's limit stands), and like it, it bounds the request end to end: the time
 * the worker spends on it and the engine's queue (the remaining budget travels to the
 * engine as Triton's `timeout` parameter).
 */
import { InvalidArgumentError } from '../../errors';

export const REQUEST_TIMEOUT_HEADER = 'x-scoreline-timeout-ms';

/** The request's budget in ms: the header's value when it is shorter than `scoringTimeoutMs`. */
export function requestTimeoutMs(header: string | string[] | undefined, scoringTimeoutMs: number): number {
  if (header === undefined) return scoringTimeoutMs;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\s*\d{1,15}\s*$/.test(text) || Number(text) < 1) {
    throw new InvalidArgumentError(
      `header '${REQUEST_TIMEOUT_HEADER}' must be a whole number of milliseconds of at least 1, got ${JSON.stringify(String(text).slice(0, 40))}`,
    );
  }
  return Math.min(Number(text), scoringTimeoutMs);
}
