/**
 * What scoreline does with every field of Triton's ModelConfig (proto/model_config.proto,
 * walked recursively), in one table: nothing is parsed and then silently dropped.
 *
 *  - honoured: the engine does what Triton does with it (or shows it, for names and metadata);
 *  - refused: a config that sets it (a value other than the proto default) fails to load with
 *    an error naming the field and the reason (refusedFields / assertSupportedConfig);
 *  - ignored: accepted and without effect, on purpose; the reason says why that is safe
 *    (usually: Triton's onnxruntime backend or Triton's default server options ignore it too,
 *    or it only tunes GPU or TensorRT speed).
 *
 * Paths are proto field names joined by dots; repeated fields and maps add no segment
 * (`instance_group.rate_limiter`, `dynamic_batching.priority_queue_policy.timeout_action`).
 * test/engine/config/config-field-support.test.ts checks that every proto field has an entry,
 * that every refused field is refused, and that docs/model-config-fields.md is this table.
 */

import type { ParsedModelConfig } from './model-config-schema';

export type FieldSupport = 'honoured' | 'refused' | 'ignored';

export interface FieldSupportEntry {
  support: FieldSupport;
  /** Why: required for refused (it is the load error's reason) and ignored fields. */
  reason?: string;
  /** Refused when present at all, even with every field at its default (a scheduling choice). */
  presence?: boolean;
}

/** Fields the schema accepts that proto/model_config.proto lacks (it reserves their numbers). */
export const SCHEMA_ONLY_FIELDS = [] as const;

const honoured = (reason?: string): FieldSupportEntry => ({ support: 'honoured', ...(reason ? { reason } : {}) });
const refused = (reason: string, options: { presence?: boolean } = {}): FieldSupportEntry => ({ support: 'refused', reason, ...options });
const ignored = (reason: string): FieldSupportEntry => ({ support: 'ignored', reason });

const SHAPE_TENSOR = refused('shape tensors are a TensorRT feature (Triton refuses them for other platforms too)');
const NON_LINEAR_IO = refused('non-linear I/O formats are a TensorRT feature');
const BATCH_INPUT = refused('batch inputs (ragged batching) are not implemented');
const BATCH_OUTPUT = refused('batch outputs (ragged batching) are not implemented');
const CUDA_OPTIONS = ignored(
  'CUDA graph and stream options of Triton\'s TensorRT backend; Triton\'s onnxruntime backend does not read them, and scoreline runs the CUDA provider with its defaults',
);
const ACCELERATOR = ignored(
  'onnxruntime execution accelerators (TensorRT, OpenVINO) change speed, not results; scoreline runs the plain CPU or CUDA provider',
);
const RATE_LIMITER = ignored(
  "Triton applies rate limiter resources and priorities only with --rate-limit=execution_count; with its default --rate-limit=off it ignores them, as scoreline (which has no rate limiter) does",
);
const SECONDARY_DEVICE = ignored('secondary devices (NVDLA cores) are read only by Triton\'s TensorRT backend');
const PINNED_MEMORY = ignored(
  'pinned host buffers only speed up copies to and from a GPU; onnxruntime-node copies through its own buffers (shown enabled when unset, as Triton fills it)',
);

export const CONFIG_FIELD_SUPPORT: Readonly<Record<string, FieldSupportEntry>> = {
  name: honoured(),
  platform: honoured('onnxruntime_onnx and ensemble; any other platform fails the load'),
  backend: honoured('onnxruntime; any other backend fails the load'),
  runtime: refused('custom backend runtimes are not supported (scoreline runs its built-in onnxruntime)'),
  version_policy: honoured(),
  'version_policy.latest': honoured(),
  'version_policy.latest.num_versions': honoured(),
  'version_policy.all': honoured(),
  'version_policy.specific': honoured(),
  'version_policy.specific.versions': honoured(),
  max_batch_size: honoured(),

  input: honoured(),
  'input.name': honoured(),
  'input.data_type': honoured(),
  'input.format': ignored(
    'a hint for clients about image layout; Triton validates it (3 dims) and its onnxruntime backend does not read it; scoreline validates it the same way',
  ),
  'input.dims': honoured(),
  'input.reshape': honoured(),
  'input.reshape.shape': honoured(),
  'input.is_shape_tensor': SHAPE_TENSOR,
  'input.allow_ragged_batch': refused('ragged batching needs batch_input, which is not implemented'),
  'input.optional': honoured(),
  'input.is_non_linear_format_io': NON_LINEAR_IO,

  output: honoured(),
  'output.name': honoured(),
  'output.data_type': honoured(),
  'output.dims': honoured(),
  'output.reshape': honoured(),
  'output.reshape.shape': honoured(),
  'output.label_filename': honoured(),
  'output.is_shape_tensor': SHAPE_TENSOR,
  'output.is_non_linear_format_io': NON_LINEAR_IO,

  batch_input: BATCH_INPUT,
  'batch_input.kind': BATCH_INPUT,
  'batch_input.target_name': BATCH_INPUT,
  'batch_input.data_type': BATCH_INPUT,
  'batch_input.source_input': BATCH_INPUT,
  batch_output: BATCH_OUTPUT,
  'batch_output.target_name': BATCH_OUTPUT,
  'batch_output.kind': BATCH_OUTPUT,
  'batch_output.source_input': BATCH_OUTPUT,

  optimization: honoured('a container: see its fields'),
  'optimization.graph': ignored('see optimization.graph.level'),
  'optimization.graph.level': ignored(
    "scoreline always runs onnxruntime's full graph optimizations (what Triton's default level 0 selects); other levels change speed, not results",
  ),
  'optimization.priority': ignored("a GPU stream priority hint that Triton's onnxruntime backend does not read"),
  'optimization.cuda': CUDA_OPTIONS,
  'optimization.cuda.graphs': CUDA_OPTIONS,
  'optimization.cuda.busy_wait_events': CUDA_OPTIONS,
  'optimization.cuda.graph_spec': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.batch_size': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.input': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.input.dim': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.graph_lower_bound': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.graph_lower_bound.batch_size': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.graph_lower_bound.input': CUDA_OPTIONS,
  'optimization.cuda.graph_spec.graph_lower_bound.input.dim': CUDA_OPTIONS,
  'optimization.cuda.output_copy_stream': CUDA_OPTIONS,
  'optimization.execution_accelerators': ACCELERATOR,
  'optimization.execution_accelerators.gpu_execution_accelerator': ACCELERATOR,
  'optimization.execution_accelerators.gpu_execution_accelerator.name': ACCELERATOR,
  'optimization.execution_accelerators.gpu_execution_accelerator.parameters': ACCELERATOR,
  'optimization.execution_accelerators.cpu_execution_accelerator': ACCELERATOR,
  'optimization.execution_accelerators.cpu_execution_accelerator.name': ACCELERATOR,
  'optimization.execution_accelerators.cpu_execution_accelerator.parameters': ACCELERATOR,
  'optimization.input_pinned_memory': PINNED_MEMORY,
  'optimization.input_pinned_memory.enable': PINNED_MEMORY,
  'optimization.output_pinned_memory': PINNED_MEMORY,
  'optimization.output_pinned_memory.enable': PINNED_MEMORY,
  'optimization.gather_kernel_buffer_threshold': ignored('tunes a GPU gather kernel of Triton\'s TensorRT backend'),
  'optimization.eager_batching': ignored(
    'scoreline already hands the next ready batch to a busy instance ahead of time (see the Dynamic batcher in README.md)',
  ),

  dynamic_batching: honoured(),
  'dynamic_batching.preferred_batch_size': honoured(),
  'dynamic_batching.max_queue_delay_microseconds': honoured(),
  'dynamic_batching.preserve_ordering': honoured(),
  'dynamic_batching.priority_levels': honoured(),
  'dynamic_batching.default_priority_level': honoured(),
  'dynamic_batching.default_queue_policy': honoured(),
  'dynamic_batching.default_queue_policy.timeout_action': honoured(),
  'dynamic_batching.default_queue_policy.default_timeout_microseconds': honoured(),
  'dynamic_batching.default_queue_policy.allow_timeout_override': honoured(),
  'dynamic_batching.default_queue_policy.max_queue_size': honoured(),
  'dynamic_batching.priority_queue_policy': honoured(),
  'dynamic_batching.priority_queue_policy.timeout_action': honoured(),
  'dynamic_batching.priority_queue_policy.default_timeout_microseconds': honoured(),
  'dynamic_batching.priority_queue_policy.allow_timeout_override': honoured(),
  'dynamic_batching.priority_queue_policy.max_queue_size': honoured(),

  sequence_batching: honoured('stateful models: see "Stateful models" in README.md'),
  'sequence_batching.direct': honoured('the default strategy: each sequence keeps one batch slot of one instance for its lifetime'),
  'sequence_batching.direct.max_queue_delay_microseconds': honoured('waited only while minimum_slot_utilization is not met, as in Triton'),
  'sequence_batching.direct.minimum_slot_utilization': honoured(),
  'sequence_batching.oldest': honoured(),
  'sequence_batching.oldest.max_candidate_sequences': honoured('candidate sequences per instance; 0 means max(1, max_batch_size), as in Triton'),
  'sequence_batching.oldest.preferred_batch_size': honoured('filled with [max_batch_size] when empty, as Triton fills it'),
  'sequence_batching.oldest.max_queue_delay_microseconds': honoured(),
  'sequence_batching.oldest.preserve_ordering': ignored(
    'one request of a sequence runs at a time, in arrival order, so each sequence\'s responses are always in order; scoreline does not order responses across sequences',
  ),
  'sequence_batching.max_sequence_idle_microseconds': honoured('0 means 1,000,000, as Triton fills it'),
  'sequence_batching.control_input': honoured(),
  'sequence_batching.control_input.name': honoured(),
  'sequence_batching.control_input.control': honoured(),
  'sequence_batching.control_input.control.kind': honoured('START, END, READY (always true: scoreline runs no padding rows) and CORRID'),
  'sequence_batching.control_input.control.int32_false_true': honoured(),
  'sequence_batching.control_input.control.fp32_false_true': honoured(),
  'sequence_batching.control_input.control.bool_false_true': honoured(),
  'sequence_batching.control_input.control.data_type': honoured('CORRID only: TYPE_UINT64, TYPE_INT64, TYPE_UINT32, TYPE_INT32 (low 32 bits) or TYPE_STRING'),
  'sequence_batching.state': honoured('implicit state, kept by the engine per sequence'),
  'sequence_batching.state.input_name': honoured(),
  'sequence_batching.state.output_name': honoured(),
  'sequence_batching.state.data_type': honoured(),
  'sequence_batching.state.dims': honoured('-1 is 1 at a sequence start, as in Triton; with max_batch_size > 0 every dim must be fixed'),
  'sequence_batching.state.initial_state': honoured('none: zeros'),
  'sequence_batching.state.initial_state.data_type': honoured(),
  'sequence_batching.state.initial_state.dims': honoured(),
  'sequence_batching.state.initial_state.zero_data': honoured(),
  'sequence_batching.state.initial_state.data_file': honoured("read from the model's initial_state/ folder at load time"),
  'sequence_batching.state.initial_state.name': honoured(),
  'sequence_batching.state.use_same_buffer_for_input_output': ignored(
    'a memory option of Triton\'s state buffers; onnxruntime-node returns each output in a new buffer either way',
  ),
  'sequence_batching.state.use_growable_memory': refused('growable state buffers are CUDA memory in Triton (KIND_GPU only); not implemented'),
  'sequence_batching.iterative_sequence': refused('iterative sequences (decoupled generation) are not implemented'),

  ensemble_scheduling: honoured(),
  'ensemble_scheduling.step': honoured(),
  'ensemble_scheduling.step.model_name': honoured(),
  'ensemble_scheduling.step.model_version': honoured(),
  'ensemble_scheduling.step.input_map': honoured(),
  'ensemble_scheduling.step.output_map': honoured(),
  'ensemble_scheduling.step.model_namespace': refused("model namespaces (Triton's --model-namespacing) do not exist in scoreline"),
  'ensemble_scheduling.max_inflight_responses': ignored(
    'bounds the responses in flight from decoupled steps; scoreline refuses decoupled models, so each step answers once per request',
  ),

  instance_group: honoured('normalized as Triton does (see instance-groups.ts); GET .../config shows the groups that run'),
  'instance_group.name': honoured('default "<model>_<index>" (the model name for the group Triton adds)'),
  'instance_group.kind': honoured('KIND_CPU, KIND_GPU, KIND_AUTO; KIND_MODEL fails the load'),
  'instance_group.count': honoured(),
  'instance_group.rate_limiter': RATE_LIMITER,
  'instance_group.rate_limiter.resources': RATE_LIMITER,
  'instance_group.rate_limiter.resources.name': RATE_LIMITER,
  'instance_group.rate_limiter.resources.global': RATE_LIMITER,
  'instance_group.rate_limiter.resources.count': RATE_LIMITER,
  'instance_group.rate_limiter.priority': RATE_LIMITER,
  'instance_group.gpus': honoured(),
  'instance_group.secondary_devices': SECONDARY_DEVICE,
  'instance_group.secondary_devices.kind': SECONDARY_DEVICE,
  'instance_group.secondary_devices.device_id': SECONDARY_DEVICE,
  'instance_group.profile': refused('optimization profiles are a TensorRT feature (Triton refuses them for other platforms too)'),
  'instance_group.passive': refused('passive instances (loaded but never scheduled) are not implemented'),
  'instance_group.host_policy': ignored(
    "host policies (Triton's --host-policy: NUMA binding, pinned memory pools) do not exist in scoreline; the name only selects one",
  ),

  default_model_filename: honoured('default "model.onnx", shown in GET .../config as Triton fills it'),
  cc_model_filenames: refused('per-GPU model files need the GPU\'s compute capability, which scoreline does not read'),
  metric_tags: refused("labels on the model's metrics are not implemented"),
  parameters: honoured('intra_op_thread_count and inter_op_thread_count; Triton\'s onnxruntime backend ignores keys it does not know, and so does scoreline'),
  'parameters.string_value': honoured(),

  model_warmup: honoured(),
  'model_warmup.name': honoured(),
  'model_warmup.batch_size': honoured(),
  'model_warmup.inputs': honoured(),
  'model_warmup.inputs.data_type': honoured(),
  'model_warmup.inputs.dims': honoured(),
  'model_warmup.inputs.zero_data': honoured(),
  'model_warmup.inputs.random_data': honoured(),
  'model_warmup.inputs.input_data_file': honoured(),
  'model_warmup.count': honoured(),

  model_transaction_policy: honoured('a container: see its field'),
  'model_transaction_policy.decoupled': refused('decoupled models (several responses per request) are not implemented'),

  response_cache: honoured(),
  'response_cache.enable': honoured(),
};

/** The refused paths that no refused ancestor covers: a config is checked against these. */
function topRefusedPaths(): string[] {
  const paths = Object.keys(CONFIG_FIELD_SUPPORT).filter((p) => CONFIG_FIELD_SUPPORT[p]!.support === 'refused');
  return paths.filter((p) => !paths.some((other) => p.startsWith(`${other}.`)));
}

function isSet(value: unknown, presence: boolean): boolean {
  if (value === undefined) return false;
  if (presence) return true;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return value !== '' && value !== 0 && value !== false;
}

/** Every concrete place (`instance_group[1].passive`) where a config sets a refused field. */
export function refusedFields(config: ParsedModelConfig): Array<{ field: string; reason: string }> {
  const found: Array<{ field: string; reason: string }> = [];
  for (const path of topRefusedPaths()) {
    const entry = CONFIG_FIELD_SUPPORT[path]!;
    const visit = (value: unknown, segments: string[], where: string): void => {
      if (segments.length === 0) {
        if (isSet(value, entry.presence === true)) found.push({ field: where, reason: entry.reason! });
        return;
      }
      if (Array.isArray(value)) {
        value.forEach((element, i) => visit(element, segments, `${where}[${i}]`));
        return;
      }
      if (typeof value !== 'object' || value === null) return;
      const [head, ...rest] = segments as [string, ...string[]];
      visit((value as Record<string, unknown>)[head], rest, where === '' ? head : `${where}.${head}`);
    };
    visit(config, path.split('.'), '');
  }
  return found;
}

// ---- docs/model-config-fields.md ----------------------------------------------------

export function fieldSupportCounts(): Record<FieldSupport, number> {
  const counts: Record<FieldSupport, number> = { honoured: 0, refused: 0, ignored: 0 };
  for (const entry of Object.values(CONFIG_FIELD_SUPPORT)) counts[entry.support] += 1;
  return counts;
}

/** The text of docs/model-config-fields.md (a test keeps the file equal to it). */
export function fieldSupportMarkdown(): string {
  const counts = fieldSupportCounts();
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = Object.entries(CONFIG_FIELD_SUPPORT).map(
    ([path, entry]) => `| \`${path}\` | ${entry.support} | ${escape(entry.reason ?? '')} |`,
  );
  return [
    '# Model config fields',
    '',
    '<!-- Generated from src/engine/config/config-field-support.ts; test/engine/config/config-field-support.test.ts',
    '     fails when this file differs (UPDATE_FIELD_DOC=1 npx jest test/engine/config/config-field-support.test.ts rewrites it). -->',
    '',
    "What scoreline does with each field of Triton's `ModelConfig` (proto/model_config.proto, every",
    'message walked recursively; repeated fields and maps add no path segment):',
    '',
    '- **honoured**: the engine does what Triton does with it;',
    '- **refused**: a config that sets it (to anything but the proto default) fails to load with',
    "  `model 'm': config field 'instance_group[0].passive' is not supported by scoreline: <reason>; remove it`;",
    '- **ignored**: accepted on purpose and without effect, for the reason given.',
    '',
    `${Object.keys(CONFIG_FIELD_SUPPORT).length} fields: ${counts.honoured} honoured, ${counts.refused} refused, ${counts.ignored} ignored.`,
    '',
    '| field | support | reason |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
