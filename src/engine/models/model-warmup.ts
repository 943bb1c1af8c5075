/**
 * Triton's model warmup: the config's `model_warmup` samples become requests that run on
 * every instance before the model reports READY. Each sample is `batch_size` requests of
 * one row each, run together as one batch of `batch_size` rows, `count` times (0 = once).
 * Input contents are zeros (`zero_data`), random values (`random_data`; empty strings for
 * BYTES, as Triton), or a file under the model directory's `warmup/` folder
 * (`input_data_file`: raw little-endian bytes, of which the first row's worth is used; for
 * BYTES the whole file, as 4-byte-length-prefixed elements).
 *
 * Preparing a sample (files, sizes, dims, the checks a request gets) happens here, once per
 * load, without building its tensors: the instance's thread builds and runs them
 * (ModelVersion.warmUp, backend/warmup-data.ts), so a large zero_data or random_data
 * sample never allocates on the engine's I/O thread. Every problem names the model and
 * the sample.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../../errors';
import { fsErrorText } from '../repository/fs-error-text';
import { DataType, dataTypeFromConfigType, dataTypeInfo, elementCount } from '../../tensor/datatypes';
import { tensorDataFromRaw } from '../../tensor/raw-tensor-data';
import { firstUnfitElement, unfitElementMessage } from '../../tensor/string-tensor-text';
import type { WarmupFill } from '../backend/warmup-data';
import type { ModelConfig, ModelWarmupInput } from '../config/model-config';
import type { InferenceRequest } from './inference-types';
import { validateRequest } from './request-validation';

/** Triton's folder for input_data_file, relative to the model directory. */
export const WARMUP_DATA_FOLDER = 'warmup';

export interface WarmupInput {
  name: string;
  datatype: DataType;
  /** The request shape: `batch_size` rows first when the model batches. */
  shape: number[];
  /** One row's contents (or how to make them), repeated for every row. */
  fill: WarmupFill;
}

export interface WarmupSample {
  /** The sample's name from the config (used in logs and errors). */
  name: string;
  /** Executions per instance: Triton's `count`, where 0 means once. */
  executions: number;
  /** Rows in each execution. */
  batchSize: number;
  inputs: WarmupInput[];
}

export function describeSample(sample: { name: string }): string {
  return `warmup sample '${sample.name}'`;
}

/** Reads and checks every warmup sample of a model; throws ModelLoadError naming the sample. */
export async function prepareWarmupSamples(modelName: string, modelDir: string, config: ModelConfig): Promise<WarmupSample[]> {
  const samples: WarmupSample[] = [];
  const batching = config.max_batch_size > 0;
  for (const setting of config.model_warmup) {
    // Triton skips batch-0 samples; the config schema already rejects them, so this is belt and braces.
    if (setting.batch_size === 0) continue;
    const fail = (detail: string, cause?: unknown): never => {
      throw new ModelLoadError(`model '${modelName}': ${describeSample(setting)}: ${detail}`, { cause });
    };
    const inputs: WarmupInput[] = [];
    for (const [name, input] of Object.entries(setting.inputs)) {
      const fill = await prepareInput(name, input, modelDir, fail);
      const shape = batching ? [setting.batch_size, ...input.dims] : [...input.dims];
      inputs.push({ name, datatype: dataTypeFromConfigType(input.data_type) as DataType, shape, fill });
    }
    const sample: WarmupSample = { name: setting.name, executions: Math.max(1, setting.count), batchSize: setting.batch_size, inputs };
    try {
      // The same checks a client's request gets: names, datatypes, shapes, batch size.
      validateRequest(modelName, config, shapeOnlyRequest(sample));
    } catch (err) {
      fail((err as Error).message, err);
    }
    samples.push(sample);
  }
  return samples;
}

/** The request a sample stands for, without contents: validation looks at names, types and shapes only. */
function shapeOnlyRequest(sample: WarmupSample): InferenceRequest {
  return {
    id: `warmup:${sample.name}`,
    inputs: sample.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, data: [] })),
  };
}

async function prepareInput(
  name: string,
  input: ModelWarmupInput,
  modelDir: string,
  fail: (detail: string, cause?: unknown) => never,
): Promise<WarmupFill> {
  const datatype = dataTypeFromConfigType(input.data_type) as DataType;
  if (input.dims.some((d) => d < 0)) {
    fail(`warmup setting expects all variable-size dimensions are specified for input '${name}'`);
  }
  if (input.input_data_file !== undefined) {
    return rowFromFile(name, datatype, elementCount(input.dims), input.input_data_file, modelDir, fail);
  }
  return input.random_data ? { kind: 'random' } : { kind: 'zero' };
}

async function rowFromFile(
  name: string,
  datatype: DataType,
  count: number,
  file: string,
  modelDir: string,
  fail: (detail: string, cause?: unknown) => never,
): Promise<WarmupFill> {
  const folder = path.resolve(modelDir, WARMUP_DATA_FOLDER);
  const full = path.resolve(folder, file);
  const relative = path.relative(folder, full);
  // The file name comes from the config; it must not reach outside the warmup folder.
  if (relative === '' || relative.split(path.sep)[0] === '..' || path.isAbsolute(relative)) {
    fail(`input_data_file '${file}' of input '${name}' must name a file inside the model's '${WARMUP_DATA_FOLDER}' folder`);
  }
  let data: Buffer;
  try {
    data = await fs.readFile(full);
  } catch (err) {
    return fail(`unable to read input_data_file '${file}' of input '${name}': ${fsErrorText(err)}`, err);
  }
  if (datatype === 'BYTES') {
    let elements: Uint8Array[];
    try {
      elements = tensorDataFromRaw('BYTES', count, data, `input_data_file '${file}'`) as Uint8Array[];
    } catch (err) {
      return fail((err as Error).message, err);
    }
    // The model would get other bytes than the file's (see string-tensor-text.ts): say so at load.
    const unfit = firstUnfitElement(elements);
    if (unfit) fail(unfitElementMessage(`input_data_file '${file}' of input '${name}'`, unfit, 'the file must hold UTF-8 text without NUL'));
    return { kind: 'elements', elements };
  }
  const needed = count * dataTypeInfo(datatype).byteSize;
  if (data.length < needed) {
    fail(`warmup setting expects ${needed} bytes, but the data provided from ${file} only has ${data.length} bytes`);
  }
  return { kind: 'row', bytes: new Uint8Array(data.subarray(0, needed)) };
}
