/**
 * Turns one model directory into loaded ModelVersions: reads and validates the config,
 * picks versions by the version policy, starts the instances (one onnxruntime session per
 * worker thread, on CUDA or CPU as instance_group says), auto-completes the config from the
 * session's metadata, reads label files, and runs the config's warmup samples on every
 * instance before returning (so nothing is routed to a cold instance). Ensembles go to
 * load-ensemble.ts. On any failure every instance it started is closed again, so a failed
 * load leaks no thread. An abort signal (the manager's load timeout, an unload) terminates
 * every thread the load started, the ones still creating their session included: the
 * session's creation and warmup run synchronously in those threads, and terminating them
 * is the only way to stop a load that would never end (a hostile warmup `count`).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError, UnsupportedError } from '../../errors';
import type { Logger } from '../../logger';
import { cudaProviderStatus } from '../backend/execution-provider';
import type { ResponseCache } from '../cache/response-cache';
import { OnnxInstance } from '../backend/onnx-instance';
import type { SessionMetadata, SessionSpec } from '../backend/session-messages';
import { ONNX_BACKEND, autoCompleteConfig, requireCompleteConfig } from '../config/auto-complete';
import { CPU_ONLY, completeInstanceGroups } from '../config/instance-groups';
import { ModelConfig, ModelInstanceGroup, ParsedModelConfig, assertSupportedConfig, parseModelConfig, validateModelConfig } from '../config/model-config';
import { readLabels, scanModelDirectory, selectVersions, versionsWithModelFile } from '../repository/scan-repository';
import { EnsembleHost, isEnsembleConfig, loadEnsemble } from './load-ensemble';
import { prepareWarmupSamples } from './model-warmup';
import { ModelVersion } from './model-version';
import { readInitialStates } from './sequence-state-store';
import type { ServableVersion } from './servable-version';

export interface LoaderOptions {
  /** Fill in missing config from the model (Triton's default; off with --disable-auto-complete-config). */
  autoCompleteConfig: boolean;
  /** max_batch_size that auto-complete picks for a model that can batch. */
  defaultMaxBatchSize: number;
  logger: Logger;
  /** How ensembles reach their composing models; without it, ensembles are refused. */
  ensembleHost?: EnsembleHost;
  /** The engine's response cache (--cache-config), for models whose config enables it. */
  responseCache?: ResponseCache;
}

export interface LoadedModel {
  config: ModelConfig;
  versions: Map<number, ServableVersion>;
}

interface InstancePlan {
  executionProvider: 'cuda' | 'cpu';
  deviceId: number;
}

function threadParameter(modelName: string, config: ParsedModelConfig, key: string): number {
  const raw = config.parameters?.[key]?.string_value;
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new ModelLoadError(`model '${modelName}': parameter '${key}' must be a non-negative integer, got '${raw}'`);
  }
  return n;
}

/**
 * One entry per instance to start, from the normalized instance groups (completeInstanceGroups:
 * the same list GET .../config shows).
 */
function planInstances(modelName: string, groups: ModelInstanceGroup[]): InstancePlan[] {
  const cuda = cudaProviderStatus();
  const plans: InstancePlan[] = [];
  for (const g of groups) {
    if (g.kind === 'KIND_GPU' && !cuda.available) {
      throw new ModelLoadError(`model '${modelName}': instance group asks for KIND_GPU but ${cuda.reason}`);
    }
    if (g.kind === 'KIND_MODEL') {
      throw new UnsupportedError(`model '${modelName}': instance group kind KIND_MODEL is not supported by the onnxruntime backend`);
    }
    const provider = g.kind === 'KIND_GPU' ? 'cuda' : 'cpu';
    // Triton places `count` instances on each listed GPU.
    const devices = provider === 'cuda' ? g.gpus : [0];
    for (const deviceId of devices) for (let i = 0; i < g.count; i++) plans.push({ executionProvider: provider, deviceId });
  }
  return plans;
}

export async function loadModel(
  root: string,
  modelName: string,
  configOverride: unknown | undefined,
  options: LoaderOptions,
  signal?: AbortSignal,
): Promise<LoadedModel> {
  const dir = await scanModelDirectory(root, modelName);
  let config: ParsedModelConfig | undefined;
  if (configOverride !== undefined) config = validateModelConfig(configOverride, modelName);
  else if (dir.configText !== undefined) config = parseModelConfig(dir.configText, modelName);
  if (config) assertSupportedConfig(config, modelName);
  if (isEnsembleConfig(config)) {
    if (!options.ensembleHost) throw new UnsupportedError(`model '${modelName}': ensemble models need a model manager to run in`);
    return loadEnsemble(root, dir, config!, options.ensembleHost, options.responseCache);
  }
  if (config?.platform && config.platform !== 'onnxruntime_onnx') {
    throw new UnsupportedError(`model '${modelName}': platform '${config.platform}' is not supported (only onnxruntime_onnx)`);
  }
  if (config?.backend && config.backend !== 'onnxruntime') {
    throw new UnsupportedError(`model '${modelName}': backend '${config.backend}' is not supported (only onnxruntime)`);
  }
  // An override may name another model file than the config.pbtxt on disk did.
  const fileName = config?.default_model_filename || dir.modelFileName;
  const available = versionsWithModelFile(dir.versions, fileName);
  const versions = selectVersions(available, config?.version_policy, modelName);
  if (versions.length === 0) {
    throw new ModelLoadError(
      `model '${modelName}': at least one version must be available under the version policy (no version directory holds ${fileName})`,
    );
  }

  const cuda = cudaProviderStatus();
  // Only onnxruntime models get here (the checks above), as Triton's backend field would say.
  const instanceGroups = completeInstanceGroups(
    { name: modelName, backend: ONNX_BACKEND, instance_group: config?.instance_group ?? [], ensemble_scheduling: undefined },
    modelName,
    cuda.available ? { deviceIds: [0] } : CPU_ONLY,
  );
  if (!cuda.available && (config?.instance_group ?? []).every((g) => g.kind === 'KIND_AUTO')) {
    options.logger.info(`model '${modelName}': KIND_AUTO runs on CPU (${cuda.reason})`);
  }
  const plans = planInstances(modelName, instanceGroups);
  const started: OnnxInstance[] = [];
  /** Threads an abort caught while they created their session: they end on their own. */
  const abortedCreations: Array<Promise<void>> = [];
  // Closing an instance rejects the warmup running in it, which ends the load below.
  const terminateStarted = (): void => {
    for (const instance of started) void instance.close();
  };
  signal?.throwIfAborted();
  signal?.addEventListener('abort', terminateStarted, { once: true });
  try {
    const intra = config ? threadParameter(modelName, config, 'intra_op_thread_count') : 0;
    const inter = config ? threadParameter(modelName, config, 'inter_op_thread_count') : 0;
    const spawn = async (version: number, plan: InstancePlan): Promise<OnnxInstance> => {
      const spec: SessionSpec = {
        modelPath: path.join(dir.path, String(version), fileName),
        executionProvider: plan.executionProvider,
        deviceId: plan.deviceId,
        intraOpNumThreads: intra,
        interOpNumThreads: inter,
      };
      try {
        const instance = await OnnxInstance.create(spec, {
          signal,
          onAbortTermination: (ended) => abortedCreations.push(ended),
          onRunFailure: (message) => options.logger.error(`model '${modelName}' version ${version}: onnxruntime run failed: ${message.trim()}`),
        });
        started.push(instance);
        signal?.throwIfAborted();
        return instance;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw new ModelLoadError(
          // onnxruntime's message names the model file by its absolute path: name it as in the repository.
          `model '${modelName}' version ${version}: onnxruntime could not create a session: ${String((err as Error).message).split(dir.path + path.sep).join('')}`,
          { cause: err },
        );
      }
    };

    // The highest version's first instance tells auto-complete what the model looks like.
    const sorted = [...versions].sort((a, b) => b - a);
    const firstInstances = new Map<number, OnnxInstance[]>();
    const probe = await spawn(sorted[0]!, plans[0]!);
    firstInstances.set(sorted[0]!, [probe]);
    const metadata: SessionMetadata = probe.metadata;
    const complete = options.autoCompleteConfig
      ? autoCompleteConfig(config, metadata, { modelName, defaultMaxBatchSize: options.defaultMaxBatchSize, instanceGroups })
      : requireCompleteConfig(config, metadata, modelName, { instanceGroups });

    const labels = new Map<string, string[]>();
    for (const out of complete.output) {
      if (out.label_filename) labels.set(out.name, await readLabels(path.join(dir.path, out.label_filename), modelName));
    }

    // Warmup data is read once and checked before any instance beyond the probe starts.
    const samples = await prepareWarmupSamples(modelName, dir.path, complete);
    const initialStates = await readInitialStates(modelName, dir.path, complete);
    const loaded = new Map<number, ServableVersion>();
    for (const version of sorted) {
      const instances = firstInstances.get(version) ?? [];
      for (const plan of plans.slice(instances.length)) instances.push(await spawn(version, plan));
      const modelVersion = new ModelVersion(modelName, version, complete, instances, labels, options.responseCache, initialStates);
      // Before the version is returned, so nothing is routed to it until every instance is warm.
      await modelVersion.warmUp(samples, (message) => options.logger.info(message));
      loaded.set(version, modelVersion);
    }
    signal?.throwIfAborted();
    return { config: complete, versions: loaded };
  } catch (err) {
    const closing = Promise.allSettled(started.map((i) => i.close()));
    if (!signal?.aborted) {
      await closing;
      throw err;
    }
    // Cancelled: the caller (an unload, a timeout) does not wait for the threads to exit;
    // one inside a native call (an execution, a session's creation) ends when it returns.
    const threads = started.length + abortedCreations.length;
    void Promise.allSettled([closing, ...abortedCreations]).then(() =>
      options.logger.info(`model '${modelName}': the load's ${threads} model thread(s) ended`),
    );
    throw signal.reason;
  } finally {
    signal?.removeEventListener('abort', terminateStarted);
  }
}

/** Whether a directory exists (used to tell "no such model" from "failed to load"). */
export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
