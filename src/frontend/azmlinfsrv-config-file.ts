/**
 * azmlinfsrv's `config.json` (`--config_file`, `AZUREML_CONFIG_FILE`): a JSON object whose
 * keys are the server's environment variable names, e.g.
 * `{"AZUREML_ENTRY_SCRIPT": "score.py", "SCORING_TIMEOUT_MS": 6000}`. As in azmlinfsrv it is
 * the weakest source: flags win over the environment, the environment over the file. Without
 * a named file, `config.json` in the app root, then beside the entry script, is read when it
 * exists and is not empty (azmlinfsrv's search).
 *
 * Keys scoreline does not act on are reported, not silently dropped: azmlinfsrv's own keys
 * that have no effect here, and unknown keys (azmlinfsrv warns about those too).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { InvalidOptionError } from '../errors';

/** azmlinfsrv's keys that scoreline accepts and does nothing with, and why. */
const WITHOUT_EFFECT: Record<string, string> = {
  WORKSPACE_NAME: 'informational in azmlinfsrv too',
  HOSTNAME: 'informational in azmlinfsrv too',
  AZUREML_SOURCE_DIRECTORY: 'scoreline resolves the entry script from AML_APP_ROOT',
  SERVICE_PATH_PREFIX: 'scoreline serves its routes at the root',
  // AML_APP_INSIGHTS_KEY is an option (appInsightsKey): from the file it turns App Insights on
  // as azmlinfsrv's flag does (serve-command.ts), so ENABLED adds nothing there.
  AML_APP_INSIGHTS_ENABLED: 'a key in this file turns App Insights on; set the variable in the environment to turn it off',
  APP_INSIGHTS_LOG_RESPONSE_ENABLED: 'response bodies are not sent to App Insights',
  AML_MODEL_DC_STORAGE_ENABLED: 'model data collection is not implemented',
  AZUREML_DEBUG_PORT: 'scoreline has no debugpy; use node --inspect',
};

export interface ConfigFileValues {
  /** Where the values came from (absolute), for messages. */
  path: string;
  /** Values by environment variable name, as text (what an environment variable would hold). */
  values: Map<string, string>;
  /** Keys without effect and unknown keys, one line each, for the log. */
  warnings: string[];
}

/**
 * Finds and reads the file. `named` is --config_file / AZUREML_CONFIG_FILE (resolved from
 * `cwd`); `searchDirs` are searched in order when none is named. `knownKeys` are the
 * variables scoreline reads. A named file that is missing, or any file that is not a JSON
 * object of scalars, is a start-up error naming the file and the key.
 */
export function readConfigFile(
  named: string | undefined,
  searchDirs: readonly string[],
  knownKeys: ReadonlySet<string>,
  cwd: string,
): ConfigFileValues | undefined {
  let path: string | undefined;
  if (named !== undefined) {
    path = isAbsolute(named) ? named : resolve(cwd, named);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new InvalidOptionError(`--config-file (AZUREML_CONFIG_FILE): no such file: ${named}`);
    }
  } else {
    path = searchDirs.map((dir) => join(dir, 'config.json')).find((candidate) => existsSync(candidate) && statSync(candidate).isFile() && statSync(candidate).size > 0);
    if (path === undefined) return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidOptionError(`config file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidOptionError(`config file ${path} must hold a JSON object of settings`);
  }
  const values = new Map<string, string>();
  const warnings: string[] = [];
  const ignored: string[] = [];
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (value === null) continue;
    if (typeof value === 'object') {
      throw new InvalidOptionError(`config file ${path}: '${key}' must be a string, number or boolean`);
    }
    if (knownKeys.has(key)) values.set(key, String(value));
    else if (key in WITHOUT_EFFECT) ignored.push(`${key} (${WITHOUT_EFFECT[key]})`);
    else unknown.push(key);
  }
  if (ignored.length > 0) warnings.push(`config file ${path}: keys without effect in scoreline: ${ignored.join(', ')}`);
  if (unknown.length > 0) warnings.push(`config file ${path}: unknown keys, not used: ${unknown.join(', ')}`);
  return { path, values, warnings };
}

/** azmlinfsrv's search when no file is named: the app root, then the entry script's directory. */
export function configSearchDirs(appRoot: string, entryScript: string | undefined): string[] {
  const dirs = [appRoot];
  if (entryScript !== undefined) dirs.push(dirname(isAbsolute(entryScript) ? entryScript : join(appRoot, entryScript)));
  return dirs;
}
