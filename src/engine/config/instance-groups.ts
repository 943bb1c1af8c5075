/**
 * Triton's instance_group normalization (core src/model_config_utils.cc NormalizeInstanceGroup
 * and SetDefaultInstanceCount), the one place that decides how many instances of a model run
 * and where: the model loader starts exactly these groups, and GET /v2/models/M/config shows
 * them. Triton runs it whether or not auto-complete is enabled.
 *
 *  - No instance_group: one group named after the model, KIND_AUTO, count unset (the
 *    onnxruntime backend names no preferred group, so Triton adds nothing more).
 *  - Each group without a name is named "<model>_<index>".
 *  - KIND_AUTO becomes KIND_GPU when GPUs are available and every listed GPU is one of
 *    them, else KIND_CPU.
 *  - A count < 1 (unset) becomes 1. Triton gives KIND_CPU groups of onnxruntime (and
 *    tensorflow) models 2; scoreline departs from that on purpose (DEFAULT_CPU_INSTANCE_COUNT).
 *  - KIND_GPU without gpus gets every available GPU.
 * Ensembles have no instance groups and are left alone.
 */

import type { ModelInstanceGroup, ParsedModelConfig } from './model-config-schema';

/** The GPUs instances can use; an empty list means a CPU-only engine. */
export interface GpuAvailability {
  deviceIds: number[];
}

export const CPU_ONLY: GpuAvailability = { deviceIds: [] };

/**
 * CPU instances of an onnxruntime model whose group does not say. Triton's
 * SetDefaultInstanceCount gives 2; scoreline gives 1, because two default instances measured
 * worse on the project's 2-core machine, in req/s and p99 alike: every session's onnxruntime
 * already uses all cores for one run (intra-op threads default to the core count), so a
 * second instance only makes the two contend (bench/README.md, "Measurements behind design
 * choices").
 */
export const DEFAULT_CPU_INSTANCE_COUNT = 1;

const DEFAULT_BACKENDS_WITH_CPU_COUNT = new Set(['onnxruntime', 'tensorflow']);

function defaultGroup(name: string): ModelInstanceGroup {
  return { name, kind: 'KIND_AUTO', count: 0, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' };
}

export function completeInstanceGroups(
  config: Pick<ParsedModelConfig, 'name' | 'backend' | 'instance_group' | 'ensemble_scheduling'>,
  modelName: string,
  gpu: GpuAvailability = CPU_ONLY,
): ModelInstanceGroup[] {
  if (config.ensemble_scheduling !== undefined) return structuredClone(config.instance_group);
  const name = config.name || modelName;
  const groups = config.instance_group.length > 0 ? structuredClone(config.instance_group) : [defaultGroup(name)];
  const supported = new Set(gpu.deviceIds);
  groups.forEach((group, index) => {
    if (group.name === '') group.name = `${name}_${index}`;
    if (group.kind === 'KIND_AUTO') {
      group.kind = supported.size > 0 && group.gpus.every((id) => supported.has(id)) ? 'KIND_GPU' : 'KIND_CPU';
    }
    if (group.count < 1) {
      group.count = group.kind === 'KIND_CPU' && DEFAULT_BACKENDS_WITH_CPU_COUNT.has(config.backend) ? DEFAULT_CPU_INSTANCE_COUNT : 1;
    }
    if (group.kind === 'KIND_GPU' && group.gpus.length === 0) group.gpus = [...gpu.deviceIds];
  });
  return groups;
}
