/**
 * Makes `import ... from 'scoreline'` and `'scoreline/client'` in a score module resolve to
 * the copy of scoreline that is serving it, wherever the module lives and whether or not
 * scoreline is installed next to it. One copy means one InferenceServerClient class and one
 * error registry: the client that init() gets and the InferInput a module builds are of the
 * same classes, and errors a module throws are recognised by their class. Covers require()
 * (CommonJS modules and TypeScript run through tsx) and import (ES modules).
 */
import { existsSync } from 'node:fs';
import Module from 'node:module';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let installed = false;

export function installPackageAliases(): void {
  if (installed) return;
  installed = true;
  const aliases = packageAliases();
  if (aliases.size === 0) return;

  // Module._resolveFilename is internal but stable, and the only hook require() offers.
  const internal = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = internal._resolveFilename;
  internal._resolveFilename = function resolveWithAliases(request: string, ...rest: unknown[]): string {
    return original.call(this, aliases.get(request) ?? request, ...rest);
  };

  const urls = Object.fromEntries([...aliases].map(([name, file]) => [name, pathToFileURL(file).href]));
  Module.register(`data:text/javascript,${encodeURIComponent(ESM_HOOKS)}`, { data: urls });
}

/** 'scoreline' → this copy's index, 'scoreline/client' → its client; .ts from src/ (tsx), .js from dist/. */
function packageAliases(): Map<string, string> {
  const ext = extname(__filename);
  const candidates: [string, string][] = [
    ['scoreline', join(__dirname, '..', '..', `index${ext}`)],
    ['scoreline/client', join(__dirname, '..', '..', 'client', `index${ext}`)],
  ];
  return new Map(candidates.filter(([, file]) => existsSync(file)));
}

// Rewrites the specifier and lets the rest of the chain (tsx, Node) resolve the file, so
// formats and TypeScript handling stay theirs.
const ESM_HOOKS = `
let aliases = {};
export async function initialize(data) { aliases = data; }
export async function resolve(specifier, context, next) {
  const url = aliases[specifier];
  return next(url === undefined ? specifier : url, context);
}
`;
