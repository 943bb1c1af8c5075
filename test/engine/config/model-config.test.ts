import { ModelConfigError } from '../../../src/errors';
import {
  CONFIG_DATA_TYPES,
  assertSupportedConfig,
  modelConfigToJson,
  parseModelConfig,
  queuePolicyFor,
  unsupportedFeatures,
  validateModelConfig,
} from '../../../src/engine/config/model-config';
import { DATATYPES, configTypeFromDataType } from '../../../src/tensor/datatypes';
import { errorOf } from '../../helpers/error-of';

/** Triton's "simple" example model (qa/L0_simple), served here by onnxruntime. */
const SIMPLE = `
name: "simple"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { all { }}
input [
  {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "INPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
output [
  {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 16 ]
  },
  {
    name: "OUTPUT1"
    data_type: TYPE_INT32
    dims: [ 16 ]
  }
]
`;

/** The image ensemble from Triton's architecture guide. */
const ENSEMBLE = `
name: "ensemble_model"
platform: "ensemble"
max_batch_size: 1
input [ { name: "IMAGE" data_type: TYPE_STRING dims: [ 1 ] } ]
output [
  { name: "CLASSIFICATION" data_type: TYPE_FP32 dims: [ 1000 ] },
  { name: "SEGMENTATION" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }
]
ensemble_scheduling {
  step [
    {
      model_name: "image_preprocess_model"
      model_version: -1
      input_map { key: "RAW_IMAGE" value: "IMAGE" }
      output_map { key: "PREPROCESSED_OUTPUT" value: "preprocessed_image" }
    },
    {
      model_name: "classification_model"
      model_version: 2
      input_map { key: "FORMATTED_IMAGE" value: "preprocessed_image" }
      output_map { key: "CLASSIFICATION_OUTPUT" value: "CLASSIFICATION" }
    },
    {
      model_name: "segmentation_model"
      input_map { key: "FORMATTED_IMAGE" value: "preprocessed_image" }
      output_map { key: "SEGMENTATION_OUTPUT" value: "SEGMENTATION" }
    }
  ]
}
`;

/** Priorities and queue policies, as in Triton's dynamic batcher docs. */
const PRIORITIES = `
name: "prio"
max_batch_size: 16
input { name: "x" data_type: TYPE_FP32 dims: -1 }
output { name: "y" data_type: TYPE_FP32 dims: -1 }
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
  preserve_ordering: true
  priority_levels: 3
  default_priority_level: 2
  default_queue_policy {
    timeout_action: REJECT
    default_timeout_microseconds: 1000
    allow_timeout_override: true
    max_queue_size: 10
  }
  priority_queue_policy {
    key: 1
    value: { timeout_action: DELAY default_timeout_microseconds: 500 }
  }
  priority_queue_policy [ { key: 3 value < max_queue_size: 2 > } ]
}
`;

/** A config touching most fields scoreline models. */
const FULL = `
name: "resnet"
backend: "onnxruntime"
max_batch_size: 32
version_policy: { specific: { versions: [1, 3] } }
input [
  {
    name: "image"
    data_type: TYPE_UINT8
    format: FORMAT_NHWC
    dims: [ 224, 224, 3 ]
    allow_ragged_batch: false
    optional: false
  },
  { name: "scale" data_type: TYPE_FP32 dims: [ 1 ] reshape: { shape: [ ] } }
]
output [
  { name: "probs" data_type: TYPE_FP32 dims: [ 1000 ] label_filename: "labels.txt" },
  { name: "features" data_type: TYPE_FP16 dims: [ 2, 1024 ] reshape { shape: [ 2048 ] } }
]
instance_group [
  { name: "gpu_group" count: 2 kind: KIND_GPU gpus: [ 0, 1 ] },
  { kind: KIND_CPU }
]
optimization {
  graph { level: -1 }
  execution_accelerators {
    gpu_execution_accelerator: [ { name: "tensorrt" parameters { key: "precision_mode" value: "FP16" } } ]
  }
}
dynamic_batching { }
default_model_filename: "resnet.onnx"
parameters { key: "intra_op_thread_count" value: { string_value: "2" } }
parameters: { key: "enable_mem_arena" value: { string_value: "1" } }
model_warmup [
  {
    name: "zeros"
    batch_size: 4
    inputs { key: "image" value: { data_type: TYPE_UINT8 dims: [ 224, 224, 3 ] zero_data: true } }
    inputs { key: "scale" value: { data_type: TYPE_FP32 dims: [ 1 ] random_data: true } }
  }
]
`;

const queuePolicy = (over: object = {}) => ({
  timeout_action: 'REJECT',
  default_timeout_microseconds: 0,
  allow_timeout_override: false,
  max_queue_size: 0,
  ...over,
});

const input = (over: object) => ({
  format: 'FORMAT_NONE',
  is_shape_tensor: false,
  allow_ragged_batch: false,
  optional: false,
  is_non_linear_format_io: false,
  ...over,
});

const output = (over: object) => ({ label_filename: '', is_shape_tensor: false, is_non_linear_format_io: false, ...over });


describe('parseModelConfig', () => {
  it("parses Triton's simple example with every default filled in", () => {
    expect(parseModelConfig(SIMPLE, 'simple')).toEqual({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: '',
      runtime: '',
      version_policy: { all: {} },
      max_batch_size: 8,
      input: [input({ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] }), input({ name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] })],
      output: [output({ name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] }), output({ name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] })],
      batch_input: [],
      batch_output: [],
      instance_group: [],
      default_model_filename: '',
      cc_model_filenames: {},
      metric_tags: {},
      parameters: {},
      model_warmup: [],
    });
  });

  it('parses an ensemble, its maps becoming objects and unset step versions -1', () => {
    const config = parseModelConfig(ENSEMBLE, 'ensemble_model');
    expect(config.ensemble_scheduling).toEqual({
      step: [
        {
          model_name: 'image_preprocess_model',
          model_version: -1,
          input_map: { RAW_IMAGE: 'IMAGE' },
          output_map: { PREPROCESSED_OUTPUT: 'preprocessed_image' },
          model_namespace: '',
        },
        {
          model_name: 'classification_model',
          model_version: 2,
          input_map: { FORMATTED_IMAGE: 'preprocessed_image' },
          output_map: { CLASSIFICATION_OUTPUT: 'CLASSIFICATION' },
          model_namespace: '',
        },
        {
          model_name: 'segmentation_model',
          model_version: -1,
          input_map: { FORMATTED_IMAGE: 'preprocessed_image' },
          output_map: { SEGMENTATION_OUTPUT: 'SEGMENTATION' },
          model_namespace: '',
        },
      ],
      max_inflight_responses: 0,
    });
    expect(config.input[0]).toMatchObject({ name: 'IMAGE', data_type: 'TYPE_STRING', dims: [1] });
  });

  it('parses priority_queue_policy entries given both as repeated keys and as a list', () => {
    const config = parseModelConfig(PRIORITIES, 'prio');
    expect(config.dynamic_batching).toEqual({
      preferred_batch_size: [4, 8],
      max_queue_delay_microseconds: 100,
      preserve_ordering: true,
      priority_levels: 3,
      default_priority_level: 2,
      default_queue_policy: queuePolicy({ default_timeout_microseconds: 1000, allow_timeout_override: true, max_queue_size: 10 }),
      priority_queue_policy: {
        '1': queuePolicy({ timeout_action: 'DELAY', default_timeout_microseconds: 500 }),
        '3': queuePolicy({ max_queue_size: 2 }),
      },
    });
    expect(config.input[0].dims).toEqual([-1]);
  });

  it('parses instance groups, optimization, parameters, warmup and reshapes', () => {
    const config = parseModelConfig(FULL, 'resnet');
    expect(config.version_policy).toEqual({ specific: { versions: [1, 3] } });
    expect(config.input[0]).toMatchObject({ format: 'FORMAT_NHWC', dims: [224, 224, 3] });
    expect(config.input[1].reshape).toEqual({ shape: [] });
    expect(config.output[0].label_filename).toBe('labels.txt');
    expect(config.output[1].reshape).toEqual({ shape: [2048] });
    expect(config.instance_group).toEqual([
      { name: 'gpu_group', kind: 'KIND_GPU', count: 2, gpus: [0, 1], secondary_devices: [], profile: [], passive: false, host_policy: '' },
      // count 0 is proto3's "unset": completeInstanceGroups gives it the default.
      { name: '', kind: 'KIND_CPU', count: 0, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' },
    ]);
    expect(config.optimization).toEqual({
      graph: { level: -1 },
      priority: 'PRIORITY_DEFAULT',
      execution_accelerators: {
        gpu_execution_accelerator: [{ name: 'tensorrt', parameters: { precision_mode: 'FP16' } }],
        cpu_execution_accelerator: [],
      },
      gather_kernel_buffer_threshold: 0,
      eager_batching: false,
    });
    expect(config.dynamic_batching).toMatchObject({ preferred_batch_size: [], max_queue_delay_microseconds: 0 });
    expect(config.default_model_filename).toBe('resnet.onnx');
    expect(config.parameters).toEqual({
      intra_op_thread_count: { string_value: '2' },
      enable_mem_arena: { string_value: '1' },
    });
    expect(config.model_warmup).toEqual([
      {
        name: 'zeros',
        batch_size: 4,
        inputs: {
          image: { data_type: 'TYPE_UINT8', dims: [224, 224, 3], zero_data: true },
          scale: { data_type: 'TYPE_FP32', dims: [1], random_data: true },
        },
        count: 0,
      },
    ]);
  });

  it.each([
    ['dims: 4', [4]],
    ['dims: [4]', [4]],
    ['dims: 4 dims: -1', [4, -1]],
    ['dims: [4] dims: [2, 3]', [4, 2, 3]],
  ])('reads "%s" as the repeated field %j', (dims, expected) => {
    const config = parseModelConfig(`input { name: "x" data_type: TYPE_FP32 ${dims} }`, 'm');
    expect(config.input[0].dims).toEqual(expected);
  });

  it('leaves max_batch_size absent when the config does not set it', () => {
    expect(parseModelConfig('', 'm').max_batch_size).toBeUndefined();
    expect(parseModelConfig('max_batch_size: 0', 'm').max_batch_size).toBe(0);
  });

  it('names the config after the model and defaults the version policy to the latest version', () => {
    const config = parseModelConfig('', 'm');
    expect(config.name).toBe('m');
    expect(config.version_policy).toEqual({ latest: { num_versions: 1 } });
    expect(parseModelConfig('version_policy { latest {} }', 'm').version_policy).toEqual({ latest: { num_versions: 1 } });
  });

  it('parses sequence_batching in full (Triton field names and defaults) and supports it', () => {
    const config = parseModelConfig(
      'max_batch_size: 2 sequence_batching { max_sequence_idle_microseconds: 5000 control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] } ] }',
      'seq',
    );
    expect(config.sequence_batching).toEqual({
      max_sequence_idle_microseconds: 5000,
      control_input: [
        {
          name: 'START',
          control: [{ kind: 'CONTROL_SEQUENCE_START', int32_false_true: [0, 1], fp32_false_true: [], bool_false_true: [], data_type: 'TYPE_INVALID' }],
        },
      ],
      state: [],
      iterative_sequence: false,
    });
    expect(unsupportedFeatures(config)).toEqual([]);
    expect(() => assertSupportedConfig(config, 'seq')).not.toThrow();
  });

  it.each([
    ['a control without a false/true form', 'sequence_batching { control_input [ { name: "S" control [ { kind: CONTROL_SEQUENCE_START } ] } ] }', "config field 'sequence_batching.control_input[0].control[0]': CONTROL_SEQUENCE_START must set exactly one of int32_false_true, fp32_false_true, bool_false_true"],
    ['a false/true form with one value', 'sequence_batching { control_input [ { name: "S" control [ { kind: CONTROL_SEQUENCE_END fp32_false_true: [ 1 ] } ] } ] }', "config field 'sequence_batching.control_input[0].control[0].fp32_false_true': must hold 2 values (false, then true), got 1"],
    ['a CORRID without a data type', 'sequence_batching { control_input [ { name: "C" control [ { kind: CONTROL_SEQUENCE_CORRID } ] } ] }', "config field 'sequence_batching.control_input[0].control[0].data_type': CONTROL_SEQUENCE_CORRID needs data_type TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32, TYPE_STRING; got TYPE_INVALID"],
    ['two initial states', 'sequence_batching { state [ { input_name: "i" output_name: "o" data_type: TYPE_FP32 dims: [ 2 ] initial_state [ { data_type: TYPE_FP32 dims: [ 2 ] zero_data: true }, { data_type: TYPE_FP32 dims: [ 2 ] zero_data: true } ] } ] }', "config field 'sequence_batching.state[0].initial_state': must contain exactly one or zero element, found 2 (as Triton)"],
    ['both strategies', 'sequence_batching { direct { } oldest { } }', "config field 'sequence_batching.oldest': cannot be combined with direct (strategy_choice is a oneof)"],
    ['variable state dims with batching', 'max_batch_size: 4 sequence_batching { state [ { input_name: "i" output_name: "o" data_type: TYPE_FP32 dims: [ -1 ] } ] }', "config field 'sequence_batching.state[0].dims': variable (-1) state dims need max_batch_size 0"],
  ])('refuses sequence_batching with %s', (_what, text, message) => {
    expect(errorOf(() => parseModelConfig(text, 'seq')).message).toContain(message);
  });

  it('lists every unsupported feature a config uses', () => {
    const config = parseModelConfig(
      'batch_input [ { kind: BATCH_ELEMENT_COUNT } ] model_transaction_policy { decoupled: true }',
      'm',
    );
    expect(unsupportedFeatures(config)).toEqual(['batch_input', 'model_transaction_policy.decoupled']);
    expect(() => assertSupportedConfig(parseModelConfig(SIMPLE, 'simple'), 'simple')).not.toThrow();
  });

  const addSub = (inputs: string) =>
    `name: "add_sub"\nmax_batch_size: 8\ninput [\n${inputs}\n]\noutput [ { name: "OUT" data_type: TYPE_FP32 dims: [4] } ]`;
  const goodInput = '{ name: "A" data_type: TYPE_FP32 dims: [ 4 ] }';

  it.each<[string, string, string]>([
    ['an unknown data type', addSub(`${goodInput}, { name: "B" data_type: TYPE_FLOAT32 dims: [ 4 ] }`), "model 'add_sub': config field 'input[1].data_type': unknown value TYPE_FLOAT32"],
    ['an unknown top-level field', 'max_batch_sise: 4', "model 'add_sub': config field 'max_batch_sise': unknown field"],
    ['an unknown nested field', 'dynamic_batching { max_queue_delay: 5 }', "model 'add_sub': config field 'dynamic_batching.max_queue_delay': unknown field"],
    ['a zero dim', addSub('{ name: "A" data_type: TYPE_FP32 dims: [ 4, 0 ] }'), "model 'add_sub': config field 'input[0].dims[1]': dimension must be an integer >= 1, or -1 to indicate a variable-size dimension"],
    ['a dim below -1', addSub('{ name: "A" data_type: TYPE_FP32 dims: -2 }'), "model 'add_sub': config field 'input[0].dims[0]': dimension must be an integer >= 1, or -1 to indicate a variable-size dimension"],
    ['a zero in a reshape', addSub('{ name: "A" data_type: TYPE_FP32 dims: [ 4 ] reshape { shape: [ 0 ] } }'), "model 'add_sub': config field 'input[0].reshape.shape[0]': dimension must be an integer >= 1, or -1 to indicate a variable-size dimension"],
    ['no dims', addSub('{ name: "A" data_type: TYPE_FP32 }'), "model 'add_sub': config field 'input[0].dims': must list at least one dimension"],
    ['no data type', addSub('{ name: "A" dims: 4 }'), "model 'add_sub': config field 'input[0].data_type': is required"],
    ['an empty tensor name', addSub('{ name: "" data_type: TYPE_FP32 dims: 4 }'), "model 'add_sub': config field 'input[0].name': must not be empty"],
    ['a negative max_batch_size', 'max_batch_size: -1', "model 'add_sub': config field 'max_batch_size': must be >= 0"],
    ['a fractional max_batch_size', 'max_batch_size: 1.5', "model 'add_sub': config field 'max_batch_size': expected an integer, found 1.5"],
    ['a quoted max_batch_size', 'max_batch_size: "8"', `model 'add_sub': config field 'max_batch_size': expected an integer, found "8"`],
    ['max_batch_size given twice', 'max_batch_size: 4\nmax_batch_size: 8', "model 'add_sub': config field 'max_batch_size': is not a repeated field but is given more than once (again at line 2:1)"],
    ['a list for a singular field', 'max_batch_size: [ 4 ]', "model 'add_sub': config field 'max_batch_size': is not a repeated field; list syntax [...] is not allowed"],
    ['a quoted enum value', addSub('{ name: "A" data_type: "TYPE_FP32" dims: 4 }'), `model 'add_sub': config field 'input[0].data_type': expected an enum value name, found "TYPE_FP32"`],
    ['an unquoted string', addSub('{ name: A data_type: TYPE_FP32 dims: 4 }'), "model 'add_sub': config field 'input[0].name': expected a quoted string, found A"],
    ['a number for a bool', addSub('{ name: "A" data_type: TYPE_FP32 dims: 4 optional: 2 }'), "model 'add_sub': config field 'input[0].optional': expected true or false, found 2"],
    ['a scalar for a message', 'dynamic_batching: 1', "model 'add_sub': config field 'dynamic_batching': expected a message { ... }, found 1"],
    ['an out-of-range integer', 'max_batch_size: 4294967296', "model 'add_sub': config field 'max_batch_size': must be <= 2147483647"],
    ['a duplicate input name', addSub(`${goodInput}, ${goodInput}`), "model 'add_sub': config field 'input[1].name': duplicate input name 'A'"],
    ['a duplicate output name', 'output [ { name: "O" data_type: TYPE_FP32 dims: 1 }, { name: "O" data_type: TYPE_FP32 dims: 1 } ]', "model 'add_sub': config field 'output[1].name': duplicate output name 'O'"],
    ['a preferred batch size above max_batch_size', 'max_batch_size: 8 dynamic_batching { preferred_batch_size: [ 4, 16 ] }', "model 'add_sub': config field 'dynamic_batching.preferred_batch_size[1]': must be <= max_batch_size (8)"],
    ['a zero preferred batch size', 'max_batch_size: 8 dynamic_batching { preferred_batch_size: 0 }', "model 'add_sub': config field 'dynamic_batching.preferred_batch_size[0]': must be >= 1"],
    ['dynamic batching without batching', 'max_batch_size: 0 dynamic_batching { }', "model 'add_sub': config field 'dynamic_batching': requires max_batch_size > 0"],
    ['a default priority level out of range', 'max_batch_size: 4 dynamic_batching { priority_levels: 2 default_priority_level: 3 }', "model 'add_sub': config field 'dynamic_batching.default_priority_level': must be in range [1, 2]"],
    ['priority levels without a default level', 'max_batch_size: 4 dynamic_batching { priority_levels: 2 }', "model 'add_sub': config field 'dynamic_batching.default_priority_level': must be in range [1, 2]"],
    ['a queue policy for a level that does not exist', 'max_batch_size: 4 dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 3 value { } } }', "model 'add_sub': config field 'dynamic_batching.priority_queue_policy[3]': priority level must be in range [1, 2]"],
    ['a default priority level without priority levels', 'max_batch_size: 4 dynamic_batching { default_priority_level: 1 }', "model 'add_sub': config field 'dynamic_batching.default_priority_level': requires priority_levels > 0"],
    ['an unknown timeout action', 'max_batch_size: 4 dynamic_batching { default_queue_policy { timeout_action: RETRY } }', "model 'add_sub': config field 'dynamic_batching.default_queue_policy.timeout_action': unknown value RETRY"],
    ['a string map key given as a number', 'parameters { key: 1 value { string_value: "x" } }', "model 'add_sub': config field 'parameters': entry 1: expected a quoted string key, found 1"],
    ['an integer map key given as a string', 'max_batch_size: 4 dynamic_batching { priority_levels: 1 default_priority_level: 1 priority_queue_policy { key: "1" value { } } }', `model 'add_sub': config field 'dynamic_batching.priority_queue_policy': entry 1: expected an integer key, found "1"`],
    ['a map entry with a stray field', 'parameters { key: "a" val { string_value: "x" } }', "model 'add_sub': config field 'parameters': entry 1: unknown field 'val' (a map entry has only 'key' and 'value')"],
    ['a map key given twice', 'parameters { key: "a" value { } } parameters { key: "a" value { } }', `model 'add_sub': config field 'parameters["a"]': key is given more than once`],
    ['an unknown field in a map value', 'parameters { key: "a" value { int_value: 3 } }', `model 'add_sub': config field 'parameters["a"].int_value': unknown field`],
    ['two version policies', 'version_policy { latest { } all { } }', "model 'add_sub': config field 'version_policy': sets both latest and all; choose one"],
    ['an empty specific version list', 'version_policy { specific { } }', "model 'add_sub': config field 'version_policy.specific.versions': must list at least one version"],
    ['num_versions of zero', 'version_policy { latest { num_versions: 0 } }', "model 'add_sub': config field 'version_policy.latest.num_versions': must be >= 1"],
    ['two scheduling choices', 'max_batch_size: 4 dynamic_batching { } sequence_batching { }', "model 'add_sub': config field 'sequence_batching': cannot be combined with dynamic_batching"],
    ['ensemble scheduling on an onnx model', 'platform: "onnxruntime_onnx" ensemble_scheduling { step { model_name: "a" input_map { key: "x" value: "y" } output_map { key: "z" value: "w" } } }', "model 'add_sub': config field 'platform': must be 'ensemble' for a model with ensemble_scheduling"],
    ['an ensemble without steps', 'platform: "ensemble" ensemble_scheduling { }', "model 'add_sub': config field 'ensemble_scheduling.step': must list at least one step"],
    ['an ensemble platform without scheduling', 'platform: "ensemble"', "model 'add_sub': config field 'ensemble_scheduling': is required when platform is 'ensemble'"],
    ['an unknown instance kind', 'instance_group { kind: KIND_TPU }', "model 'add_sub': config field 'instance_group[0].kind': unknown value KIND_TPU"],
    ['gpus on a CPU instance group', 'instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]', "model 'add_sub': config field 'instance_group[0].gpus': cannot be specified for KIND_CPU"],
    ['a negative instance count', 'instance_group [ { count: -1 } ]', "model 'add_sub': config field 'instance_group[0].count': must be >= 0"],
    ['a reshape with another element count', addSub('{ name: "A" data_type: TYPE_FP32 dims: [ 4 ] reshape { shape: [ 2, 3 ] } }'), "model 'add_sub': config field 'input[0].reshape': shape [2,3] does not have the same element count as dims [4]"],
    ['an empty reshape on a non-batching model', 'max_batch_size: 0 input { name: "A" data_type: TYPE_FP32 dims: 1 reshape { } }', "model 'add_sub': config field 'input[0].reshape': cannot be empty for a non-batching model, as scalar tensors are not supported"],
    ['an image format without 3 dims', addSub('{ name: "A" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 4 ] }'), "model 'add_sub': config field 'input[0].dims': FORMAT_NCHW requires exactly 3 dims (not counting the batch dimension)"],
    ['a warmup input with two data sources', 'model_warmup { batch_size: 1 inputs { key: "A" value { data_type: TYPE_FP32 dims: 4 zero_data: true random_data: true } } }', `model 'add_sub': config field 'model_warmup[0].inputs["A"]': must set exactly one of zero_data, random_data, input_data_file`],
    ['a warmup without a batch size', 'model_warmup { name: "w" }', "model 'add_sub': config field 'model_warmup[0].batch_size': must be >= 1"],
    ['a warmup batch for a non-batching model', 'max_batch_size: 0 model_warmup { batch_size: 2 }', "model 'add_sub': config field 'model_warmup[0].batch_size': must be 1 for a model with max_batch_size 0"],
    ['a name other than the model', 'name: "other"', "model 'add_sub': config field 'name': 'other' does not match the model name 'add_sub'"],
    ['a syntax error, with its position', 'name: "add_sub"\ninput [ { name: "A" ]', "model 'add_sub': config.pbtxt line 2:21: expected a field name, found ']'"],
  ])('rejects %s', (_name, text, message) => {
    const error = errorOf(() => parseModelConfig(text, 'add_sub'));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(message);
  });

  it('accepts a bool written as t, f, 1 or 0', () => {
    const config = parseModelConfig('input [ { name: "a" data_type: TYPE_FP32 dims: 1 optional: t allow_ragged_batch: 1 is_shape_tensor: f } ]', 'm');
    expect(config.input[0]).toMatchObject({ optional: true, allow_ragged_batch: true, is_shape_tensor: false });
  });
});

describe('validateModelConfig', () => {
  it('validates a JSON config with the same rules and messages as config.pbtxt', () => {
    const json = { max_batch_size: 8, input: [{ name: 'A', data_type: 'TYPE_FLOAT32', dims: [4] }] };
    expect(errorOf(() => validateModelConfig(json, 'add_sub')).message).toBe(
      "model 'add_sub': config field 'input[0].data_type': unknown value TYPE_FLOAT32",
    );
  });

  it("accepts Triton's JSON form: maps as objects, 64-bit integers as numbers or digit strings", () => {
    const config = validateModelConfig(
      {
        max_batch_size: '4',
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: ['16', -1] }],
        dynamic_batching: {
          max_queue_delay_microseconds: '250',
          priority_levels: 2,
          default_priority_level: 1,
          priority_queue_policy: { '2': { max_queue_size: 3 } },
        },
        parameters: { k: { string_value: 'v' } },
      },
      'm',
    );
    expect(config.max_batch_size).toBe(4);
    expect(config.input[0].dims).toEqual([16, -1]);
    expect(config.dynamic_batching?.max_queue_delay_microseconds).toBe(250);
    expect(config.dynamic_batching?.priority_queue_policy).toEqual({ '2': queuePolicy({ max_queue_size: 3 }) });
    expect(config.parameters).toEqual({ k: { string_value: 'v' } });
  });

  it('accepts the JSON a Triton server returns for GET .../config, and renders it back unchanged', () => {
    // As Triton 2.x prints a normalized onnxruntime model config.
    const triton = {
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      runtime: '',
      version_policy: { latest: { num_versions: 1 } },
      max_batch_size: 8,
      input: [input({ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] })],
      output: [output({ name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] })],
      batch_input: [],
      batch_output: [],
      optimization: {
        priority: 'PRIORITY_DEFAULT',
        input_pinned_memory: { enable: true },
        output_pinned_memory: { enable: true },
        gather_kernel_buffer_threshold: 0,
        eager_batching: false,
      },
      dynamic_batching: {
        preferred_batch_size: [8],
        max_queue_delay_microseconds: 0,
        preserve_ordering: false,
        priority_levels: 0,
        default_priority_level: 0,
        priority_queue_policy: {},
      },
      instance_group: [
        { name: 'simple_0', kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' },
      ],
      default_model_filename: 'model.onnx',
      cc_model_filenames: {},
      metric_tags: {},
      parameters: {},
      model_warmup: [],
    };
    expect(modelConfigToJson(validateModelConfig(triton, 'simple'))).toEqual(triton);
  });

  it('round-trips the JSON that modelConfigToJson gives', () => {
    const config = parseModelConfig(FULL, 'resnet');
    expect(validateModelConfig(JSON.parse(JSON.stringify(modelConfigToJson(config))), 'resnet')).toEqual(config);
  });

  it.each<[string, unknown, string]>([
    ['an unknown key', { max_batch_size: 1, maxBatchSize: 2 }, "model 'm': config field 'maxBatchSize': unknown field"],
    ['a string for a number', { max_batch_size: 'eight' }, `model 'm': config field 'max_batch_size': expected an integer, found "eight"`],
    ['a number for a string', { platform: 3 }, "model 'm': config field 'platform': expected a string, found 3"],
    ['an object for a list', { input: {} }, "model 'm': config field 'input': expected a list, found an object"],
    ['a non-numeric priority key', { max_batch_size: 1, dynamic_batching: { priority_levels: 1, default_priority_level: 1, priority_queue_policy: { high: {} } } }, "model 'm': config field 'dynamic_batching.priority_queue_policy[high]': key must be an unsigned integer"],
    ['something other than an object', 'name: "m"', "model 'm': config: expected an object, found \"name: \\\"m\\\"\""],
    ['several problems at once', { max_batch_size: -1, bogus: true }, "model 'm': config field 'max_batch_size': must be >= 0; config field 'bogus': unknown field"],
  ])('rejects %s', (_name, value, message) => {
    const error = errorOf(() => validateModelConfig(value, 'm'));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(message);
  });
});

describe('modelConfigToJson', () => {
  it('gives the JSON of GET /v2/models/M/config: proto field order, defaults printed, numbers for int64', () => {
    const json = modelConfigToJson(parseModelConfig(PRIORITIES, 'prio'));
    expect(Object.keys(json)).toEqual([
      'name',
      'platform',
      'backend',
      'runtime',
      'version_policy',
      'max_batch_size',
      'input',
      'output',
      'batch_input',
      'batch_output',
      'dynamic_batching',
      'instance_group',
      'default_model_filename',
      'cc_model_filenames',
      'metric_tags',
      'parameters',
      'model_warmup',
    ]);
    const text = JSON.stringify(json);
    expect(text).toContain('"dims":[-1]');
    expect(text).toContain('"max_queue_delay_microseconds":100');
    expect(text).toContain('"priority_queue_policy":{"1":{"timeout_action":"DELAY","default_timeout_microseconds":500,');
    expect(text).toContain('"version_policy":{"latest":{"num_versions":1}}');
  });

  it('prints max_batch_size 0 when the config left it unspecified', () => {
    expect(modelConfigToJson(parseModelConfig('', 'm')).max_batch_size).toBe(0);
  });

  it('returns a copy that callers may change', () => {
    const config = parseModelConfig(SIMPLE, 'simple');
    const json = modelConfigToJson(config) as { input: Array<{ dims: number[] }> };
    json.input[0].dims.push(99);
    expect(config.input[0].dims).toEqual([16]);
  });
});

describe('queuePolicyFor', () => {
  const batching = parseModelConfig(PRIORITIES, 'prio').dynamic_batching!;

  it.each<[string, number | undefined, object]>([
    ['a level with its own policy', 1, queuePolicy({ timeout_action: 'DELAY', default_timeout_microseconds: 500 })],
    ['a level without one, which gets the default queue policy', 2, queuePolicy({ default_timeout_microseconds: 1000, allow_timeout_override: true, max_queue_size: 10 })],
    ['no level, which gets the default queue policy', undefined, queuePolicy({ default_timeout_microseconds: 1000, allow_timeout_override: true, max_queue_size: 10 })],
  ])('gives %s', (_name, level, expected) => {
    expect(queuePolicyFor(batching, level)).toEqual(expected);
  });

  it('falls back to the proto defaults when the config sets no queue policy', () => {
    const plain = parseModelConfig('max_batch_size: 2 dynamic_batching { }', 'm').dynamic_batching!;
    expect(queuePolicyFor(plain, 1)).toEqual(queuePolicy());
  });
});

it('knows exactly the TYPE_* names that src/tensor/datatypes.ts maps', () => {
  expect([...CONFIG_DATA_TYPES].sort()).toEqual(DATATYPES.map(configTypeFromDataType).sort());
});
