/**
 * Loads an entry script and checks it against the score module contract. `.ts`, `.mts`,
 * `.cts` run without a build step (tsx registers itself on first use); `.js`, `.mjs`,
 * `.cjs` load as Node.js loads them. A CommonJS module, or TypeScript compiled to one,
 * arrives under `default`; its exports are read from there.
 */
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScoreModuleError } from '../../errors';
import { installPackageAliases } from './package-aliases';
import type { AnyScoreModule, RequestSchema } from './score-module';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JAVASCRIPT = new Set(['.js', '.mjs', '.cjs']);

/** The checked module: init and run are functions; schemas, when present, have safeParse. */
export interface LoadedScoreModule {
  path: string;
  init: AnyScoreModule['init'];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a user's module: its input and context types are its own
  run: (input: any, context: any) => unknown;
  rawHttp: boolean;
  inputSchema: RequestSchema | undefined;
  outputSchema: RequestSchema | undefined;
}

export async function loadScoreModule(path: string): Promise<LoadedScoreModule> {
  const ext = extname(path).toLowerCase();
  if (!TYPESCRIPT.has(ext) && !JAVASCRIPT.has(ext)) {
    throw new ScoreModuleError(`${path}: an entry script must be .ts, .mts, .cts, .js, .mjs or .cjs`);
  }
  installPackageAliases();
  if (TYPESCRIPT.has(ext)) await registerTypeScript();

  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ScoreModuleError(`${path}: failed to load the score module: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return checkScoreModule(path, exportsOf(namespace));
}

/** Checks a module's exports against the contract; exported for tests of the checks. */
export function checkScoreModule(path: string, exported: Record<string, unknown>): LoadedScoreModule {
  const { init, run, rawHttp, inputSchema, outputSchema } = exported;
  if (typeof init !== 'function') throw new ScoreModuleError(`${path}: the score module must export an init() function`);
  if (typeof run !== 'function') throw new ScoreModuleError(`${path}: the score module must export a run() function`);
  if (rawHttp !== undefined && typeof rawHttp !== 'boolean') {
    throw new ScoreModuleError(`${path}: rawHttp must be true or false, got ${typeof rawHttp}`);
  }
  for (const [name, schema] of [['inputSchema', inputSchema], ['outputSchema', outputSchema]] as const) {
    if (schema !== undefined && typeof (schema as { safeParse?: unknown } | null)?.safeParse !== 'function') {
      throw new ScoreModuleError(`${path}: ${name} must be a zod schema (an object with safeParse)`);
    }
  }
  if (rawHttp === true && inputSchema !== undefined) {
    throw new ScoreModuleError(`${path}: a score module cannot have both rawHttp and inputSchema`);
  }
  return {
    path,
    init: init as LoadedScoreModule['init'],
    run: run as LoadedScoreModule['run'],
    rawHttp: rawHttp === true,
    inputSchema: inputSchema as RequestSchema | undefined,
    outputSchema: outputSchema as RequestSchema | undefined,
  };
}

/**
 * Named exports, or CommonJS `module.exports` (under `default`) when Node could not see
 * the names statically (e.g. `module.exports = { init() {}, run() {} }`).
 */
function exportsOf(namespace: Record<string, unknown>): Record<string, unknown> {
  if (typeof namespace.init === 'function' && typeof namespace.run === 'function') return namespace;
  const commonJs = namespace.default;
  if (typeof commonJs === 'object' && commonJs !== null && ('init' in commonJs || 'run' in commonJs)) return commonJs as Record<string, unknown>;
  return namespace;
}

let typeScriptReady: Promise<void> | undefined;

/** tsx's hooks for require() and import(), once per process; skipped when tsx already runs it (`--import tsx`). */
function registerTypeScript(): Promise<void> {
  typeScriptReady ??= (async () => {
    if (process.execArgv.some((arg) => arg.includes('tsx'))) return;
    const cjs = await import('tsx/cjs/api');
    const esm = await import('tsx/esm/api');
    cjs.register();
    esm.register();
  })();
  return typeScriptReady;
}
