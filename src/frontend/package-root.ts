import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/**
 * The directory holding scoreline's own package.json, found by walking up from this file,
 * so it is the same from src/ (tsx) and from dist/ (built).
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'scoreline') {
      cached = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`scoreline's package.json not found above ${__dirname}`);
  }
}
