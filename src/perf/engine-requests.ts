/**
 * The requests `scoreline perf` sends to an engine: reads the model's metadata and config,
 * works out each input's shape from the batch size and --shape, fills the tensors from
 * --input-data and serializes complete requests (HTTP /infer bodies or gRPC ModelInfer
 * messages) once, before any load starts, so the measurement pays for none of it.
 */
import { InferInput, InferRequestedOutput, InferenceServerClient } from '../client';
import type { DataType, ModelConfig, ModelMetadata } from '../client';
import { InvalidOptionError, UnavailableError } from '../errors';
import type { EngineApi } from './engine-api';
import type { GrpcInferMessage } from './grpc-protocol';
import type { PreparedRequest } from './http-transport';
import { FileSample, generateValues, readDataFile } from './input-data';
import type { EngineTarget } from './perf-options';
import { seededRandom } from '../util/seeded-random';
import type { LoadTarget } from './transport';

export interface EngineModelInfo {
  name: string;
  maxBatchSize: number;
  inputs: Array<{ name: string; datatype: DataType; dims: number[] }>;
  outputs: string[];
}

export interface PreparedEngineLoad {
  model: EngineModelInfo;
  target: LoadTarget;
}

function modelPath(target: EngineTarget): string {
  const base = new URL(target.url).pathname.replace(/\/+$/, '');
  const version = target.modelVersion === '' ? '' : `/versions/${encodeURIComponent(target.modelVersion)}`;
  return `${base}/v2/models/${encodeURIComponent(target.model)}${version}`;
}

/** Reads what the model takes; errors name the model and the server. */
export async function describeModel(api: EngineApi, target: EngineTarget): Promise<EngineModelInfo> {
  let metadata: ModelMetadata;
  let config: ModelConfig;
  try {
    [metadata, config] = await Promise.all([api.modelMetadata(target.model, target.modelVersion), api.modelConfig(target.model, target.modelVersion)]);
  } catch (err) {
    // HTTP errors carry the server's message; gRPC errors their details.
    const message = (err as { details?: string }).details || (err as Error).message;
    throw new UnavailableError(`model '${target.model}' at ${api.where}: ${message}`, { cause: err });
  }
  const maxBatchSize = config.max_batch_size ?? 0;
  return {
    name: target.model,
    maxBatchSize,
    inputs: metadata.inputs.map((t) => ({ name: t.name, datatype: t.datatype as DataType, dims: maxBatchSize > 0 ? t.shape.slice(1).map(Number) : t.shape.map(Number) })),
    outputs: metadata.outputs.map((t) => t.name),
  };
}

/** The non-batch dims of `input`: the model's, with variable dims taken from --shape or the data file. */
function resolveDims(model: EngineModelInfo, input: EngineModelInfo['inputs'][number], given: number[] | undefined, source: string): number[] {
  if (given === undefined) {
    if (input.dims.some((d) => d < 0)) {
      throw new InvalidOptionError(
        `model '${model.name}' input '${input.name}' has variable dims [${input.dims.join(', ')}]: give them with --shape ${input.name}:${input.dims.map((d) => (d < 0 ? 'N' : d)).join(',')}`,
      );
    }
    return input.dims;
  }
  if (given.length !== input.dims.length || given.some((d, i) => input.dims[i]! >= 0 && input.dims[i] !== d)) {
    throw new InvalidOptionError(`${source} gives input '${input.name}' dims [${given.join(', ')}], but model '${model.name}' takes [${input.dims.join(', ')}] (batch dim excluded)`);
  }
  return given;
}

const elementCount = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

export interface EngineRequestOptions {
  batchSize: number;
  headers: Record<string, string>;
  seed: number;
}

export async function prepareEngineLoad(api: EngineApi, target: EngineTarget, options: EngineRequestOptions): Promise<PreparedEngineLoad> {
  const model = await describeModel(api, target);
  const { batchSize } = options;
  if (model.maxBatchSize === 0 && batchSize > 1) {
    throw new InvalidOptionError(`-b/--batch-size ${batchSize}: model '${model.name}' does not batch (max_batch_size 0); use -b 1`);
  }
  if (model.maxBatchSize > 0 && batchSize > model.maxBatchSize) {
    throw new InvalidOptionError(`-b/--batch-size ${batchSize} is over model '${model.name}''s max_batch_size ${model.maxBatchSize}`);
  }
  for (const name of Object.keys(target.shapes)) {
    if (!model.inputs.some((i) => i.name === name)) {
      throw new InvalidOptionError(`--shape names input '${name}', which model '${model.name}' does not have (inputs: ${model.inputs.map((i) => i.name).join(', ')})`);
    }
  }

  const samples: FileSample[] | undefined = typeof target.inputData === 'object' ? await readDataFile(target.inputData.file) : undefined;
  const random = seededRandom(options.seed);
  // gRPC carries every input in raw_input_contents.
  const binaryData = target.protocol === 'grpc' || target.inputTensorFormat === 'binary';
  const outputs = target.outputTensorFormat === 'json' ? model.outputs.map((name) => new InferRequestedOutput(name, { binaryData: false })) : undefined;

  const requestInputs = (samples ?? [undefined]).map((sample, index) =>
    model.inputs.map((input) => {
      let dims: number[];
      let values: unknown[];
      if (sample === undefined) {
        dims = resolveDims(model, input, target.shapes[input.name], '--shape');
        values = generateValues(input.datatype, elementCount(dims), target.inputData as 'zero' | 'random', random);
      } else {
        const tensor = sample[input.name];
        const where = `--input-data data[${index}]`;
        if (tensor === undefined) throw new InvalidOptionError(`${where} has no values for input '${input.name}' of model '${model.name}'`);
        dims = resolveDims(model, input, tensor.shape ?? target.shapes[input.name], tensor.shape ? `${where}.${input.name}.shape` : '--shape');
        if (tensor.values.length !== elementCount(dims)) {
          throw new InvalidOptionError(`${where}.${input.name} has ${tensor.values.length} values but dims [${dims.join(', ')}] need ${elementCount(dims)}`);
        }
        values = tensor.values;
      }
      const shape = model.maxBatchSize > 0 ? [batchSize, ...dims] : dims;
      // Each sample is repeated to fill the batch.
      const data = batchSize === 1 ? values : Array.from({ length: batchSize }, () => values).flat();
      try {
        return new InferInput(input.name, shape, input.datatype).setData(data as never, { binaryData });
      } catch (err) {
        throw new InvalidOptionError(`input '${input.name}' of model '${model.name}': ${(err as Error).message}`, { cause: err });
      }
    }),
  );

  if (target.protocol === 'grpc') {
    const messages = requestInputs.map((inputs): GrpcInferMessage => ({
      model_name: target.model,
      model_version: target.modelVersion,
      inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
      // None named: the server returns every output, as over HTTP.
      outputs: [],
      raw_input_contents: inputs.map((i) => i.serialize().binary!),
    }));
    return { model, target: { protocol: 'grpc', address: target.url, messages, metadata: options.headers } };
  }
  const path = `${modelPath(target)}/infer`;
  const requests = requestInputs.map((inputs): PreparedRequest => {
    const body = InferenceServerClient.generateRequestBody(inputs, { outputs });
    const headers: Record<string, string> = {
      ...options.headers,
      'content-type': body.headerLength === undefined ? 'application/json' : 'application/octet-stream',
    };
    if (body.headerLength !== undefined) headers['inference-header-content-length'] = String(body.headerLength);
    return { method: 'POST', path, headers, body: Buffer.concat(body.parts) };
  });
  return { model, target: { protocol: 'http', origin: new URL(target.url).origin, requests } };
}
