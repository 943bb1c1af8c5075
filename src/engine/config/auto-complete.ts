/**
 * Completing a model config from the model itself, as Triton's onnxruntime backend does:
 *  - platform/backend become onnxruntime_onnx/onnxruntime;
 *  - when the config lists no inputs (or no outputs), they are taken from the session's
 *    metadata, and batching is decided: the model can batch when every input and output has
 *    a variable first dim. If max_batch_size is unspecified it becomes `defaultMaxBatchSize`
 *    for such a model (0 otherwise), an empty `dynamic_batching {}` is added when the result
 *    is > 1, and the listed dims leave the batch dim out. An explicit max_batch_size (0
 *    included) is kept; a non-zero one on a model that cannot batch is an error;
 *  - when the config lists both inputs and outputs, Triton skips auto-complete, so an
 *    unspecified max_batch_size means 0;
 *  - whatever the config lists is checked against the model: names, data types, dims.
 * `requireCompleteConfig` is the --disable-auto-complete-config path. Both paths fill what
 * Triton's server side fills whether or not auto-complete is on (AutoCompleteBackendFields and
 * NormalizeModelConfig and NormalizeInstanceGroup in core's model_config_utils.cc):
 * `default_model_filename` "model.onnx" when unset, input and output pinned memory enabled
 * when unset, and the instance groups the loader starts (instance-groups.ts).
 */

import { normalizeSequenceBatching, serverFilledInputs, serverKeptOutputs } from './sequence-config';
import { ModelConfigError } from '../../errors';
import { configTypeFromDataType, dataTypeFromOnnxType } from '../../tensor/datatypes';
import { completeInstanceGroups } from './instance-groups';
import {
  DEFAULT_MODEL_FILENAME,
  type ModelConfig,
  type ModelInput,
  type ModelInstanceGroup,
  type ModelOutput,
  type ParsedModelConfig,
  validateModelConfig,
} from './model-config';

/** One model input or output as onnxruntime-node's session metadata describes it. */
export interface IoMetadata {
  name: string;
  /** onnxruntime type name, e.g. float32. */
  type: string;
  /** Fixed dims as numbers; dynamic dims as -1 (or any negative) or a symbolic name. */
  shape: Array<number | string>;
}

export interface OnnxSessionMetadata {
  inputs: IoMetadata[];
  outputs: IoMetadata[];
}

export interface AutoCompleteOptions {
  modelName: string;
  /** max_batch_size for a model that can batch and whose config does not say (Triton: 4). */
  defaultMaxBatchSize?: number;
  /**
   * The instance groups the loader runs (completeInstanceGroups with the engine's GPUs);
   * without it, completeInstanceGroups for a CPU-only engine.
   */
  instanceGroups?: ModelInstanceGroup[];
}

export const ONNX_PLATFORM = 'onnxruntime_onnx';
export const ONNX_BACKEND = 'onnxruntime';

/** A model tensor with its config data type and dims (-1 for every dynamic dim). */
interface ModelTensor {
  name: string;
  dataType: string;
  shape: number[];
}

type Draft = Omit<ParsedModelConfig, 'dynamic_batching' | 'input' | 'output'> & {
  dynamic_batching?: ParsedModelConfig['dynamic_batching'] | Record<string, never>;
  input: Array<ModelInput | Pick<ModelInput, 'name' | 'data_type' | 'dims' | 'reshape'>>;
  output: Array<ModelOutput | Pick<ModelOutput, 'name' | 'data_type' | 'dims' | 'reshape'>>;
};

export function autoCompleteConfig(
  partial: ParsedModelConfig | undefined,
  modelMeta: OnnxSessionMetadata,
  { modelName, defaultMaxBatchSize = 4, instanceGroups }: AutoCompleteOptions,
): ModelConfig {
  const config: Draft = structuredClone(partial ?? validateModelConfig({}, modelName));
  if (config.platform === 'ensemble' || config.ensemble_scheduling !== undefined) {
    throw new ModelConfigError(`model '${modelName}': an ensemble cannot be auto-completed from a model file`);
  }
  completeBackendFields(config);
  if (config.platform !== ONNX_PLATFORM || config.backend !== ONNX_BACKEND) {
    throw new ModelConfigError(
      `model '${modelName}': auto-complete supports only platform '${ONNX_PLATFORM}' (backend '${ONNX_BACKEND}'), ` +
        `but the config names platform '${config.platform}', backend '${config.backend}'`,
    );
  }
  const inputs = modelMeta.inputs.map((t) => modelTensor(t, modelName));
  const outputs = modelMeta.outputs.map((t) => modelTensor(t, modelName));
  // Control and state tensors are the server's to fill and keep: never listed as input/output.
  const filled = serverFilledInputs(config.sequence_batching);
  const kept = serverKeptOutputs(config.sequence_batching);
  const requestInputs = inputs.filter((t) => !filled.includes(t.name));
  const responseOutputs = outputs.filter((t) => !kept.includes(t.name));

  let mbs = config.max_batch_size;
  if (config.input.length === 0 || config.output.length === 0) {
    const canBatch = [...inputs, ...outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
    if (mbs === undefined) {
      mbs = canBatch ? defaultMaxBatchSize : 0;
    } else if (mbs > 0 && !canBatch) {
      const fixed = [...inputs, ...outputs].find((t) => t.shape.length === 0 || t.shape[0] !== -1) as ModelTensor;
      throw new ModelConfigError(
        `model '${modelName}': max_batch_size is ${mbs}, but the model cannot batch: ` +
          `tensor '${fixed.name}' has shape [${fixed.shape}], whose first dim is not variable`,
      );
    }
    if (canBatch && mbs > 1 && config.dynamic_batching === undefined && config.sequence_batching === undefined) {
      config.dynamic_batching = {};
    }
    const batching = mbs > 0;
    if (config.input.length === 0) config.input = requestInputs.map((t) => tensorConfig(t, batching));
    if (config.output.length === 0) config.output = responseOutputs.map((t) => tensorConfig(t, batching));
  }
  config.max_batch_size = mbs ?? 0;
  return finish(config, modelName, { inputs, outputs }, instanceGroups);
}

/**
 * For --disable-auto-complete-config: the config must list inputs and outputs itself;
 * max_batch_size defaults to 0. Given the model's metadata, the listed tensors are still
 * checked against it (Triton's backend validates them when it loads the model).
 */
export function requireCompleteConfig(config: ParsedModelConfig | undefined, modelName: string): ModelConfig;
export function requireCompleteConfig(
  config: ParsedModelConfig | undefined,
  modelMeta: OnnxSessionMetadata | undefined,
  modelName: string,
  options?: Pick<AutoCompleteOptions, 'instanceGroups'>,
): ModelConfig;
export function requireCompleteConfig(
  config: ParsedModelConfig | undefined,
  metaOrName: OnnxSessionMetadata | string | undefined,
  maybeName?: string,
  options?: Pick<AutoCompleteOptions, 'instanceGroups'>,
): ModelConfig {
  const modelName = typeof metaOrName === 'string' ? metaOrName : (maybeName as string);
  const modelMeta = typeof metaOrName === 'string' ? undefined : metaOrName;
  const disabled = 'and auto-complete is disabled (--disable-auto-complete-config)';
  if (config === undefined) throw new ModelConfigError(`model '${modelName}': has no config.pbtxt ${disabled}`);
  if (config.input.length === 0) throw new ModelConfigError(`model '${modelName}': config lists no inputs ${disabled}`);
  if (config.output.length === 0) throw new ModelConfigError(`model '${modelName}': config lists no outputs ${disabled}`);
  const draft: Draft = structuredClone(config);
  completeBackendFields(draft);
  draft.max_batch_size = draft.max_batch_size ?? 0;
  const model = modelMeta && {
    inputs: modelMeta.inputs.map((t) => modelTensor(t, modelName)),
    outputs: modelMeta.outputs.map((t) => modelTensor(t, modelName)),
  };
  return finish(draft, modelName, model, options?.instanceGroups);
}

/** Fills the other half of an onnxruntime platform/backend pair; both when neither is set. */
function completeBackendFields(config: Draft): void {
  if (config.platform === 'ensemble') return;
  if (config.platform === '' && config.backend === '') {
    config.platform = ONNX_PLATFORM;
    config.backend = ONNX_BACKEND;
  } else if (config.platform === '' && config.backend === ONNX_BACKEND) {
    config.platform = ONNX_PLATFORM;
  } else if (config.backend === '' && config.platform === ONNX_PLATFORM) {
    config.backend = ONNX_BACKEND;
  }
}

function finish(
  config: Draft,
  modelName: string,
  model: { inputs: ModelTensor[]; outputs: ModelTensor[] } | undefined,
  instanceGroups: ModelInstanceGroup[] | undefined,
): ModelConfig {
  if (config.default_model_filename === '') config.default_model_filename = DEFAULT_MODEL_FILENAME;
  // NormalizeModelConfig sets both for every model that is not an ensemble; scoreline ignores
  // them (config-field-support.ts) but shows them as Triton does.
  const optimization = (config.optimization ??= {} as NonNullable<Draft['optimization']>);
  optimization.input_pinned_memory ??= { enable: true };
  optimization.output_pinned_memory ??= { enable: true };
  config.instance_group = instanceGroups ? structuredClone(instanceGroups) : completeInstanceGroups(config, modelName);
  if (config.sequence_batching) normalizeSequenceBatching(config.sequence_batching, config.max_batch_size ?? 0);
  // Validate again: defaults for what was added, and the rules that need max_batch_size.
  const complete = validateModelConfig(config, modelName) as ModelConfig;
  if (model) checkAgainstModel(complete, model.inputs, model.outputs, modelName);
  return complete;
}

function modelTensor(meta: IoMetadata, modelName: string): ModelTensor {
  const dataType = dataTypeFromOnnxType(meta.type);
  if (dataType === undefined) {
    throw new ModelConfigError(
      `model '${modelName}': tensor '${meta.name}' has onnxruntime type '${meta.type}', which no model config data type matches`,
    );
  }
  const shape = meta.shape.map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : -1));
  return { name: meta.name, dataType: configTypeFromDataType(dataType), shape };
}

function tensorConfig(t: ModelTensor, batching: boolean): Pick<ModelInput, 'name' | 'data_type' | 'dims' | 'reshape'> {
  const dims = batching ? t.shape.slice(1) : t.shape;
  // A config cannot list zero dims: a scalar is dims [1], reshaped to [] when batching.
  if (dims.length === 0) {
    return { name: t.name, data_type: t.dataType as ModelInput['data_type'], dims: [1], ...(batching ? { reshape: { shape: [] } } : {}) };
  }
  return { name: t.name, data_type: t.dataType as ModelInput['data_type'], dims };
}

function checkAgainstModel(config: ModelConfig, inputs: ModelTensor[], outputs: ModelTensor[], modelName: string): void {
  const check = (kind: 'input' | 'output', listed: Array<ModelInput | ModelOutput>, model: ModelTensor[]) => {
    for (const tensor of listed) {
      const actual = model.find((t) => t.name === tensor.name);
      if (actual === undefined) {
        throw new ModelConfigError(
          `model '${modelName}': config lists ${kind} '${tensor.name}', which the model does not have ` +
            `(model ${kind}s: ${model.map((t) => t.name).join(', ') || 'none'})`,
        );
      }
      const where = `model '${modelName}', ${kind} '${tensor.name}'`;
      if (tensor.data_type !== actual.dataType) {
        throw new ModelConfigError(`${where}: config data_type ${tensor.data_type} does not match the model's ${actual.dataType}`);
      }
      checkShape(where, tensor, actual.shape, config.max_batch_size);
    }
  };
  check('input', config.input, inputs);
  check('output', config.output, outputs);
  const filled = serverFilledInputs(config.sequence_batching);
  for (const name of [...filled, ...serverKeptOutputs(config.sequence_batching)]) {
    const kind = filled.includes(name) ? 'input' : 'output';
    if (!(kind === 'input' ? inputs : outputs).some((t) => t.name === name)) {
      throw new ModelConfigError(
        `model '${modelName}': sequence_batching names ${kind} '${name}', which the model does not have ` +
          `(model ${kind}s: ${(kind === 'input' ? inputs : outputs).map((t) => t.name).join(', ') || 'none'})`,
      );
    }
  }
  const unlisted = inputs.find((t) => !config.input.some((i) => i.name === t.name) && !filled.includes(t.name));
  if (unlisted) throw new ModelConfigError(`model '${modelName}': config does not list model input '${unlisted.name}'`);
}

/**
 * A config dim of -1 matches any model dim, a fixed config dim matches the same fixed dim or
 * a variable model dim. With max_batch_size > 0 the model's first dim must be variable and
 * is not part of the config's dims. reshape, when given, is what the model sees.
 */
function checkShape(where: string, tensor: ModelInput | ModelOutput, model: number[], mbs: number): void {
  const expected = tensor.reshape ? tensor.reshape.shape : tensor.dims;
  const listed = tensor.reshape ? `reshape [${expected}]` : `dims [${expected}]`;
  let shape = model;
  if (mbs > 0) {
    if (model.length === 0 || model[0] !== -1) {
      throw new ModelConfigError(
        `${where}: max_batch_size > 0 needs the model's first dim to be variable (the batch dim), but the model's shape is [${model}]`,
      );
    }
    shape = model.slice(1);
  }
  // Auto-complete writes a scalar of a non-batching model as dims [1].
  if (shape.length === 0 && !tensor.reshape && expected.length === 1 && expected[0] === 1) return;
  const batchNote = mbs > 0 ? ' after the batch dim' : '';
  if (expected.length !== shape.length) {
    throw new ModelConfigError(
      `${where}: the model has ${dims(shape.length)}${batchNote} (model shape [${model}]), but the config's ${listed} has ${expected.length}`,
    );
  }
  expected.forEach((d, i) => {
    if (d !== -1 && shape[i] !== -1 && d !== shape[i]) {
      const note = mbs > 0 ? ', whose first dim is the batch dim' : '';
      throw new ModelConfigError(`${where}: config ${listed} does not match the model's shape [${model}]${note}`);
    }
  });
}

const dims = (n: number) => `${n} dim${n === 1 ? '' : 's'}`;
