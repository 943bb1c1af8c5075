/**
 * Triton's model warmup: the config's `model_warmup` samples become requests that run on
 * every instance before the model reports READY. Each sample is `batch_size` requests of
 * one row each, run together as one batch of `batch_size` rows, `count` times (0 = once).
 * Input contents are zeros (`zero_data`), random values (`random_data`; empty strings for
 * BYTES, as Triton), or a file under the model directory's `warmup/` folder
 * (`input_data_file`: raw little-endian bytes, of which the first row's worth is used; for
 * BYTES the whole file, as 4-byte-length-prefixed elements).
 *
 * Preparing the data (files, sizes, dims) happens here, once per load; running it is
 * ModelVersion.warmUp. Every problem names the model and the sample.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../../errors';
import { fsErrorText } from '../repository/fs-error-text';
import { DataType, dataTypeFromConfigType, dataTypeInfo, elementCount } from '../../tensor/datatypes';
import { float32ToBFloat16Bits, float32ToFloat16Bits } from '../../tensor/half-float';
import { tensorDataFromRaw } from '../../tensor/raw-tensor-data';
import type { ModelConfig, ModelWarmup, ModelWarmupInput } from '../config/model-config';
import type { InferenceRequest, Tensor } from './inference-types';
import { validateRequest } from './request-validation';

/** Triton's folder for input_data_file, relative to the model directory. */
export const WARMUP_DATA_FOLDER = 'warmup';

export interface WarmupSample {
  /** The sample's name from the config (used in logs and errors). */
  name: string;
  /** Executions per instance: Triton's `count`, where 0 means once. */
  executions: number;
  /** Rows in each execution. */
  batchSize: number;
  /**
   * A fresh request each call: running a request moves its buffers to the instance's
   * thread, so one request object cannot be run twice.
   */
  makeRequest(): InferenceRequest;
}

/** One row of one input: raw bytes for fixed-size types, elements for BYTES. */
type Row = { kind: 'raw'; bytes: Uint8Array } | { kind: 'bytes'; elements: Uint8Array[] };

interface PreparedInput {
  name: string;
  datatype: DataType;
  dims: number[];
  row: Row;
}

export function describeSample(sample: { name: string }): string {
  return `warmup sample '${sample.name}'`;
}

/** Reads and checks every warmup sample of a model; throws ModelLoadError naming the sample. */
export async function prepareWarmupSamples(modelName: string, modelDir: string, config: ModelConfig): Promise<WarmupSample[]> {
  const samples: WarmupSample[] = [];
  for (const setting of config.model_warmup) {
    // Triton skips batch-0 samples; the config schema already rejects them, so this is belt and braces.
    if (setting.batch_size === 0) continue;
    const fail = (detail: string, cause?: unknown): never => {
      throw new ModelLoadError(`model '${modelName}': ${describeSample(setting)}: ${detail}`, { cause });
    };
    const inputs: PreparedInput[] = [];
    for (const [name, input] of Object.entries(setting.inputs)) {
      inputs.push(await prepareInput(name, input, modelDir, fail));
    }
    const sample = makeSample(setting, inputs, config.max_batch_size > 0);
    try {
      // The same checks a client's request gets: names, datatypes, shapes, batch size.
      validateRequest(modelName, config, sample.makeRequest());
    } catch (err) {
      fail((err as Error).message, err);
    }
    samples.push(sample);
  }
  return samples;
}

async function prepareInput(
  name: string,
  input: ModelWarmupInput,
  modelDir: string,
  fail: (detail: string, cause?: unknown) => never,
): Promise<PreparedInput> {
  const datatype = dataTypeFromConfigType(input.data_type) as DataType;
  if (input.dims.some((d) => d < 0)) {
    fail(`warmup setting expects all variable-size dimensions are specified for input '${name}'`);
  }
  const count = elementCount(input.dims);
  let row: Row;
  if (input.input_data_file !== undefined) {
    row = await rowFromFile(name, datatype, count, input.input_data_file, modelDir, fail);
  } else if (datatype === 'BYTES') {
    // Triton feeds BYTES inputs from its zero buffer for both zero_data and random_data: empty strings.
    row = { kind: 'bytes', elements: Array.from({ length: count }, () => new Uint8Array(0)) };
  } else {
    row = { kind: 'raw', bytes: input.random_data ? randomRow(datatype, count) : new Uint8Array(count * dataTypeInfo(datatype).byteSize) };
  }
  return { name, datatype, dims: [...input.dims], row };
}

async function rowFromFile(
  name: string,
  datatype: DataType,
  count: number,
  file: string,
  modelDir: string,
  fail: (detail: string, cause?: unknown) => never,
): Promise<Row> {
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
    try {
      return { kind: 'bytes', elements: tensorDataFromRaw('BYTES', count, data, `input_data_file '${file}'`) as Uint8Array[] };
    } catch (err) {
      return fail((err as Error).message, err);
    }
  }
  const needed = count * dataTypeInfo(datatype).byteSize;
  if (data.length < needed) {
    fail(`warmup setting expects ${needed} bytes, but the data provided from ${file} only has ${data.length} bytes`);
  }
  return { kind: 'raw', bytes: new Uint8Array(data.subarray(0, needed)) };
}

/** Random contents that are valid values of the type (no NaN bit patterns for floats). */
function randomRow(datatype: DataType, count: number): Uint8Array {
  const info = dataTypeInfo(datatype);
  const out = new Uint8Array(count * info.byteSize);
  if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) out[i] = Math.random() < 0.5 ? 0 : 1;
  } else if (datatype === 'FP32' || datatype === 'FP64') {
    const values = datatype === 'FP32' ? new Float32Array(out.buffer) : new Float64Array(out.buffer);
    for (let i = 0; i < count; i++) values[i] = Math.random() * 2 - 1;
  } else if (datatype === 'FP16' || datatype === 'BF16') {
    const bits = new Uint16Array(out.buffer);
    const encode = datatype === 'FP16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
    for (let i = 0; i < count; i++) bits[i] = encode(Math.random() * 2 - 1);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(Math.random() * 256);
  }
  return out;
}

function makeSample(setting: ModelWarmup, inputs: PreparedInput[], batching: boolean): WarmupSample {
  const rows = setting.batch_size;
  return {
    name: setting.name,
    executions: Math.max(1, setting.count),
    batchSize: rows,
    makeRequest: () => ({
      id: `warmup:${setting.name}`,
      inputs: inputs.map((input): Tensor => {
        const shape = batching ? [rows, ...input.dims] : [...input.dims];
        if (input.row.kind === 'bytes') {
          const elements = input.row.elements;
          return { name: input.name, datatype: input.datatype, shape, data: Array.from({ length: rows }, () => elements).flat() };
        }
        const bytes = input.row.bytes;
        const whole = new Uint8Array(bytes.length * rows);
        for (let r = 0; r < rows; r++) whole.set(bytes, r * bytes.length);
        const ctor = dataTypeInfo(input.datatype).arrayType!;
        return { name: input.name, datatype: input.datatype, shape, data: new ctor(whole.buffer) };
      }),
    }),
  };
}
