/**
 * scoreline's default entry script: a generic scorer for any model the engine serves.
 *
 *   POST /score  {"model": "iris", "data": [[5.1, 3.5, 1.4, 0.2]]}
 *             →  {"probabilities": [[0.97, 0.02, 0.01]]}
 *
 * - `data` feeds a model's only input; `inputs: {name: value, ...}` feeds each input by name.
 *   Values are nested arrays; their shape is the tensor's shape. For a model that batches,
 *   one sample without the batch dimension is accepted too (and answered without it).
 * - `model` picks the model; it may be left out when SCORELINE_MODEL_NAME names one or the
 *   engine serves exactly one.
 * - `outputs: [names]` limits the outputs returned (default: all of them).
 * - `classification: N` returns each output's top N classes as {score, index, label}
 *   (the engine's classification extension; labels come from the model's label file).
 *
 * init() reads each ready model's metadata from the engine once; a model loaded later is
 * looked up on its first request. Bad requests get 400 with a message that says what to fix.
 */
import type { InitContext, RunContext } from 'scoreline';
import { InvalidArgumentError } from 'scoreline';
import {
  InferInput,
  InferRequestedOutput,
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  type DataType,
  type InferenceServerClient,
  type InferResult,
  type TensorMetadata,
} from 'scoreline/client';

interface ModelInfo {
  name: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  /** max_batch_size > 0: the first dimension of every tensor is the batch. */
  batching: boolean;
}

interface ScoreRequest {
  model?: unknown;
  data?: unknown;
  inputs?: unknown;
  outputs?: unknown;
  classification?: unknown;
}

export const MODEL_NAME_ENV = 'SCORELINE_MODEL_NAME';

let client: InferenceServerClient;
let defaultModel: string | undefined;
const models = new Map<string, Promise<ModelInfo>>();

export async function init(context: InitContext): Promise<void> {
  if (context.client === undefined) {
    throw new Error('scoring/score.ts scores with an engine: start scoreline serve with --model-repository DIR or --engine-url URL');
  }
  client = context.client;
  const ready = [...new Set((await client.getModelRepositoryIndex()).filter((entry) => entry.state === 'READY').map((entry) => entry.name))];
  await Promise.all(ready.map((name) => modelInfo(name)));
  const named = process.env[MODEL_NAME_ENV];
  if (named !== undefined && named !== '' && !ready.includes(named)) {
    throw new Error(`${MODEL_NAME_ENV}=${named}, but the engine has no ready model of that name (ready: ${ready.join(', ') || 'none'})`);
  }
  defaultModel = named || (ready.length === 1 ? ready[0] : undefined);
  context.logger.info(`scoring/score.ts: models ${ready.join(', ') || 'none'}; default model ${defaultModel ?? 'none (requests name one)'}`);
}

export async function run(body: unknown, context: RunContext): Promise<Record<string, unknown>> {
  const request = asRequest(body);
  const model = await modelInfo(modelName(request.model));
  const { tensors, singleSample } = inputTensors(model, request);
  const wanted = requestedOutputs(model, request.outputs);
  const classCount = classification(request.classification);
  const outputs = wanted.map((name) => new InferRequestedOutput(name, { classCount }));
  // What is left of the request's deadline goes to the engine as Triton's `timeout`, so its
  // queue drops the request instead of running it after the caller has been answered; the
  // cancellation (not `context.signal`, which costs an AbortController per request) lets
  // the client abandon the call when the caller disconnects, and the engine then drops it.
  const result = await client.infer(model.name, tensors, { outputs, timeout: timeoutUs(context.deadline), signal: context.cancellation });

  const answer: Record<string, unknown> = {};
  for (const name of wanted) {
    const shape = result.getOutput(name)?.shape ?? [];
    const values = classCount > 0 ? outputElements(result, name, 'BYTES').map((e) => parseClass(e as string)) : outputElements(result, name);
    const nested = reshape(values, shape);
    answer[name] = singleSample && Array.isArray(nested) ? nested[0] : nested;
  }
  return answer;
}

/** Microseconds left until `deadline` (at least 1: a deadline that passed still expires in the queue). */
function timeoutUs(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(1, (deadline - Date.now()) * 1000);
}

function modelInfo(name: string): Promise<ModelInfo> {
  let info = models.get(name);
  if (info === undefined) {
    info = Promise.all([client.getModelMetadata(name), client.getModelConfig(name)]).then(([metadata, config]) => ({
      name,
      inputs: metadata.inputs,
      outputs: metadata.outputs,
      batching: (config.max_batch_size ?? 0) > 0,
    }));
    // A failed lookup (unknown model) is not cached: the model may be loaded later.
    info.catch(() => models.delete(name));
    models.set(name, info);
  }
  return info;
}

function asRequest(body: unknown): ScoreRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidArgumentError('send a JSON object: {"data": [...]} or {"inputs": {"name": [...]}}, optionally with "model"');
  }
  return body as ScoreRequest;
}

function modelName(model: unknown): string {
  if (model === undefined) {
    if (defaultModel !== undefined) return defaultModel;
    const known = [...models.keys()].join(', ');
    throw new InvalidArgumentError(`name the model: {"model": "<name>", ...} (one of: ${known || 'none ready'}), or set ${MODEL_NAME_ENV} on the server`);
  }
  if (typeof model !== 'string' || model === '') throw new InvalidArgumentError('"model" must be a model name (a non-empty string)');
  return model;
}

function inputTensors(model: ModelInfo, request: ScoreRequest): { tensors: InferInput[]; singleSample: boolean } {
  let values: Record<string, unknown>;
  if (request.inputs !== undefined) {
    if (typeof request.inputs !== 'object' || request.inputs === null || Array.isArray(request.inputs)) {
      throw new InvalidArgumentError('"inputs" must be an object: {"<input name>": [...], ...}');
    }
    values = request.inputs as Record<string, unknown>;
  } else if (request.data !== undefined) {
    if (model.inputs.length !== 1) {
      const names = model.inputs.map((input) => input.name).join(', ');
      throw new InvalidArgumentError(`model "${model.name}" has ${model.inputs.length} inputs (${names}): send {"inputs": {"<name>": [...]}}`);
    }
    values = { [model.inputs[0]!.name]: request.data };
  } else {
    throw new InvalidArgumentError('send the input as "data" (models with one input) or "inputs": {"<name>": [...]}');
  }
  for (const name of Object.keys(values)) {
    if (!model.inputs.some((input) => input.name === name)) {
      throw new InvalidArgumentError(`model "${model.name}" has no input "${name}" (inputs: ${model.inputs.map((input) => input.name).join(', ')})`);
    }
  }
  let singleSample: boolean | undefined;
  const tensors = model.inputs.map((input) => {
    if (!(input.name in values)) throw new InvalidArgumentError(`input "${input.name}" of model "${model.name}" is missing`);
    let shape = shapeOf(values[input.name]);
    // Checked before forEachElement() recurses: nesting deeper than the input's rank is wrong anyway,
    // and a hostile 100,000-deep array must get a 400, not a stack overflow.
    if (shape.length > input.shape.length) {
      throw new InvalidArgumentError(`input "${input.name}" has ${shape.length} dimensions; model "${model.name}" takes at most ${input.shape.length}`);
    }
    const nested = shape;
    const single = model.batching && shape.length === input.shape.length - 1;
    if (single) shape = [1, ...shape];
    if (singleSample !== undefined && single !== singleSample) {
      throw new InvalidArgumentError(`model "${model.name}": send every input as one sample or every input as a batch`);
    }
    singleSample = single;
    const fits = shape.length === input.shape.length && input.shape.every((dim, i) => dim < 0 || dim === shape[i]);
    if (!fits) {
      throw new InvalidArgumentError(`input "${input.name}" of model "${model.name}" has shape [${input.shape}] (-1: any); got an array of shape [${shape}]`);
    }
    return new InferInput(input.name, shape, input.datatype as DataType).setData(tensorData(values[input.name], nested, input));
  });
  return { tensors, singleSample: singleSample ?? false };
}

function requestedOutputs(model: ModelInfo, outputs: unknown): string[] {
  const all = model.outputs.map((output) => output.name);
  if (outputs === undefined) return all;
  if (!Array.isArray(outputs) || !outputs.every((name) => typeof name === 'string' && all.includes(name))) {
    throw new InvalidArgumentError(`"outputs" must list output names of model "${model.name}" (outputs: ${all.join(', ')})`);
  }
  return outputs as string[];
}

function classification(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('"classification" must be a positive integer: the number of top classes to return');
  }
  return value;
}

/**
 * The shape a nested array claims by its first elements; forEachElement() checks the rest agree.
 *
 * Elements are read with `.at()`, here and in fill(), on purpose: an indexed read that sees both
 * arrays of arrays and arrays of numbers (JSON.parse makes those unboxed doubles) is optimized
 * by V8 into a conversion of the number array to boxed elements, 512 heap numbers per MLP
 * request, every request (--trace-elements-transitions shows it). `.at()` reads without it.
 */
function shapeOf(value: unknown): number[] {
  const shape: number[] = [];
  for (let level = value; Array.isArray(level); level = level.at(0)) shape.push(level.length);
  return shape;
}

/** The typed arrays filled straight from JSON numbers, with the range each datatype holds. */
const NUMBER_ARRAYS: Partial<Record<DataType, { make: (length: number) => NumberArray; integer: boolean; min: number; max: number }>> = {
  FP32: { make: (n) => new Float32Array(n), integer: false, min: -Infinity, max: Infinity },
  FP64: { make: (n) => new Float64Array(n), integer: false, min: -Infinity, max: Infinity },
  INT8: { make: (n) => new Int8Array(n), integer: true, min: -128, max: 127 },
  INT16: { make: (n) => new Int16Array(n), integer: true, min: -32768, max: 32767 },
  INT32: { make: (n) => new Int32Array(n), integer: true, min: -2147483648, max: 2147483647 },
  UINT8: { make: (n) => new Uint8Array(n), integer: true, min: 0, max: 255 },
  UINT16: { make: (n) => new Uint16Array(n), integer: true, min: 0, max: 65535 },
  UINT32: { make: (n) => new Uint32Array(n), integer: true, min: 0, max: 4294967295 },
};

type NumberArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/**
 * The input's data for the client: for the common numeric datatypes a typed array filled in
 * one pass over the nested arrays (checking shape and each element as it goes), else the
 * flat, checked elements that the client converts.
 */
function tensorData(value: unknown, shape: number[], input: TensorMetadata): unknown[] | NumberArray {
  const kind = NUMBER_ARRAYS[input.datatype as DataType];
  if (kind === undefined) {
    const flat: unknown[] = [];
    forEachElement(value, shape, (element) => flat.push(element), input.name);
    return elements(flat, input);
  }
  const out = kind.make(shape.reduce((product, dim) => product * dim, 1));
  const put = (element: unknown, at: number): void => {
    const fits = typeof element === 'number' && (kind.integer ? Number.isInteger(element) && element >= kind.min && element <= kind.max : Number.isFinite(element));
    if (!fits) {
      const expected = kind.integer ? `an integer in [${kind.min}, ${kind.max}]` : 'a number';
      throw new InvalidArgumentError(`input "${input.name}" is ${input.datatype}: element ${at} should be ${expected}, got ${JSON.stringify(element)}`);
    }
    out[at] = element as number;
  };
  forEachElement(value, shape, put, input.name);
  return out;
}

/**
 * Hands each element of a nested array of the given shape to `put` with its row-major index
 * (a scalar when the shape is []); throws when the array is not rectangular.
 */
function forEachElement(value: unknown, shape: number[], put: (element: unknown, at: number) => void, input: string): void {
  if (shape.length === 0) put(value, 0);
  else fill(value, shape, 0, 0, put, input);
}

function fill(value: unknown, shape: number[], depth: number, at: number, put: (element: unknown, at: number) => void, input: string): number {
  if (!Array.isArray(value) || value.length !== shape[depth]) throw new InvalidArgumentError(`input "${input}" is not a rectangular array`);
  if (depth === shape.length - 1) {
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value.at(i); // not value[i]: see shapeOf()
      if (Array.isArray(element)) throw new InvalidArgumentError(`input "${input}" is not a rectangular array`);
      put(element, at + i);
    }
    return at + value.length;
  }
  for (const item of value) at = fill(item, shape, depth + 1, at, put, input);
  return at;
}

/** Checks each element against the input's datatype; the client converts them. */
function elements(flat: unknown[], input: TensorMetadata): unknown[] {
  const expected = input.datatype === 'BYTES' ? 'string' : input.datatype === 'BOOL' ? 'boolean' : 'number';
  for (const [i, value] of flat.entries()) {
    if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
      throw new InvalidArgumentError(`input "${input.name}" is ${input.datatype}: element ${i} should be a ${expected}, got ${JSON.stringify(value)}`);
    }
  }
  return flat;
}

/** An output's elements as JSON values: numbers (64-bit integers beyond 2^53 as strings), booleans, strings. */
function outputElements(result: InferResult, name: string, datatype = result.getOutput(name)?.datatype): unknown[] {
  if (datatype === 'BYTES') return result.asTypedArray<string[]>(name, { bytesAs: 'string' });
  if (datatype === 'FP16') return Array.from(result.asTypedArray<Uint16Array>(name, { raw: true }), float16BitsToFloat32);
  if (datatype === 'BF16') return Array.from(result.asTypedArray<Uint16Array>(name, { raw: true }), bfloat16BitsToFloat32);
  const data = result.asTypedArray(name) as ArrayLike<number | bigint>;
  if (datatype === 'BOOL') return Array.from(data, (value) => value !== 0);
  return Array.from(data, (value) => (typeof value === 'bigint' ? (Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()) : value));
}

/** "score:index[:label]", the classification extension's element, as an object. */
function parseClass(element: string): { score: number; index: number; label?: string } {
  const [score, index, ...label] = element.split(':');
  const out: { score: number; index: number; label?: string } = { score: Number(score), index: Number(index) };
  if (label.length > 0) out.label = label.join(':');
  return out;
}

function reshape(flat: unknown[], shape: readonly number[], offset = 0): unknown {
  if (shape.length === 0) return flat[offset];
  const [size, ...inner] = shape as [number, ...number[]];
  const stride = inner.reduce((product, dim) => product * dim, 1);
  return Array.from({ length: size }, (_, i) => reshape(flat, inner, offset + i * stride));
}
