/**
 * The model configuration schema: Triton's model_config.proto as zod, with Triton's field
 * names (snake_case), its declaration order (which is the key order of the JSON that
 * GET /v2/models/M/config returns), and every default in one place. Defaults follow proto3
 * (0, "", false, first enum value) except where Triton normalizes a zero to something else
 * (latest.num_versions → 1, step.model_version → -1). instance_group is normalized after
 * parsing (instance-groups.ts): a count of 0 is proto3's "unset" and gets Triton's default.
 *
 * The structure (fields, lists, maps, enums, scalar kinds) is the proto's, which the pbtxt
 * converter reads (config-descriptor.ts); test/engine/config/config-schema-drift.test.ts walks
 * both and fails on any difference, so this copy cannot drift from the file that ships.
 *
 * Fields scoreline does not model in detail are accepted loosely (`batch_input`,
 * `batch_output`, `optimization.cuda.graph_spec`) so that Triton configs
 * parse; the engine refuses the unsupported ones (the refused rows of config-field-support.ts).
 */

import { z } from 'zod';
import { DATATYPES, configTypeFromDataType } from '../../tensor/datatypes';

/** The TYPE_* names a config may use (model_config.proto DataType, without TYPE_INVALID). */
export const CONFIG_DATA_TYPES = [
  'TYPE_BOOL',
  'TYPE_UINT8',
  'TYPE_UINT16',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_INT8',
  'TYPE_INT16',
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_FP16',
  'TYPE_FP32',
  'TYPE_FP64',
  'TYPE_STRING',
  'TYPE_BF16',
] as const;
export type ConfigDataType = (typeof CONFIG_DATA_TYPES)[number];

// The list above is spelled out for the type; it must name exactly what datatypes.ts maps.
if (DATATYPES.map(configTypeFromDataType).sort().join() !== [...CONFIG_DATA_TYPES].sort().join()) {
  throw new Error('CONFIG_DATA_TYPES is out of sync with src/tensor/datatypes.ts');
}

export const DEFAULT_MODEL_FILENAME = 'model.onnx';

// ---- scalar helpers --------------------------------------------------------------

/**
 * protobuf's JSON mapping writes 64-bit integers as strings and accepts strings for every
 * integer field, so a JSON config may say "dims": ["4"]. pbtxt never reaches this with a
 * string: the converter requires a number token for integer fields.
 */
function jsonInteger<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v), schema);
}

const range = (min: number, max: number) =>
  z.int().min(min, { error: `must be >= ${min}` }).max(max, { error: `must be <= ${max}` });

const int32 = () => jsonInteger(range(-(2 ** 31), 2 ** 31 - 1));
const uint32 = () => jsonInteger(range(0, 2 ** 32 - 1));
const int64 = () => jsonInteger(range(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
const uint64 = () => jsonInteger(range(0, Number.MAX_SAFE_INTEGER));

/** A tensor dimension: a size >= 1 or -1 for "variable" (0 is never valid, as in Triton). */
const dim = () =>
  jsonInteger(
    z.int().refine((d) => d >= 1 || d === -1, {
      error: 'dimension must be an integer >= 1, or -1 to indicate a variable-size dimension',
    }),
  );

/** Keys of map<uint64, ...>: JSON object keys are strings (pbtxt writes numbers; config-descriptor.ts tells the converter). */
const uint64Key = z.string().regex(/^\d+$/, { error: 'key must be an unsigned integer' });

const bool = () => z.boolean().default(false);
const str = () => z.string().default('');
const list = <T extends z.ZodType>(element: T) => z.array(element).default(() => []);
// `as never`: TypeScript cannot see that {} fits the record type of a generic K and V.
const map = <K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) =>
  z.record(key, value).default(() => ({}) as never);
/** A tensor name: required and non-empty. */
const tensorName = () => z.string().min(1, { error: 'must not be empty' });

export const dataTypeSchema = z.enum(CONFIG_DATA_TYPES);

// ---- tensors ---------------------------------------------------------------------

export const modelTensorReshapeSchema = z.strictObject({ shape: list(dim()) });

export const modelInputSchema = z.strictObject({
  name: tensorName(),
  data_type: dataTypeSchema,
  format: z.enum(['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW']).default('FORMAT_NONE'),
  dims: list(dim()),
  reshape: modelTensorReshapeSchema.optional(),
  is_shape_tensor: bool(),
  allow_ragged_batch: bool(),
  optional: bool(),
  is_non_linear_format_io: bool(),
});

export const modelOutputSchema = z.strictObject({
  name: tensorName(),
  data_type: dataTypeSchema,
  dims: list(dim()),
  reshape: modelTensorReshapeSchema.optional(),
  label_filename: str(),
  is_shape_tensor: bool(),
  is_non_linear_format_io: bool(),
});

// ---- version policy ---------------------------------------------------------------

export const modelVersionPolicySchema = z.strictObject({
  latest: z.strictObject({ num_versions: jsonInteger(range(1, 2 ** 32 - 1)).default(1) }).optional(),
  all: z.strictObject({}).optional(),
  specific: z.strictObject({ versions: list(jsonInteger(range(1, Number.MAX_SAFE_INTEGER))) }).optional(),
});

// ---- instances --------------------------------------------------------------------

export const instanceGroupKindSchema = z.enum(['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL']);

export const modelInstanceGroupSchema = z.strictObject({
  name: str(),
  kind: instanceGroupKindSchema.default('KIND_AUTO'),
  // 0 is "unset": completeInstanceGroups gives it Triton's default (2 on CPU, 1 on a GPU).
  count: jsonInteger(range(0, 2 ** 31 - 1)).default(0),
  rate_limiter: z
    .strictObject({
      resources: list(z.strictObject({ name: str(), global: bool(), count: uint32().default(0) })),
      priority: uint32().default(0),
    })
    .optional(),
  gpus: list(jsonInteger(range(0, 2 ** 31 - 1))),
  secondary_devices: list(z.strictObject({ kind: z.enum(['KIND_NVDLA']).default('KIND_NVDLA'), device_id: int64().default(0) })),
  profile: list(z.string()),
  passive: bool(),
  host_policy: str(),
});

// ---- optimization (ONNX Runtime reads graph.level and execution_accelerators) -------

const acceleratorSchema = z.strictObject({ name: str(), parameters: map(z.string(), z.string()) });

export const modelOptimizationPolicySchema = z.strictObject({
  graph: z.strictObject({ level: int32().default(0) }).optional(),
  priority: z.enum(['PRIORITY_DEFAULT', 'PRIORITY_MAX', 'PRIORITY_MIN']).default('PRIORITY_DEFAULT'),
  cuda: z
    .strictObject({
      graphs: bool(),
      busy_wait_events: bool(),
      graph_spec: list(z.unknown()),
      output_copy_stream: bool(),
    })
    .optional(),
  execution_accelerators: z
    .strictObject({
      gpu_execution_accelerator: list(acceleratorSchema),
      cpu_execution_accelerator: list(acceleratorSchema),
    })
    .optional(),
  input_pinned_memory: z.strictObject({ enable: bool() }).optional(),
  output_pinned_memory: z.strictObject({ enable: bool() }).optional(),
  gather_kernel_buffer_threshold: uint32().default(0),
  eager_batching: bool(),
});

// ---- scheduling -------------------------------------------------------------------

export const modelQueuePolicySchema = z.strictObject({
  timeout_action: z.enum(['REJECT', 'DELAY']).default('REJECT'),
  default_timeout_microseconds: uint64().default(0),
  allow_timeout_override: bool(),
  max_queue_size: uint32().default(0),
});

export const modelDynamicBatchingSchema = z.strictObject({
  preferred_batch_size: list(int32()),
  max_queue_delay_microseconds: uint64().default(0),
  preserve_ordering: bool(),
  priority_levels: uint64().default(0),
  default_priority_level: uint64().default(0),
  default_queue_policy: modelQueuePolicySchema.optional(),
  priority_queue_policy: map(uint64Key, modelQueuePolicySchema),
});

/** Triton's ModelSequenceBatching.Control: one signal the sequence batcher writes into a control input. */
export const sequenceControlSchema = z.strictObject({
  kind: z
    .enum(['CONTROL_SEQUENCE_START', 'CONTROL_SEQUENCE_READY', 'CONTROL_SEQUENCE_END', 'CONTROL_SEQUENCE_CORRID'])
    .default('CONTROL_SEQUENCE_START'),
  int32_false_true: list(int32()),
  fp32_false_true: list(z.number()),
  bool_false_true: list(z.boolean()),
  // TYPE_INVALID (0) is proto3's unset; it is the only way to leave it unset in pbtxt.
  data_type: z.enum(['TYPE_INVALID', ...CONFIG_DATA_TYPES]).default('TYPE_INVALID'),
});

export const sequenceInitialStateSchema = z.strictObject({
  data_type: dataTypeSchema,
  dims: list(int64()),
  // A oneof: presence matters (Triton: zero data whenever zero_data is set, whatever its value).
  zero_data: z.boolean().optional(),
  data_file: z.string().optional(),
  name: str(),
});

export const sequenceStateSchema = z.strictObject({
  input_name: tensorName(),
  output_name: tensorName(),
  data_type: dataTypeSchema,
  dims: list(dim()),
  initial_state: list(sequenceInitialStateSchema),
  use_same_buffer_for_input_output: bool(),
  use_growable_memory: bool(),
});

export const modelSequenceBatchingSchema = z.strictObject({
  direct: z
    .strictObject({ max_queue_delay_microseconds: uint64().default(0), minimum_slot_utilization: z.number().default(0) })
    .optional(),
  oldest: z
    .strictObject({
      max_candidate_sequences: int32().default(0),
      preferred_batch_size: list(int32()),
      max_queue_delay_microseconds: uint64().default(0),
      preserve_ordering: bool(),
    })
    .optional(),
  // 0 is "unset": Triton's NormalizeModelConfig makes it 1,000,000 (see sequenceIdleMicroseconds).
  max_sequence_idle_microseconds: uint64().default(0),
  control_input: list(z.strictObject({ name: tensorName(), control: list(sequenceControlSchema) })),
  state: list(sequenceStateSchema),
  iterative_sequence: bool(),
});

export const modelEnsemblingSchema = z.strictObject({
  step: list(
    z.strictObject({
      model_name: str(),
      model_version: int64().default(-1),
      input_map: map(z.string(), z.string()),
      output_map: map(z.string(), z.string()),
      // Reserved by Triton, but its GET .../config prints it, so a config echoed back has it.
      model_namespace: str(),
    }),
  ),
  max_inflight_responses: uint32().default(0),
});

// ---- parameters, warmup ----------------------------------------------------------

export const modelParameterSchema = z.strictObject({ string_value: str() });

export const modelWarmupInputSchema = z.strictObject({
  data_type: dataTypeSchema,
  dims: list(dim()),
  // A oneof: exactly one is set; presence matters, so no defaults.
  zero_data: z.boolean().optional(),
  random_data: z.boolean().optional(),
  input_data_file: z.string().optional(),
});

export const modelWarmupSchema = z.strictObject({
  name: str(),
  batch_size: uint32().default(0),
  inputs: map(z.string(), modelWarmupInputSchema),
  count: uint32().default(0),
});

// ---- the config -------------------------------------------------------------------

/** Fields in model_config.proto declaration order; zod keeps this order in its output. */
export const modelConfigShape = {
  name: str(),
  platform: str(),
  backend: str(),
  runtime: str(),
  version_policy: modelVersionPolicySchema.prefault({ latest: {} }),
  /** Absent means "not specified": auto-complete decides (see ParsedModelConfig). */
  max_batch_size: jsonInteger(range(0, 2 ** 31 - 1)).optional(),
  input: list(modelInputSchema),
  output: list(modelOutputSchema),
  batch_input: list(z.unknown()),
  batch_output: list(z.unknown()),
  optimization: modelOptimizationPolicySchema.optional(),
  dynamic_batching: modelDynamicBatchingSchema.optional(),
  sequence_batching: modelSequenceBatchingSchema.optional(),
  ensemble_scheduling: modelEnsemblingSchema.optional(),
  instance_group: list(modelInstanceGroupSchema),
  default_model_filename: str(),
  cc_model_filenames: map(z.string(), z.string()),
  metric_tags: map(z.string(), z.string()),
  parameters: map(z.string(), modelParameterSchema),
  model_warmup: list(modelWarmupSchema),
  model_transaction_policy: z.strictObject({ decoupled: bool() }).optional(),
  response_cache: z.strictObject({ enable: bool() }).optional(),
};

export const modelConfigObjectSchema = z.strictObject(modelConfigShape);

export type ModelTensorReshape = z.output<typeof modelTensorReshapeSchema>;
export type ModelInput = z.output<typeof modelInputSchema>;
export type ModelOutput = z.output<typeof modelOutputSchema>;
export type ModelVersionPolicy = z.output<typeof modelVersionPolicySchema>;
export type InstanceGroupKind = z.output<typeof instanceGroupKindSchema>;
export type ModelInstanceGroup = z.output<typeof modelInstanceGroupSchema>;
export type ModelOptimizationPolicy = z.output<typeof modelOptimizationPolicySchema>;
export type ModelQueuePolicy = z.output<typeof modelQueuePolicySchema>;
export type ModelDynamicBatching = z.output<typeof modelDynamicBatchingSchema>;
export type ModelSequenceBatching = z.output<typeof modelSequenceBatchingSchema>;
export type SequenceControl = z.output<typeof sequenceControlSchema>;
export type SequenceState = z.output<typeof sequenceStateSchema>;
export type ModelEnsembling = z.output<typeof modelEnsemblingSchema>;
export type ModelParameter = z.output<typeof modelParameterSchema>;
export type ModelWarmupInput = z.output<typeof modelWarmupInputSchema>;
export type ModelWarmup = z.output<typeof modelWarmupSchema>;

/**
 * A validated config as written (config.pbtxt or a JSON override): `max_batch_size` may be
 * absent, because "not specified" and "0" mean different things to auto-complete.
 */
export type ParsedModelConfig = z.output<typeof modelConfigObjectSchema>;

/** A complete config, after auto-complete or requireCompleteConfig: what the engine runs. */
export type ModelConfig = ParsedModelConfig & { max_batch_size: number };
