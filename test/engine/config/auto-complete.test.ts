import { ModelConfigError } from '../../../src/errors';
import {
  type IoMetadata,
  type OnnxSessionMetadata,
  autoCompleteConfig,
  requireCompleteConfig,
} from '../../../src/engine/config/auto-complete';
import { type ModelConfig, parseModelConfig } from '../../../src/engine/config/model-config';
import { errorOf } from '../../helpers/error-of';

const io = (name: string, shape: Array<number | string>, type = 'float32'): IoMetadata => ({ name, type, shape });

/** An MLP exported with a dynamic batch axis: x [batch, 4] → y [batch, 3]. */
const DYNAMIC: OnnxSessionMetadata = { inputs: [io('x', ['batch', 4])], outputs: [io('y', [-1, 3])] };
/** The same model exported with batch 1 baked into the output. */
const FIXED_OUTPUT: OnnxSessionMetadata = { inputs: [io('x', [-1, 4])], outputs: [io('y', [1, 3])] };

const complete = (pbtxt: string | undefined, meta: OnnxSessionMetadata, defaultMaxBatchSize?: number): ModelConfig =>
  autoCompleteConfig(pbtxt === undefined ? undefined : parseModelConfig(pbtxt, 'mlp'), meta, {
    modelName: 'mlp',
    ...(defaultMaxBatchSize === undefined ? {} : { defaultMaxBatchSize }),
  });

const shapes = (config: ModelConfig) => ({
  max_batch_size: config.max_batch_size,
  input: config.input.map((t) => [t.name, t.data_type, t.dims, t.reshape?.shape]),
  output: config.output.map((t) => [t.name, t.data_type, t.dims, t.reshape?.shape]),
  dynamic_batching: config.dynamic_batching !== undefined,
});


describe('autoCompleteConfig', () => {
  it.each<[string, string | undefined, OnnxSessionMetadata, number | undefined, ReturnType<typeof shapes>]>([
    ['a model whose inputs and outputs all have a dynamic first dim batches', undefined, DYNAMIC, undefined, {
      max_batch_size: 4,
      input: [['x', 'TYPE_FP32', [4], undefined]],
      output: [['y', 'TYPE_FP32', [3], undefined]],
      dynamic_batching: true,
    }],
    ['one fixed first dim means no batching and full dims', undefined, FIXED_OUTPUT, undefined, {
      max_batch_size: 0,
      input: [['x', 'TYPE_FP32', [-1, 4], undefined]],
      output: [['y', 'TYPE_FP32', [1, 3], undefined]],
      dynamic_batching: false,
    }],
    ['an explicit max_batch_size of 0 stays 0', 'max_batch_size: 0', DYNAMIC, undefined, {
      max_batch_size: 0,
      input: [['x', 'TYPE_FP32', [-1, 4], undefined]],
      output: [['y', 'TYPE_FP32', [-1, 3], undefined]],
      dynamic_batching: false,
    }],
    ['an explicit max_batch_size is kept, and batching gets a dynamic batcher', 'max_batch_size: 16', DYNAMIC, undefined, {
      max_batch_size: 16,
      input: [['x', 'TYPE_FP32', [4], undefined]],
      output: [['y', 'TYPE_FP32', [3], undefined]],
      dynamic_batching: true,
    }],
    ['the default max batch size is an option', undefined, DYNAMIC, 32, {
      max_batch_size: 32,
      input: [['x', 'TYPE_FP32', [4], undefined]],
      output: [['y', 'TYPE_FP32', [3], undefined]],
      dynamic_batching: true,
    }],
    ['a max batch size of 1 needs no dynamic batcher (as in Triton)', undefined, DYNAMIC, 1, {
      max_batch_size: 1,
      input: [['x', 'TYPE_FP32', [4], undefined]],
      output: [['y', 'TYPE_FP32', [3], undefined]],
      dynamic_batching: false,
    }],
    ['symbolic and -1 dims anywhere become -1', undefined, { inputs: [io('ids', ['b', 'seq'], 'int64')], outputs: [io('logits', [-1, 'seq', 8], 'float16')] }, undefined, {
      max_batch_size: 4,
      input: [['ids', 'TYPE_INT64', [-1], undefined]],
      output: [['logits', 'TYPE_FP16', [-1, 8], undefined]],
      dynamic_batching: true,
    }],
    ['a batched scalar becomes dims [1] with an empty reshape', undefined, { inputs: [io('x', [-1])], outputs: [io('y', [-1], 'bool')] }, undefined, {
      max_batch_size: 4,
      input: [['x', 'TYPE_FP32', [1], []]],
      output: [['y', 'TYPE_BOOL', [1], []]],
      dynamic_batching: true,
    }],
    ['a true scalar cannot batch and becomes dims [1]', undefined, { inputs: [io('x', [])], outputs: [io('y', [2], 'string')] }, undefined, {
      max_batch_size: 0,
      input: [['x', 'TYPE_FP32', [1], undefined]],
      output: [['y', 'TYPE_STRING', [2], undefined]],
      dynamic_batching: false,
    }],
    ['listed inputs are kept and only the outputs are filled', 'input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]', DYNAMIC, undefined, {
      max_batch_size: 4,
      input: [['x', 'TYPE_FP32', [-1], undefined]],
      output: [['y', 'TYPE_FP32', [3], undefined]],
      dynamic_batching: true,
    }],
    ['listed inputs and outputs skip auto-complete, so max_batch_size is 0', 'input { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] } output { name: "y" data_type: TYPE_FP32 dims: [ -1, 3 ] }', DYNAMIC, undefined, {
      max_batch_size: 0,
      input: [['x', 'TYPE_FP32', [-1, 4], undefined]],
      output: [['y', 'TYPE_FP32', [-1, 3], undefined]],
      dynamic_batching: false,
    }],
    ['a config may list a subset of the outputs', 'max_batch_size: 2 input { name: "x" data_type: TYPE_FP32 dims: 4 } output { name: "b" data_type: TYPE_FP32 dims: 2 }', { inputs: [io('x', [-1, 4])], outputs: [io('a', [-1, 1]), io('b', [-1, 2])] }, undefined, {
      max_batch_size: 2,
      input: [['x', 'TYPE_FP32', [4], undefined]],
      output: [['b', 'TYPE_FP32', [2], undefined]],
      dynamic_batching: false,
    }],
  ])('%s', (_name, pbtxt, meta, defaultMaxBatchSize, expected) => {
    expect(shapes(complete(pbtxt, meta, defaultMaxBatchSize))).toEqual(expected);
  });

  it('adds an empty dynamic_batching with its defaults, and keeps one the config has', () => {
    expect(complete(undefined, DYNAMIC).dynamic_batching).toEqual({
      preferred_batch_size: [],
      max_queue_delay_microseconds: 0,
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
      priority_queue_policy: {},
    });
    const own = complete('dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 500 }', DYNAMIC);
    expect(own.max_batch_size).toBe(4);
    expect(own.dynamic_batching).toMatchObject({ preferred_batch_size: [2, 4], max_queue_delay_microseconds: 500 });
  });

  it('fills platform and backend for onnxruntime, and keeps the rest of the config', () => {
    const config = complete('instance_group [ { count: 2 kind: KIND_CPU } ] parameters { key: "k" value { string_value: "v" } }', DYNAMIC);
    expect(config).toMatchObject({ name: 'mlp', platform: 'onnxruntime_onnx', backend: 'onnxruntime' });
    expect(config.instance_group[0]).toMatchObject({ kind: 'KIND_CPU', count: 2 });
    expect(config.parameters).toEqual({ k: { string_value: 'v' } });
    expect(complete('backend: "onnxruntime"', DYNAMIC).platform).toBe('onnxruntime_onnx');
    expect(complete('platform: "onnxruntime_onnx"', DYNAMIC).backend).toBe('onnxruntime');
  });

  it("fills default_model_filename, pinned memory and the instance groups as Triton's server side does", () => {
    const config = complete(undefined, DYNAMIC);
    expect(config.default_model_filename).toBe('model.onnx');
    expect(config.instance_group).toEqual([
      { name: 'mlp', kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' },
    ]);
    expect(complete('default_model_filename: "other.onnx" instance_group [ { count: 2 kind: KIND_CPU } ]', DYNAMIC)).toMatchObject({
      default_model_filename: 'other.onnx',
      instance_group: [{ name: 'mlp_0', kind: 'KIND_CPU', count: 2 }],
    });
    expect(config.optimization).toEqual({
      priority: 'PRIORITY_DEFAULT',
      input_pinned_memory: { enable: true },
      output_pinned_memory: { enable: true },
      gather_kernel_buffer_threshold: 0,
      eager_batching: false,
    });
    expect(complete('optimization { input_pinned_memory { enable: false } }', DYNAMIC).optimization).toMatchObject({
      input_pinned_memory: { enable: false },
      output_pinned_memory: { enable: true },
    });
    const given = [{ name: 'g', kind: 'KIND_GPU' as const, count: 1, gpus: [0], secondary_devices: [], profile: [], passive: false, host_policy: '' }];
    expect(autoCompleteConfig(undefined, DYNAMIC, { modelName: 'mlp', instanceGroups: given }).instance_group).toEqual(given);
  });

  it('does not change the config it was given', () => {
    const partial = parseModelConfig('', 'mlp');
    autoCompleteConfig(partial, DYNAMIC, { modelName: 'mlp' });
    expect(partial.input).toEqual([]);
    expect(partial.max_batch_size).toBeUndefined();
  });

  const twoInputs: OnnxSessionMetadata = { inputs: [io('a', [-1, 4]), io('b', [-1, 4], 'int32')], outputs: [io('y', [-1, 2, 3])] };
  const listed = (inputs: string, mbs = 8) =>
    `max_batch_size: ${mbs}\ninput [ ${inputs} ]\noutput [ { name: "y" data_type: TYPE_FP32 dims: [ 2, 3 ] } ]`;

  it.each<[string, string, OnnxSessionMetadata]>([
    ['a config -1 matches a fixed model dim', listed('{ name: "a" data_type: TYPE_FP32 dims: -1 }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), twoInputs],
    ['a fixed config dim matches a dynamic model dim', listed('{ name: "a" data_type: TYPE_FP32 dims: 4 }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), { ...twoInputs, inputs: [io('a', [-1, 'n']), io('b', [-1, 4], 'int32')] }],
    ['a reshape is compared instead of dims', listed('{ name: "a" data_type: TYPE_FP32 dims: [ 2, 2 ] reshape { shape: 4 } }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), twoInputs],
  ])('accepts a listed config where %s', (_name, pbtxt, meta) => {
    expect(() => complete(pbtxt, meta)).not.toThrow();
  });

  it.each<[string, string | undefined, OnnxSessionMetadata, string]>([
    ['a data type that differs from the model', listed('{ name: "a" data_type: TYPE_FP32 dims: 4 }, { name: "b" data_type: TYPE_FP32 dims: 4 }'), twoInputs,
      "model 'mlp', input 'b': config data_type TYPE_FP32 does not match the model's TYPE_INT32"],
    ['an input the model does not have', listed('{ name: "a" data_type: TYPE_FP32 dims: 4 }, { name: "c" data_type: TYPE_INT32 dims: 4 }'), twoInputs,
      "model 'mlp': config lists input 'c', which the model does not have (model inputs: a, b)"],
    ['a model input the config leaves out', listed('{ name: "a" data_type: TYPE_FP32 dims: 4 }'), twoInputs,
      "model 'mlp': config does not list model input 'b'"],
    ['an output the model does not have', 'max_batch_size: 2 output { name: "z" data_type: TYPE_FP32 dims: 3 }', DYNAMIC,
      "model 'mlp': config lists output 'z', which the model does not have (model outputs: y)"],
    ['a different number of dims', listed('{ name: "a" data_type: TYPE_FP32 dims: [ 4, 1 ] }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), twoInputs,
      "model 'mlp', input 'a': the model has 1 dim after the batch dim (model shape [-1,4]), but the config's dims [4,1] has 2"],
    ['a fixed dim that differs from the model', listed('{ name: "a" data_type: TYPE_FP32 dims: 5 }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), twoInputs,
      "model 'mlp', input 'a': config dims [5] does not match the model's shape [-1,4], whose first dim is the batch dim"],
    ['a reshape that differs from the model', listed('{ name: "a" data_type: TYPE_FP32 dims: [ 2, 3 ] reshape { shape: 6 } }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), twoInputs,
      "model 'mlp', input 'a': config reshape [6] does not match the model's shape [-1,4], whose first dim is the batch dim"],
    ['batching on a model whose listed tensor has a fixed first dim', listed('{ name: "a" data_type: TYPE_FP32 dims: 4 }, { name: "b" data_type: TYPE_INT32 dims: 4 }'), { ...twoInputs, inputs: [io('a', [1, 4]), io('b', [-1, 4], 'int32')] },
      "model 'mlp', input 'a': max_batch_size > 0 needs the model's first dim to be variable (the batch dim), but the model's shape is [1,4]"],
    ['a non-zero max_batch_size on a model that cannot batch', 'max_batch_size: 8', FIXED_OUTPUT,
      "model 'mlp': max_batch_size is 8, but the model cannot batch: tensor 'y' has shape [1,3], whose first dim is not variable"],
    ['an onnxruntime type with no config data type', undefined, { inputs: [io('x', [-1], 'complex64')], outputs: [io('y', [-1])] },
      "model 'mlp': tensor 'x' has onnxruntime type 'complex64', which no model config data type matches"],
    ['a platform other than onnxruntime', 'platform: "tensorflow_savedmodel"', DYNAMIC,
      "model 'mlp': auto-complete supports only platform 'onnxruntime_onnx' (backend 'onnxruntime'), but the config names platform 'tensorflow_savedmodel', backend ''"],
    ['dynamic batching with listed tensors but no max_batch_size', 'dynamic_batching { } input { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] } output { name: "y" data_type: TYPE_FP32 dims: [ -1, 3 ] }', DYNAMIC,
      "model 'mlp': config field 'dynamic_batching': requires max_batch_size > 0"],
    ['preferred batch sizes above the auto-completed max_batch_size', 'dynamic_batching { preferred_batch_size: 8 }', DYNAMIC,
      "model 'mlp': config field 'dynamic_batching.preferred_batch_size[0]': must be <= max_batch_size (4)"],
  ])('rejects %s', (_name, pbtxt, meta, message) => {
    const error = errorOf(() => complete(pbtxt, meta));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(message);
  });

  it('rejects an ensemble, which has no model file to complete from', () => {
    const ensemble = parseModelConfig(
      'platform: "ensemble" ensemble_scheduling { step { model_name: "a" input_map { key: "x" value: "x" } output_map { key: "y" value: "y" } } }',
      'ens',
    );
    expect(errorOf(() => autoCompleteConfig(ensemble, DYNAMIC, { modelName: 'ens' })).message).toBe(
      "model 'ens': an ensemble cannot be auto-completed from a model file",
    );
  });
});

describe('requireCompleteConfig', () => {
  const full = 'input { name: "x" data_type: TYPE_FP32 dims: [ -1, 4 ] } output { name: "y" data_type: TYPE_FP32 dims: [ -1, 3 ] }';

  it('completes a config that lists its tensors: max_batch_size 0, onnxruntime platform and backend', () => {
    const config = requireCompleteConfig(parseModelConfig(full, 'mlp'), 'mlp');
    expect(config).toMatchObject({ max_batch_size: 0, platform: 'onnxruntime_onnx', backend: 'onnxruntime' });
    expect(config.dynamic_batching).toBeUndefined();
    // Triton fills these with auto-complete disabled too (server side, not the backend).
    expect(config).toMatchObject({ default_model_filename: 'model.onnx', instance_group: [{ name: 'mlp', kind: 'KIND_CPU', count: 1 }] });
  });

  it('keeps an explicit max_batch_size and checks the tensors against the model when given its metadata', () => {
    const config = requireCompleteConfig(
      parseModelConfig('max_batch_size: 8 input { name: "x" data_type: TYPE_FP32 dims: 4 } output { name: "y" data_type: TYPE_FP32 dims: 3 }', 'mlp'),
      DYNAMIC,
      'mlp',
    );
    expect(config.max_batch_size).toBe(8);
    expect(errorOf(() => requireCompleteConfig(parseModelConfig(full.replace('dims: [ -1, 4 ]', 'dims: [ -1, 5 ]'), 'mlp'), DYNAMIC, 'mlp')).message).toBe(
      "model 'mlp', input 'x': config dims [-1,5] does not match the model's shape [-1,4]",
    );
  });

  it.each<[string, string | undefined, string]>([
    ['no config at all', undefined, "model 'mlp': has no config.pbtxt and auto-complete is disabled (--disable-auto-complete-config)"],
    ['a config without inputs', 'output { name: "y" data_type: TYPE_FP32 dims: 3 }', "model 'mlp': config lists no inputs and auto-complete is disabled (--disable-auto-complete-config)"],
    ['a config without outputs', 'input { name: "x" data_type: TYPE_FP32 dims: 4 }', "model 'mlp': config lists no outputs and auto-complete is disabled (--disable-auto-complete-config)"],
    ['dynamic batching without max_batch_size', `${full} dynamic_batching { }`, "model 'mlp': config field 'dynamic_batching': requires max_batch_size > 0"],
  ])('rejects %s', (_name, pbtxt, message) => {
    const error = errorOf(() => requireCompleteConfig(pbtxt === undefined ? undefined : parseModelConfig(pbtxt, 'mlp'), 'mlp'));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(message);
  });
});
