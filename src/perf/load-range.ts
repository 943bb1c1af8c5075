/**
 * `start[:end[:step]]` ranges of --concurrency-range and --request-rate-range, as
 * perf_analyzer reads them: end defaults to start, step to 1; the end is included when a
 * step lands on it.
 */
import { InvalidOptionError } from '../errors';

/** Steps are capped so that a typo (1:100000) fails fast instead of running for days. */
export const MAX_STEPS = 1000;

export function parseRange(text: string, flag: string, options: { integer: boolean }): number[] {
  const parts = text.split(':');
  const fail = (why: string): never => {
    throw new InvalidOptionError(`${flag} must be start[:end[:step]]${options.integer ? ' of positive integers' : ' of positive numbers'}, got '${text}': ${why}`);
  };
  if (parts.length > 3) fail('too many parts');
  const numbers = parts.map((p) => {
    const n = Number(p);
    if (p.trim() === '' || !Number.isFinite(n) || n <= 0) fail(`'${p}' is not a positive number`);
    if (options.integer && !Number.isInteger(n)) fail(`'${p}' is not an integer`);
    return n;
  });
  const [start, end = start, step = 1] = numbers as [number, number?, number?];
  if (end < start) fail('end is below start');
  // Index-based, so that fractional steps do not accumulate rounding error.
  const count = Math.floor((end - start) / step + 1e-9) + 1;
  if (count > MAX_STEPS) fail(`that is ${count} steps; at most ${MAX_STEPS}`);
  return Array.from({ length: count }, (_, i) => Number((start + i * step).toPrecision(12)));
}
