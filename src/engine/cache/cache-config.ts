/**
 * tritonserver's `--cache-config <cache>,<key>=<value>` (repeatable, one key each time, or
 * several keys after one name) read into the engine's response cache size. scoreline has
 * Triton's `local` cache only, whose one setting is `size` in bytes; a redis or custom cache
 * (a shared library in Triton) is refused by name rather than silently run without a cache.
 */
import { InvalidOptionError } from '../../errors';

export const SUPPORTED_CACHES = ['local'] as const;

/** The `local` cache's size in bytes from every --cache-config entry; undefined when none was given. */
export function parseCacheConfig(entries: readonly string[]): number | undefined {
  let size: number | undefined;
  for (const entry of entries) {
    const [cache, ...settings] = entry.split(',');
    if (!cache || !(SUPPORTED_CACHES as readonly string[]).includes(cache)) {
      throw new InvalidOptionError(
        `--cache-config '${entry}': cache '${cache ?? ''}' is not supported (supported: local,size=BYTES)`,
      );
    }
    if (settings.length === 0) throw new InvalidOptionError(`--cache-config '${entry}': expected local,size=BYTES`);
    for (const setting of settings) {
      const eq = setting.indexOf('=');
      const key = eq < 0 ? setting : setting.slice(0, eq);
      const value = eq < 0 ? '' : setting.slice(eq + 1);
      if (key !== 'size') {
        throw new InvalidOptionError(`--cache-config '${entry}': the local cache has no setting '${key}' (supported: size=BYTES)`);
      }
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) <= 0) {
        throw new InvalidOptionError(
          `--cache-config '${entry}': size must be a positive integer number of bytes up to ${Number.MAX_SAFE_INTEGER}, got '${value}'`,
        );
      }
      size = Number(value);
    }
  }
  return size;
}
