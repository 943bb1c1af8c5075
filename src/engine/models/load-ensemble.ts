/**
 * Loading an ensemble: check its dataflow, make sure its composing models are loaded
 * (the model manager loads the missing ones, as Triton does), check it against their
 * configs, and build one EnsembleModel per version. Ensemble configs are never
 * auto-completed (there is no model file to read them from), as in Triton.
 *
 * Composing models are loaded or awaited through the host before the ensemble is
 * swapped in, so an ensemble is READY only after every model it needs is. A cycle of
 * ensembles is found by reading configs from the repository before waiting on anything:
 * waiting on a model that waits on us would never end.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelConfigError, ModelLoadError } from '../../errors';
import type { ResponseCache } from '../cache/response-cache';
import { ModelConfig, ParsedModelConfig, parseModelConfig } from '../config/model-config';
import { CONFIG_FILENAME, ModelDirectory, readLabels, resolveModelPath, selectVersions } from '../repository/scan-repository';
import { EnsembleModel, type ComposingModels } from './ensemble-model';
import { checkComposingConfigs, planEnsemble } from './ensemble-plan';
import type { ServableVersion } from './servable-version';

export interface EnsembleHost extends ComposingModels {
  /**
   * Resolves once `modelName` is loaded: waits for a load in progress, or loads it when
   * nothing has. Rejects with a reason that names the ensemble and the model.
   */
  prepare(ensembleName: string, modelName: string): Promise<void>;
}

export function isEnsembleConfig(config: ParsedModelConfig | undefined): boolean {
  return config !== undefined && (config.platform === 'ensemble' || config.ensemble_scheduling !== undefined);
}

export async function loadEnsemble(
  root: string,
  dir: ModelDirectory,
  parsed: ParsedModelConfig,
  host: EnsembleHost,
  responseCache?: ResponseCache,
): Promise<{ config: ModelConfig; versions: Map<number, ServableVersion> }> {
  const name = dir.name;
  if (parsed.optimization !== undefined) {
    throw new ModelConfigError(`model '${name}': optimization should not be specified for ensemble '${name}'`);
  }
  if (parsed.model_warmup.length > 0) {
    throw new ModelConfigError(`model '${name}': model_warmup can not be specified for ensemble '${name}'`);
  }
  const config: ModelConfig = { ...parsed, max_batch_size: parsed.max_batch_size ?? 0 };
  const plan = planEnsemble(config);
  const versions = selectVersions(
    dir.versions.map((v) => v.version),
    config.version_policy,
    name,
  );
  if (versions.length === 0) {
    throw new ModelLoadError(`model '${name}': at least one version must be available under the version policy (an ensemble needs a version directory, which may be empty)`);
  }

  const missing: string[] = [];
  for (const model of plan.composingModels) {
    if (!(await isDirectory(resolveModelPath(root, model)))) missing.push(model);
  }
  if (missing.length > 0) {
    throw new ModelLoadError(`ensemble '${name}' contains models that are not available: ${missing.join(', ')}`);
  }
  const cycle = await findEnsembleCycle(root, name, plan.composingModels);
  if (cycle) throw new ModelConfigError(`circular dependency between ensembles: ${cycle.join(' -> ')}`);

  await Promise.all(plan.composingModels.map((model) => host.prepare(name, model)));
  for (const step of plan.steps) {
    if (step.modelVersion < 0) continue;
    try {
      host.resolve(step.modelName, step.modelVersion);
    } catch {
      throw new ModelLoadError(
        `ensemble '${name}' depends on '${step.modelName}' whose required version ${step.modelVersion} is not loaded`,
      );
    }
  }
  checkComposingConfigs(config, plan, (step) => host.resolve(step.modelName, step.modelVersion).config);

  const labels = new Map<string, string[]>();
  for (const out of config.output) {
    if (out.label_filename) labels.set(out.name, await readLabels(path.join(dir.path, out.label_filename), name));
  }
  const loaded = new Map<number, ServableVersion>();
  for (const version of versions) loaded.set(version, new EnsembleModel(name, version, config, plan, host, labels, responseCache));
  return { config, versions: loaded };
}

/**
 * A path from `start` back to itself through ensembles' steps, read from the configs on
 * disk (models whose config is missing or broken end the path: their load reports that).
 */
async function findEnsembleCycle(root: string, start: string, composing: string[]): Promise<string[] | undefined> {
  const seen = new Set<string>();
  const visit = async (model: string, trail: string[]): Promise<string[] | undefined> => {
    if (model === start) return [...trail, model];
    if (seen.has(model)) return undefined;
    seen.add(model);
    const steps = await readComposingModels(root, model);
    for (const next of steps) {
      const found = await visit(next, [...trail, model]);
      if (found) return found;
    }
    return undefined;
  };
  for (const model of composing) {
    const found = await visit(model, [start]);
    if (found) return found;
  }
  return undefined;
}

/**
 * The models an ensemble's steps name, read from its config.pbtxt on disk; [] for a model
 * that is not an ensemble, or whose config is missing or does not parse.
 */
export async function readComposingModels(root: string, model: string): Promise<string[]> {
  try {
    const text = await fs.readFile(path.join(resolveModelPath(root, model), CONFIG_FILENAME), 'utf8');
    const config = parseModelConfig(text, model);
    return isEnsembleConfig(config) ? [...new Set((config.ensemble_scheduling?.step ?? []).map((s) => s.model_name))] : [];
  } catch {
    return [];
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
