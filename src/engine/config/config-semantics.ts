/**
 * Rules that relate one config field to another (the schema checks each field alone).
 * A pure function from config to issues, so zod reports them with the same paths and
 * message format as its own issues. Rules that need max_batch_size are skipped while it
 * is unspecified; auto-complete and requireCompleteConfig validate again once it is set.
 */

import type { ModelInput, ModelOutput, ParsedModelConfig } from './model-config-schema';
import { sequenceIssues } from './sequence-config';

export interface ConfigIssue {
  path: Array<string | number>;
  message: string;
}

export function semanticIssues(config: ParsedModelConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: ConfigIssue['path'], message: string) => issues.push({ path, message });
  const mbs = config.max_batch_size;

  const policy = config.version_policy;
  const choices = (['latest', 'all', 'specific'] as const).filter((k) => policy[k] !== undefined);
  if (choices.length !== 1) {
    add(['version_policy'], choices.length === 0 ? 'must set one of latest, all, specific' : `sets both ${choices[0]} and ${choices[1]}; choose one`);
  }
  if (policy.specific && policy.specific.versions.length === 0) {
    add(['version_policy', 'specific', 'versions'], 'must list at least one version');
  }

  checkTensors('input', config.input, mbs, add);
  checkTensors('output', config.output, mbs, add);

  const scheduling = (['dynamic_batching', 'sequence_batching', 'ensemble_scheduling'] as const).filter(
    (k) => config[k] !== undefined,
  );
  if (scheduling.length > 1) add([scheduling[1]], `cannot be combined with ${scheduling[0]}`);

  const batching = config.dynamic_batching;
  if (batching) {
    if (mbs === 0) add(['dynamic_batching'], 'requires max_batch_size > 0');
    batching.preferred_batch_size.forEach((size, i) => {
      const path = ['dynamic_batching', 'preferred_batch_size', i];
      if (size < 1) add(path, 'must be >= 1');
      else if (mbs !== undefined && mbs > 0 && size > mbs) add(path, `must be <= max_batch_size (${mbs})`);
    });
    const levels = batching.priority_levels;
    if (levels === 0) {
      if (batching.default_priority_level !== 0) add(['dynamic_batching', 'default_priority_level'], 'requires priority_levels > 0');
      if (Object.keys(batching.priority_queue_policy).length > 0) {
        add(['dynamic_batching', 'priority_queue_policy'], 'requires priority_levels > 0');
      }
    } else {
      const level = batching.default_priority_level;
      if (level < 1 || level > levels) add(['dynamic_batching', 'default_priority_level'], `must be in range [1, ${levels}]`);
      for (const key of Object.keys(batching.priority_queue_policy)) {
        if (Number(key) < 1 || Number(key) > levels) {
          add(['dynamic_batching', 'priority_queue_policy', key], `priority level must be in range [1, ${levels}]`);
        }
      }
    }
  }

  issues.push(...sequenceIssues(config));

  const ensemble = config.ensemble_scheduling;
  if (ensemble) {
    if (config.platform !== 'ensemble') add(['platform'], "must be 'ensemble' for a model with ensemble_scheduling");
    if (config.instance_group.length > 0) add(['instance_group'], 'cannot be specified for an ensemble');
    if (ensemble.step.length === 0) add(['ensemble_scheduling', 'step'], 'must list at least one step');
    ensemble.step.forEach((step, i) => {
      const path = ['ensemble_scheduling', 'step', i];
      if (step.model_name === '') add([...path, 'model_name'], 'must be specified');
      if (Object.keys(step.input_map).length === 0) add([...path, 'input_map'], 'must map at least one input');
      if (Object.keys(step.output_map).length === 0) add([...path, 'output_map'], 'must map at least one output');
    });
  } else if (config.platform === 'ensemble') {
    add(['ensemble_scheduling'], "is required when platform is 'ensemble'");
  }

  config.instance_group.forEach((group, i) => {
    if ((group.kind === 'KIND_CPU' || group.kind === 'KIND_MODEL') && group.gpus.length > 0) {
      add(['instance_group', i, 'gpus'], `cannot be specified for ${group.kind}`);
    }
  });

  config.model_warmup.forEach((warmup, i) => {
    const path = ['model_warmup', i];
    if (warmup.batch_size < 1) add([...path, 'batch_size'], 'must be >= 1');
    else if (mbs === 0 && warmup.batch_size !== 1) add([...path, 'batch_size'], 'must be 1 for a model with max_batch_size 0');
    else if (mbs !== undefined && mbs > 0 && warmup.batch_size > mbs) add([...path, 'batch_size'], `must be <= max_batch_size (${mbs})`);
    for (const [name, input] of Object.entries(warmup.inputs)) {
      const set = [input.zero_data !== undefined, input.random_data !== undefined, input.input_data_file !== undefined];
      if (set.filter(Boolean).length !== 1) {
        add([...path, 'inputs', name], 'must set exactly one of zero_data, random_data, input_data_file');
      }
    }
  });

  return issues;
}

function checkTensors(
  field: 'input' | 'output',
  tensors: Array<ModelInput | ModelOutput>,
  mbs: number | undefined,
  add: (path: ConfigIssue['path'], message: string) => void,
): void {
  const seen = new Set<string>();
  tensors.forEach((tensor, i) => {
    const path = [field, i];
    if (seen.has(tensor.name)) add([...path, 'name'], `duplicate ${field} name '${tensor.name}'`);
    seen.add(tensor.name);
    if (tensor.dims.length === 0) add([...path, 'dims'], 'must list at least one dimension');
    // The label file is read from the model directory and its lines are sent to clients, so a
    // name that leaves the directory (through the load API's config override, say) is refused.
    if ('label_filename' in tensor && tensor.label_filename && leavesDirectory(tensor.label_filename)) {
      add([...path, 'label_filename'], `'${tensor.label_filename}' must name a file inside the model directory`);
    }
    if ('format' in tensor && tensor.format !== 'FORMAT_NONE' && tensor.dims.length !== 3) {
      add([...path, 'dims'], `${tensor.format} requires exactly 3 dims (not counting the batch dimension)`);
    }
    const reshape = tensor.reshape;
    // Invalid dims are reported by the schema already; comparing them would only add noise.
    const valid = (d: number) => d >= 1 || d === -1;
    if (reshape === undefined || tensor.dims.length === 0) return;
    if (!tensor.dims.every(valid) || !reshape.shape.every(valid)) return;
    if (reshape.shape.length === 0 && mbs === 0) {
      add([...path, 'reshape'], 'cannot be empty for a non-batching model, as scalar tensors are not supported');
    } else if (!sameElementCount(tensor.dims, reshape.shape)) {
      add([...path, 'reshape'], `shape [${reshape.shape}] does not have the same element count as dims [${tensor.dims}]`);
    }
  });
}

function leavesDirectory(file: string): boolean {
  return file.startsWith('/') || file.startsWith('\\') || /^[a-zA-Z]:/.test(file) || file.includes('\0') || file.split(/[\\/]/).includes('..');
}

/**
 * dims and reshape must describe the same number of elements. With variable dims (-1) the
 * runs of fixed dims between them must match run by run: [2,4,-1,6] → [8,-1,1,6] is fine.
 * An empty reshape (a scalar) matches dims whose element count is 1.
 */
export function sameElementCount(dims: number[], shape: number[]): boolean {
  if (shape.length === 0) return dims.every((d) => d === 1);
  const runs = (values: number[]) => {
    const out = [1];
    for (const v of values) {
      if (v === -1) out.push(1);
      else out[out.length - 1] *= v;
    }
    return out;
  };
  const a = runs(dims);
  const b = runs(shape);
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
