/**
 * Reading a Triton model repository from disk:
 *   <root>/<model>/[config.pbtxt] <version>/<model file>
 * Every subdirectory of the root is a model (hidden ones excepted). Version directories
 * are positive integers; like Triton, other entries and names with a leading zero are
 * ignored. Nothing here validates a config: a model with a broken config.pbtxt is still
 * listed, and fails when it is loaded, with the parser's message.
 */

import fs from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { InvalidOptionError, ModelConfigError, ModelLoadError, ModelNotFoundError } from '../../errors';
import { modelConfigLimits, overLimit } from '../config/config-limits';
import { DEFAULT_MODEL_FILENAME } from '../config/model-config-schema';
import { parsePbtxt } from '../config/parse-pbtxt';
import { fsErrorText } from './fs-error-text';
import { resolveModelPath } from './resolve-model-path';

export { resolveModelPath } from './resolve-model-path';
export { selectVersions, type VersionPolicy } from './select-versions';
export { readLabels } from './read-labels';

export { DEFAULT_MODEL_FILENAME };
export const CONFIG_FILENAME = 'config.pbtxt';

export interface VersionDirectory {
  version: number;
  /** Absolute path of the version directory. */
  path: string;
  /** Names of the entries in it (files and directories), sorted. */
  files: string[];
}

export interface ModelDirectory {
  name: string;
  /** Absolute path of the model directory. */
  path: string;
  /** Contents of config.pbtxt; undefined when the model has none (auto-complete fills in). */
  configText: string | undefined;
  /** Numeric version directories, ascending. */
  versions: VersionDirectory[];
  /** config's default_model_filename when it names one, else model.onnx. */
  modelFileName: string;
  /** The versions whose directory holds `modelFileName`, ascending. */
  modelVersions: number[];
}

/** Every model directory in the repository, sorted by name. */
export async function scanRepository(root: string): Promise<ModelDirectory[]> {
  const names = await listModelNames(root);
  return Promise.all(names.map((name) => scanModelDirectory(root, name)));
}

/** Names of the model directories in `root`, sorted. */
export async function listModelNames(root: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (err) {
    // The path is for the operator at start-up; responses strip it (util/public-error-text.ts).
    throw new InvalidOptionError(`model repository '${root}' is not a readable directory: ${fsErrorText(err)}`, {
      cause: err,
    });
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (await isDirectory(path.join(root, entry.name), entry)) names.push(entry.name);
  }
  return names.sort();
}

/** One model directory; throws ModelNotFoundError when the repository has no such model. */
export async function scanModelDirectory(root: string, name: string): Promise<ModelDirectory> {
  const dir = resolveModelPath(root, name);
  if (!(await isDirectory(dir))) throw new ModelNotFoundError(`model '${name}' is not in the model repository`);

  const entries = await readDirectory(dir, `model '${name}': model directory`);
  const versions: VersionDirectory[] = [];
  for (const entry of entries) {
    if (!/^[1-9][0-9]*$/.test(entry.name) || !Number.isSafeInteger(Number(entry.name))) continue;
    const versionPath = path.join(dir, entry.name);
    if (!(await isDirectory(versionPath, entry))) continue;
    versions.push({ version: Number(entry.name), path: versionPath, files: (await readDirectory(versionPath, `model '${name}' version ${entry.name}: version directory`)).map((e) => e.name).sort() });
  }
  versions.sort((a, b) => a.version - b.version);

  const configText = await readConfigText(path.join(dir, CONFIG_FILENAME), name);
  const modelFileName = defaultModelFilename(configText) ?? DEFAULT_MODEL_FILENAME;
  return {
    name,
    path: dir,
    configText,
    versions,
    modelFileName,
    modelVersions: versionsWithModelFile(versions, modelFileName),
  };
}

/** Versions whose directory holds `fileName` (a file, or a directory as ONNX models may be). */
export function versionsWithModelFile(versions: VersionDirectory[], fileName = DEFAULT_MODEL_FILENAME): number[] {
  return versions.filter((v) => v.files.includes(fileName)).map((v) => v.version);
}

async function readConfigText(file: string, modelName: string): Promise<string | undefined> {
  try {
    // Read whole and parsed, so its size is bounded first (config_bytes, as for an override).
    const { size } = await fs.stat(file);
    if (size > modelConfigLimits().config_bytes) {
      throw new ModelConfigError(`model '${modelName}': ${CONFIG_FILENAME} is ${size} bytes, which ${overLimit(size, 'config_bytes')}`);
    }
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ModelConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelLoadError(`model '${modelName}': ${CONFIG_FILENAME}: ${fsErrorText(err)}`, { cause: err });
  }
}

/**
 * default_model_filename from the config's generic tree (the full schema runs at load time).
 * A config that does not parse names no file here; loading it reports the syntax error.
 */
function defaultModelFilename(configText: string | undefined): string | undefined {
  if (configText === undefined) return undefined;
  try {
    const field = parsePbtxt(configText).fields.find((f) => f.name === 'default_model_filename');
    return field?.value.kind === 'string' && field.value.value !== '' ? field.value.value : undefined;
  } catch {
    return undefined;
  }
}

/** readdir whose failure names the model's directory, not its absolute path. */
async function readDirectory(dir: string, what: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new ModelLoadError(`${what}: ${fsErrorText(err)}`, { cause: err });
  }
}

/** Directory test that follows symlinks (a symlinked model or version dir counts). */
async function isDirectory(p: string, entry?: Dirent): Promise<boolean> {
  if (entry && !entry.isSymbolicLink()) return entry.isDirectory();
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
