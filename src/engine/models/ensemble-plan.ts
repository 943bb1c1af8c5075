/**
 * An ensemble's dataflow, checked once at load time so that a request can never stall:
 * tensors are named edges, steps are nodes; a step runs once every tensor it reads exists.
 *
 * Two checks, both with Triton's rules and phrasing:
 * - planEnsemble (the config alone): every ensemble input is read by some step, every
 *   tensor a step reads is an ensemble input or written by an earlier-ready step, each
 *   tensor is written at most once, every ensemble output is written, and no tensor is
 *   written without being read (unless it is an ensemble output).
 * - checkComposingConfigs (once the composing models are loaded): the maps name real
 *   inputs and outputs of each composing model, every required input is fed, datatypes
 *   and shapes agree wherever a tensor meets a model, and max_batch_size fits.
 * Pure functions of configs; errors are ModelConfigError naming the ensemble.
 */
import { ModelConfigError } from '../../errors';
import type { ModelConfig } from '../config/model-config';

export interface EnsembleStepPlan {
  /** Position in ensemble_scheduling.step (messages count from 0, as Triton). */
  index: number;
  modelName: string;
  /** -1: the composing model's highest loaded version. */
  modelVersion: number;
  /** [composing model input, ensemble tensor] pairs. */
  inputs: Array<[string, string]>;
  /** [composing model output, ensemble tensor] pairs. */
  outputs: Array<[string, string]>;
}

export interface EnsemblePlan {
  steps: EnsembleStepPlan[];
  /** How many steps read each tensor (an ensemble output may also be read by none). */
  readers: ReadonlyMap<string, number>;
  /** Composing model names, each once, in step order. */
  composingModels: string[];
}

export function planEnsemble(config: ModelConfig): EnsemblePlan {
  const name = config.name;
  const fail = (message: string): never => {
    throw new ModelConfigError(message);
  };
  const scheduling = config.ensemble_scheduling;
  if (!scheduling || scheduling.step.length === 0) fail(`must specify 'step' for ensemble '${name}'`);

  const inputs = new Set(config.input.map((i) => i.name));
  const writer = new Map<string, number>();
  const readers = new Map<string, number>();
  const steps: EnsembleStepPlan[] = scheduling!.step.map((step, index) => {
    const outputs = Object.entries(step.output_map);
    for (const [, tensor] of outputs) {
      if (inputs.has(tensor)) fail(`ensemble input '${tensor}' cannot be written by ensemble '${name}' step ${index}`);
      if (writer.has(tensor)) {
        fail(`ensemble tensor '${tensor}' can appear in an output map only once for ensemble '${name}' step ${index}`);
      }
      writer.set(tensor, index);
    }
    const stepInputs = Object.entries(step.input_map);
    for (const [, tensor] of stepInputs) readers.set(tensor, (readers.get(tensor) ?? 0) + 1);
    return { index, modelName: step.model_name, modelVersion: step.model_version, inputs: stepInputs, outputs };
  });

  for (const input of config.input) {
    if (!readers.has(input.name)) fail(`ensemble input '${input.name}' for ensemble '${name}' is not used`);
  }
  for (const step of steps) {
    for (const [, tensor] of step.inputs) {
      if (!inputs.has(tensor) && !writer.has(tensor)) {
        fail(`ensemble '${name}' step ${step.index} reads ensemble tensor '${tensor}', which is neither an ensemble input nor written by any step`);
      }
    }
  }

  // Run the dataflow once with names only: whatever never becomes ready would stall a request.
  const ready = new Set(inputs);
  const pending = new Set(steps);
  for (let progressed = true; progressed; ) {
    progressed = false;
    for (const step of pending) {
      if (!step.inputs.every(([, t]) => ready.has(t))) continue;
      for (const [, t] of step.outputs) ready.add(t);
      pending.delete(step);
      progressed = true;
    }
  }
  const outputs = new Set(config.output.map((o) => o.name));
  for (const output of outputs) {
    if (!writer.has(output)) fail(`ensemble output '${output}' for ensemble '${name}' is not used`);
    if (!ready.has(output)) fail(`output '${output}' for ensemble '${name}' is not written`);
  }
  const tensors = new Set([...writer.keys(), ...readers.keys()]);
  for (const tensor of tensors) {
    if (outputs.has(tensor) || inputs.has(tensor)) continue;
    if (!ready.has(tensor) || !readers.has(tensor)) fail(`ensemble tensor '${tensor}' is unused in ensemble '${name}'`);
  }
  return { steps, readers, composingModels: [...new Set(steps.map((s) => s.modelName))] };
}

interface TensorNode {
  model: string;
  dataType: string;
  dims: number[];
  /** dims with the batch dim in front when the model batches. */
  fullDims: number[];
}

function node(model: string, batching: boolean, t: { data_type: string; dims: number[]; reshape?: { shape: number[] } }): TensorNode {
  const dims = t.reshape ? t.reshape.shape : t.dims;
  return { model, dataType: t.data_type, dims, fullDims: batching ? [-1, ...dims] : [...dims] };
}

function dimsAgree(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === -1 || b[i] === -1 || d === b[i]);
}

const shape = (dims: number[]) => `[${dims.join(',')}]`;

/**
 * Checks the ensemble against its composing models' (complete) configs. `configOf` gives
 * the config of the version a step will use.
 */
export function checkComposingConfigs(config: ModelConfig, plan: EnsemblePlan, configOf: (step: EnsembleStepPlan) => ModelConfig): void {
  const ensemble = config.name;
  const fail = (message: string): never => {
    throw new ModelConfigError(`in ensemble '${ensemble}', ${message}`);
  };
  const batching = config.max_batch_size > 0;
  const tensors = new Map<string, TensorNode>();
  for (const t of [...config.input, ...config.output]) tensors.set(t.name, node(ensemble, batching, t));

  // A batching ensemble may contain non-batching models when the expanded shapes agree.
  const meet = (tensor: string, other: TensorNode): void => {
    const known = tensors.get(tensor);
    if (!known) {
      tensors.set(tensor, other);
      return;
    }
    if (known.dataType !== other.dataType) {
      fail(
        `ensemble tensor '${tensor}': inconsistent data type: ${known.dataType} is inferred from model '${known.model}' while ${other.dataType} is inferred from model '${other.model}'`,
      );
    }
    if (!dimsAgree(known.dims, other.dims) && !dimsAgree(known.fullDims, other.fullDims)) {
      fail(
        `ensemble tensor '${tensor}': inconsistent shape: ${shape(known.fullDims)} is inferred from model '${known.model}' while ${shape(other.fullDims)} is inferred from model '${other.model}'`,
      );
    }
  };

  for (const step of plan.steps) {
    const model = configOf(step);
    const modelName = step.modelName;
    const modelBatching = model.max_batch_size > 0;
    if (model.max_batch_size !== 0 && model.max_batch_size < config.max_batch_size) {
      fail(
        `ensemble '${ensemble}' allows maximum batch size ${config.max_batch_size}, but it contains model '${modelName}' which only allows maximum batch size to be ${model.max_batch_size}`,
      );
    }
    for (const [input, tensor] of step.inputs) {
      const spec = model.input.find((i) => i.name === input);
      if (!spec) fail(`ensemble tensor '${tensor}' is mapping to non-existing input '${input}' in model '${modelName}'`);
      meet(tensor, node(modelName, modelBatching, spec!));
    }
    for (const spec of model.input) {
      if (!spec.optional && !step.inputs.some(([input]) => input === spec.name)) {
        fail(`input '${spec.name}' in model '${modelName}' is not mapped to any ensemble tensors`);
      }
    }
    for (const [output, tensor] of step.outputs) {
      const spec = model.output.find((o) => o.name === output);
      if (!spec) fail(`ensemble tensor '${tensor}' is mapped from non-existing output '${output}' in model '${modelName}'`);
      meet(tensor, node(modelName, modelBatching, spec!));
    }
  }
}
