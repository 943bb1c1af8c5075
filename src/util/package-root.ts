import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const cache = new Map<string, string>();

/**
 * The directory holding scoreline's own package.json, found by walking up from `from`
 * (this file by default), so it is the same from src/ (tsx, jest) and from dist/ (built).
 */
export function packageRoot(from: string = __dirname): string {
  const start = resolve(from);
  const hit = cache.get(start);
  if (hit !== undefined) return hit;
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'scoreline') {
      cache.set(start, dir);
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`scoreline's package.json not found above ${start}`);
  }
}

/** scoreline's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
