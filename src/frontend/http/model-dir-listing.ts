import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The model directory's contents for a start-up failure log (AzureML prints the same when
 * init() fails): one entry per file, `path (bytes)`, depth first, at most `limit` entries.
 */
/** The listing as log text: a heading naming the directory, then one indented line per entry. */
export function modelDirReport(dir: string | undefined): string {
  if (dir === undefined) return 'Model directory: none configured (--model-dir / AZUREML_MODEL_DIR, --model-repository)';
  return [`Model directory ${dir} contents:`, ...listModelDir(dir).map((line) => `  ${line}`)].join('\n');
}

export function listModelDir(dir: string | undefined, limit = 200): string[] {
  if (dir === undefined) return ['(no model directory configured)'];
  const out: string[] = [];
  const walk = (current: string): void => {
    let names: string[];
    try {
      names = readdirSync(current).sort();
    } catch (err) {
      out.push(`${relative(dir, current) || '.'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return;
    }
    for (const name of names) {
      if (out.length >= limit) return;
      const path = join(current, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) {
        out.push(`${relative(dir, path)}/`);
        walk(path);
      } else {
        out.push(`${relative(dir, path)} (${stat?.size ?? '?'} bytes)`);
      }
    }
  };
  walk(dir);
  if (out.length >= limit) out.push(`(listing truncated at ${limit} entries)`);
  if (out.length === 0) out.push('(empty)');
  return out;
}
