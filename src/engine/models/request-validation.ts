/**
 * Checks a decoded request against the model's config, the way Triton does before a
 * request reaches the scheduler: every required input present and no unknown one, the
 * right datatype, a shape that matches the config dims (plus the batch dim when the model
 * batches), and a batch that fits max_batch_size. Message texts follow Triton's, since
 * clients and people grep for them. One check is scoreline's own: BYTES elements that an
 * onnxruntime string tensor would alter (not UTF-8, or holding NUL) are refused here, before
 * the request is queued, instead of reaching the model changed (string-tensor-text.ts).
 */
import { InvalidArgumentError } from '../../errors';
import { DataType, dataTypeFromConfigType } from '../../tensor/datatypes';
import { firstUnfitElement, unfitElementMessage } from '../../tensor/string-tensor-text';
import type { ModelConfig } from '../config/model-config';
import type { InferenceRequest, Tensor } from './inference-types';

export interface ValidatedRequest {
  /** Inputs in the config's order (optional inputs that were not sent are left out). */
  inputs: Tensor[];
  /** Rows this request adds to a batch; 1 for a model that does not batch. */
  batchSize: number;
  /** Equal for requests that may share a batch: their non-batch dims agree. */
  shapeKey: string;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function dimsMatch(expected: readonly number[], actual: readonly number[]): boolean {
  if (expected.length !== actual.length) return false;
  return expected.every((d, i) => d === -1 || d === actual[i]);
}

export function validateRequest(modelName: string, config: ModelConfig, request: InferenceRequest): ValidatedRequest {
  const byName = new Map<string, Tensor>();
  for (const t of request.inputs) {
    if (byName.has(t.name)) {
      throw new InvalidArgumentError(`input '${t.name}' appears more than once in the request for model '${modelName}'`);
    }
    byName.set(t.name, t);
  }
  for (const name of byName.keys()) {
    if (!config.input.some((i) => i.name === name)) {
      throw new InvalidArgumentError(`unexpected inference input '${name}' for model '${modelName}'`);
    }
  }
  const missing = config.input.filter((i) => !i.optional && !byName.has(i.name)).map((i) => i.name);
  if (missing.length > 0) {
    const required = config.input.filter((i) => !i.optional).length;
    throw new InvalidArgumentError(
      `expected ${required} inputs but got ${byName.size} inputs for model '${modelName}'. ` +
        `Got input(s) [${[...byName.keys()].map((n) => `'${n}'`).join(', ')}], ` +
        `but missing required input(s) [${missing.map((n) => `'${n}'`).join(', ')}]. Please provide all required input(s).`,
    );
  }

  const batching = config.max_batch_size > 0;
  let batchSize = batching ? -1 : 1;
  const inputs: Tensor[] = [];
  const keyParts: string[] = [];
  for (const spec of config.input) {
    const t = byName.get(spec.name);
    if (!t) continue;
    const expectedType = dataTypeFromConfigType(spec.data_type) as DataType;
    if (t.datatype !== expectedType) {
      throw new InvalidArgumentError(
        `inference input '${t.name}' data-type is '${t.datatype}', but model '${modelName}' expects '${expectedType}'`,
      );
    }
    const expectedShape = batching ? [-1, ...spec.dims] : spec.dims;
    if (!dimsMatch(expectedShape, t.shape)) {
      throw new InvalidArgumentError(
        `unexpected shape for input '${t.name}' for model '${modelName}'. Expected ${formatShape(expectedShape)}, got ${formatShape(t.shape)}`,
      );
    }
    // Every BYTES input ends in an onnxruntime string tensor: a model's own inputs directly,
    // an ensemble's through the steps that read it (each one is read by a step, and steps
    // are onnxruntime models or ensembles), so an ensemble refuses at its door too.
    if (t.datatype === 'BYTES') {
      const unfit = firstUnfitElement(t.data as Uint8Array[]);
      if (unfit) throw new InvalidArgumentError(unfitElementMessage(`input '${t.name}' for model '${modelName}'`, unfit));
    }
    if (batching) {
      const rows = t.shape[0]!;
      if (batchSize === -1) batchSize = rows;
      else if (rows !== batchSize) {
        throw new InvalidArgumentError(
          `input '${t.name}' has batch size ${rows} but other inputs have ${batchSize} for model '${modelName}'`,
        );
      }
    }
    inputs.push(t);
    keyParts.push(`${t.name}:${(batching ? t.shape.slice(1) : t.shape).join('x')}`);
  }
  if (batching) {
    if (batchSize < 1) {
      throw new InvalidArgumentError(`inference request batch-size must be >= 1 for '${modelName}'`);
    }
    if (batchSize > config.max_batch_size) {
      throw new InvalidArgumentError(
        `inference request batch-size must be <= ${config.max_batch_size} for '${modelName}'`,
      );
    }
  }
  checkRequestedOutputs(modelName, config, request);
  return { inputs, batchSize, shapeKey: keyParts.join(';') };
}

/**
 * Requested outputs: each one the model has, each at most once (Triton refuses a repeat the
 * same way: "output 'X' already exists in request"). One body can name an output millions
 * of times, and everything done per requested output (selecting, classifying, encoding)
 * would be done that many times; this loop stops at the first repeat or unknown name, so
 * it runs at most as many times as the model has outputs, plus one.
 */
function checkRequestedOutputs(modelName: string, config: ModelConfig, request: InferenceRequest): void {
  const seen = new Set<string>();
  for (const o of request.outputs ?? []) {
    if (seen.has(o.name)) throw new InvalidArgumentError(`output '${o.name}' already exists in request for model '${modelName}'`);
    seen.add(o.name);
    if (!config.output.some((c) => c.name === o.name)) {
      throw new InvalidArgumentError(`unexpected inference output '${o.name}' for model '${modelName}'`);
    }
  }
}
