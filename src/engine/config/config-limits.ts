/**
 * The bounds on every number a model config can carry that sizes an allocation or an amount
 * of work: instance counts, threads, queue levels, warmup runs and data, batch sizes, ranks,
 * delays, and the size and nesting of the config itself. A config (config.pbtxt or the load
 * API's `config` override) over a bound is refused with a ModelConfigError (400) that names
 * the field, the value and the limit, before anything is allocated or started from it:
 * proto-legal values such as instance_group.count 2^31-1 would otherwise grow the engine by
 * gigabytes, or spin a model thread for ever, on one request.
 *
 * The defaults are far above what a real deployment uses and far below what hurts. They are
 * process-wide (the config is validated in several places: loader, auto-complete, ensembles,
 * and one engine runs per process); `--model-config-limit NAME=N` (engine option
 * `modelConfigLimits`) raises or lowers one.
 */

import os from 'node:os';
import { InvalidOptionError } from '../../errors';
import type { ParsedModelConfig } from './model-config-schema';

export interface ModelConfigLimits {
  /** Bytes of config text: the override's JSON string, or config.pbtxt on disk. */
  config_bytes: number;
  /** Levels of nested objects/lists (JSON) or messages (pbtxt). */
  config_depth: number;
  /** Model instances (sessions + threads each): per instance_group count and in total. */
  instances: number;
  /** intra_op_thread_count / inter_op_thread_count parameters (threads per session). */
  threads: number;
  /** dynamic_batching.priority_levels (one queue pair per level is allocated). */
  priority_levels: number;
  /** max_queue_size of any queue policy. */
  max_queue_size: number;
  /** max_batch_size, preferred_batch_size values and warmup batch_size. */
  max_batch_size: number;
  /** Dimensions of a tensor (dims, reshape.shape, warmup dims). */
  dims_rank: number;
  /** Entries of input, output. */
  tensors: number;
  /** dynamic_batching.max_queue_delay_microseconds. */
  queue_delay_us: number;
  /** default_timeout_microseconds of any queue policy. */
  queue_timeout_us: number;
  /** Entries of model_warmup. */
  warmup_samples: number;
  /** model_warmup[i].count: executions per instance. */
  warmup_count: number;
  /** Bytes of warmup tensor data, all samples together (batch_size × elements × element size). */
  warmup_bytes: number;
  /** Bytes of one label file (label_filename), read whole into memory. */
  label_file_bytes: number;
  /** sequence_batching.oldest.max_candidate_sequences: sequence slots per instance. */
  sequence_candidates: number;
  /** sequence_batching.max_sequence_idle_microseconds: how long an idle sequence keeps its state. */
  sequence_idle_us: number;
  /** Bytes of one sequence's implicit state at its start (every state: elements × element size), and of an initial_state data_file. */
  state_bytes: number;
}

export type ModelConfigLimitName = keyof ModelConfigLimits;

const MIB = 1024 * 1024;

/** Each default, and why it is enough. */
export const DEFAULT_MODEL_CONFIG_LIMITS: Readonly<ModelConfigLimits> = Object.freeze({
  // Real configs are a few KB (a large ensemble some 100 KB); zod's parse of a config grows
  // with its size, and 1 MiB of numbers is already half a million list entries.
  config_bytes: MIB,
  // The deepest real path (optimization.cuda.graph_spec[].input[].value.dim) is under 10
  // levels; parsing, validating, cloning and printing configs recurse, and thousands of
  // levels overflow the stack.
  config_depth: 32,
  // Each instance is an onnxruntime session with its own thread and model copy; Triton
  // deployments use a handful per device.
  instances: 64,
  // Threads beyond a few per core only contend; at least 64 so small hosts keep headroom.
  threads: Math.max(64, os.availableParallelism() * 4),
  // Triton examples use 2-10 levels; each level is allocated up front.
  priority_levels: 1_000,
  // A cap, not an allocation, but a queue this deep holds its tensors in memory.
  max_queue_size: 1_000_000,
  // Batches of tens to a few thousand rows are what GPUs run; batch assembly and warmup
  // allocate rows × row size.
  max_batch_size: 65_536,
  // ONNX tensors in practice have at most 8 dims; numpy allows 64.
  dims_rank: 64,
  // Models with hundreds of inputs exist (KV caches); metadata and checks loop over them.
  tensors: 4_096,
  // A batcher's delay is micro- to milliseconds; 60 s keeps timers far from overflow.
  queue_delay_us: 60_000_000,
  // A day; Node timers overflow at 2^31 ms (24.8 days) and would fire at once.
  queue_timeout_us: 86_400_000_000,
  warmup_samples: 64,
  // Warmup is a few runs per instance; 2^32-1 runs never end.
  warmup_count: 1_000,
  // Warmup data is held in memory for the load; 64 MiB covers large images in big batches.
  warmup_bytes: 64 * MIB,
  // One line per class: a million long labels fit easily.
  label_file_bytes: 64 * MIB,
  // Slots are allocated per instance at load (a queue each), and every candidate may hold a
  // live sequence's state; Triton deployments use up to a few thousand.
  sequence_candidates: 65_536,
  // An abandoned sequence's state stays in memory this long; a day is far past any stream's
  // pause, and keeps the idle timer below Node's 2^31 ms overflow.
  sequence_idle_us: 86_400_000_000,
  // State is allocated for every live sequence and copied into every step; speech and
  // tracker states are kilobytes, a small LM's KV cache tens of megabytes.
  state_bytes: 64 * MIB,
});

export const MODEL_CONFIG_LIMIT_NAMES = Object.keys(DEFAULT_MODEL_CONFIG_LIMITS) as ModelConfigLimitName[];

let current: ModelConfigLimits = { ...DEFAULT_MODEL_CONFIG_LIMITS };

/** The limits in force (the defaults unless the engine was started with overrides). */
export function modelConfigLimits(): Readonly<ModelConfigLimits> {
  return current;
}

/** Sets the limits for the process: the defaults, with `overrides` on top. */
export function configureModelConfigLimits(overrides: Partial<Record<string, number>> = {}): void {
  const next: ModelConfigLimits = { ...DEFAULT_MODEL_CONFIG_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    next[checkLimitName(name)] = checkLimitValue(name, value);
  }
  current = next;
}

/** Parses `NAME=N` (the CLI's --model-config-limit) into a name and a value. */
export function parseModelConfigLimit(text: string): [ModelConfigLimitName, number] {
  const m = /^([a-z_]+)=(\d+)$/.exec(text.trim());
  if (!m) throw new InvalidOptionError(`--model-config-limit '${text}' must be NAME=N (names: ${MODEL_CONFIG_LIMIT_NAMES.join(', ')})`);
  return [checkLimitName(m[1]!), checkLimitValue(m[1]!, Number(m[2]))];
}

function checkLimitName(name: string): ModelConfigLimitName {
  if (!(MODEL_CONFIG_LIMIT_NAMES as string[]).includes(name)) {
    throw new InvalidOptionError(`unknown model config limit '${name}' (names: ${MODEL_CONFIG_LIMIT_NAMES.join(', ')})`);
  }
  return name as ModelConfigLimitName;
}

function checkLimitValue(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidOptionError(`model config limit '${name}' must be a positive integer, got ${value}`);
  }
  return value;
}

/** "exceeds the limit of 64 (--model-config-limit instances=N raises it)". */
export function overLimit(value: number | string, name: ModelConfigLimitName, limit = current[name]): string {
  return `${value} exceeds the limit of ${limit} (--model-config-limit ${name}=N raises it)`;
}

// ---- checks -----------------------------------------------------------------------

export interface LimitIssue {
  path: Array<string | number>;
  message: string;
}

/**
 * How deeply `value` nests objects and lists, counted without recursion (a value nested
 * deeper than the stack is what this guards against); stops counting past `limit`.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** Bytes one warmup element takes in memory: its size, or an element object for BYTES. */
const WARMUP_BYTES_ELEMENT = 64;
const ELEMENT_BYTES: Record<string, number> = {
  TYPE_BOOL: 1,
  TYPE_UINT8: 1,
  TYPE_INT8: 1,
  TYPE_UINT16: 2,
  TYPE_INT16: 2,
  TYPE_FP16: 2,
  TYPE_BF16: 2,
  TYPE_UINT32: 4,
  TYPE_INT32: 4,
  TYPE_FP32: 4,
  TYPE_UINT64: 8,
  TYPE_INT64: 8,
  TYPE_FP64: 8,
  TYPE_STRING: WARMUP_BYTES_ELEMENT,
};

/** Every field of a schema-valid config that is over its limit. */
export function limitIssues(config: ParsedModelConfig, limits: Readonly<ModelConfigLimits> = current): LimitIssue[] {
  const issues: LimitIssue[] = [];
  const check = (path: LimitIssue['path'], value: number, name: ModelConfigLimitName) => {
    if (value > limits[name]) issues.push({ path, message: overLimit(value, name, limits[name]) });
  };

  if (config.max_batch_size !== undefined) check(['max_batch_size'], config.max_batch_size, 'max_batch_size');
  for (const field of ['input', 'output'] as const) {
    const tensors = config[field];
    if (tensors.length > limits.tensors) {
      issues.push({ path: [field], message: `lists ${tensors.length} tensors, which ${overLimit(tensors.length, 'tensors', limits.tensors)}` });
    }
    tensors.slice(0, limits.tensors).forEach((t, i) => {
      check([field, i, 'dims'], t.dims.length, 'dims_rank');
      if (t.reshape) check([field, i, 'reshape', 'shape'], t.reshape.shape.length, 'dims_rank');
    });
  }

  let total = 0;
  config.instance_group.forEach((group, i) => {
    check(['instance_group', i, 'count'], group.count, 'instances');
    // Triton places `count` instances on each listed GPU; an unset count (0) becomes at least 1.
    total += Math.max(1, group.count) * Math.max(1, group.gpus.length);
  });
  if (total > limits.instances && issues.every((issue) => issue.path[0] !== 'instance_group')) {
    issues.push({ path: ['instance_group'], message: `asks for ${total} instances in total, which ${overLimit(total, 'instances', limits.instances)}` });
  }

  for (const key of ['intra_op_thread_count', 'inter_op_thread_count']) {
    const raw = config.parameters[key]?.string_value;
    // Malformed values are the loader's to report; only a number can be over a limit.
    if (raw !== undefined && /^\s*\d+\s*$/.test(raw)) check(['parameters', key, 'string_value'], Number(raw), 'threads');
  }

  const batching = config.dynamic_batching;
  if (batching) {
    check(['dynamic_batching', 'priority_levels'], batching.priority_levels, 'priority_levels');
    batching.preferred_batch_size.forEach((size, i) => check(['dynamic_batching', 'preferred_batch_size', i], size, 'max_batch_size'));
    check(['dynamic_batching', 'max_queue_delay_microseconds'], batching.max_queue_delay_microseconds, 'queue_delay_us');
    const policies: Array<[LimitIssue['path'], { max_queue_size: number; default_timeout_microseconds: number }]> = [];
    if (batching.default_queue_policy) policies.push([['dynamic_batching', 'default_queue_policy'], batching.default_queue_policy]);
    for (const [level, policy] of Object.entries(batching.priority_queue_policy)) {
      policies.push([['dynamic_batching', 'priority_queue_policy', level], policy]);
    }
    for (const [path, policy] of policies) {
      check([...path, 'max_queue_size'], policy.max_queue_size, 'max_queue_size');
      check([...path, 'default_timeout_microseconds'], policy.default_timeout_microseconds, 'queue_timeout_us');
    }
  }

  const sequence = config.sequence_batching;
  if (sequence) {
    const sb = ['sequence_batching'];
    if (sequence.oldest) {
      check([...sb, 'oldest', 'max_candidate_sequences'], sequence.oldest.max_candidate_sequences, 'sequence_candidates');
      check([...sb, 'oldest', 'max_queue_delay_microseconds'], sequence.oldest.max_queue_delay_microseconds, 'queue_delay_us');
      sequence.oldest.preferred_batch_size.forEach((size, i) => check([...sb, 'oldest', 'preferred_batch_size', i], size, 'max_batch_size'));
    }
    if (sequence.direct) check([...sb, 'direct', 'max_queue_delay_microseconds'], sequence.direct.max_queue_delay_microseconds, 'queue_delay_us');
    check([...sb, 'max_sequence_idle_microseconds'], sequence.max_sequence_idle_microseconds, 'sequence_idle_us');
    for (const field of ['control_input', 'state'] as const) {
      const n = sequence[field].length;
      if (n > limits.tensors) issues.push({ path: [...sb, field], message: `lists ${n} tensors, which ${overLimit(n, 'tensors', limits.tensors)}` });
    }
    let stateBytes = 0;
    sequence.state.slice(0, limits.tensors).forEach((state, i) => {
      check([...sb, 'state', i, 'dims'], state.dims.length, 'dims_rank');
      state.initial_state.forEach((init, j) => check([...sb, 'state', i, 'initial_state', j, 'dims'], init.dims.length, 'dims_rank'));
      // A variable dim is 1 at a sequence start (Triton); what a model grows it to is bounded at run time.
      const elements = state.dims.slice(0, limits.dims_rank).reduce((n, d) => n * Math.max(d, 1), 1);
      stateBytes += elements * (ELEMENT_BYTES[state.data_type] ?? WARMUP_BYTES_ELEMENT);
    });
    if (stateBytes > limits.state_bytes) {
      issues.push({
        path: [...sb, 'state'],
        message: `needs ${stateBytes} bytes of state per sequence (elements × element size, all states), which ${overLimit(stateBytes, 'state_bytes', limits.state_bytes)}`,
      });
    }
  }

  const warmups = config.model_warmup;
  if (warmups.length > limits.warmup_samples) {
    issues.push({
      path: ['model_warmup'],
      message: `lists ${warmups.length} samples, which ${overLimit(warmups.length, 'warmup_samples', limits.warmup_samples)}`,
    });
  }
  let warmupBytes = 0;
  warmups.slice(0, limits.warmup_samples).forEach((warmup, i) => {
    check(['model_warmup', i, 'count'], warmup.count, 'warmup_count');
    check(['model_warmup', i, 'batch_size'], warmup.batch_size, 'max_batch_size');
    let rowBytes = 0;
    for (const [name, input] of Object.entries(warmup.inputs)) {
      check(['model_warmup', i, 'inputs', name, 'dims'], input.dims.length, 'dims_rank');
      // Variable dims are refused when the samples are prepared; they size nothing here.
      const elements = input.dims.reduce((n, d) => n * Math.max(d, 1), 1);
      rowBytes += elements * (ELEMENT_BYTES[input.data_type] ?? WARMUP_BYTES_ELEMENT);
    }
    warmupBytes += Math.max(1, warmup.batch_size) * rowBytes;
  });
  if (warmupBytes > limits.warmup_bytes) {
    issues.push({
      path: ['model_warmup'],
      message: `needs ${warmupBytes} bytes of warmup data (batch_size × elements × element size, all samples), which ${overLimit(warmupBytes, 'warmup_bytes', limits.warmup_bytes)}`,
    });
  }
  return issues;
}
