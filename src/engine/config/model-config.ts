/**
 * Model configuration: config.pbtxt text or a JSON override → one validated object with
 * Triton's field names, and back to the JSON that GET /v2/models/M/config returns.
 *
 * Both inputs go through the same zod schema (`model-config-schema.ts`, where the
 * defaults live) and the same cross-field rules (`config-semantics.ts`), and every error is
 * a ModelConfigError that names the model and the field:
 *   model 'add_sub': config field 'input[1].data_type': unknown value TYPE_FLOAT32
 */

import type { z } from 'zod';
import { ModelConfigError, UnsupportedError } from '../../errors';
import { refusedFields } from './config-field-support';
import { semanticIssues } from './config-semantics';
import { limitIssues, modelConfigLimits, nestingDepth, overLimit } from './config-limits';
import {
  type ModelConfig,
  type ModelDynamicBatching,
  type ModelQueuePolicy,
  type ParsedModelConfig,
  modelConfigObjectSchema,
  modelConfigShape,
  modelQueuePolicySchema,
} from './model-config-schema';
import { parsePbtxt } from './parse-pbtxt';
import { type ConfigPath, pbtxtToJson } from './pbtxt-to-json';
import { configKindAt, formatConfigPath, modelConfigKind } from './config-descriptor';

export * from './model-config-schema';

const modelConfigSchema = modelConfigObjectSchema.superRefine((config, ctx) => {
  // zod refines a config with field errors too (unknown keys, ranges): such a config is refused
  // anyway, and may lack defaults that the limit checks read.
  const schemaValid = ctx.issues.length === 0;
  for (const issue of semanticIssues(config)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  if (!schemaValid) return;
  for (const issue of limitIssues(config)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
});

/** Parses config.pbtxt text and validates it. `max_batch_size` stays absent if unspecified. */
export function parseModelConfig(text: string, modelName: string): ParsedModelConfig {
  const bytes = Buffer.byteLength(text);
  if (bytes > modelConfigLimits().config_bytes) {
    throw new ModelConfigError(`model '${modelName}': config.pbtxt is ${bytes} bytes, which ${overLimit(bytes, 'config_bytes')}`);
  }
  let tree;
  try {
    tree = parsePbtxt(text, { maxDepth: modelConfigLimits().config_depth });
  } catch (err) {
    if (err instanceof ModelConfigError) {
      throw new ModelConfigError(`model '${modelName}': config.pbtxt ${err.message}`, { cause: err });
    }
    // The recursive-descent parser ran out of stack: nesting that no real config has
    // (test/faults fuzzes this). A config error, not a crash of the load.
    if (err instanceof RangeError) {
      throw new ModelConfigError(`model '${modelName}': config.pbtxt is nested too deeply`, { cause: err });
    }
    throw err;
  }
  const json = pbtxtToJson(tree, modelConfigKind(), (path, detail) => {
    throw new ModelConfigError(`model '${modelName}': ${fieldProblem(path, detail)}`);
  });
  return validateModelConfig(json, modelName);
}

/**
 * Validates a config given as JSON (Triton's JSON form: maps as objects, 64-bit integers as
 * numbers or digit strings) — e.g. the `config` parameter of POST .../load.
 */
export function validateModelConfig(value: unknown, modelName: string): ParsedModelConfig {
  // Before zod: validating, cloning and printing a config all recurse, and a JSON override
  // (JSON.parse does not recurse) can nest deeper than the stack.
  const maxDepth = modelConfigLimits().config_depth;
  if (nestingDepth(value, maxDepth) > maxDepth) {
    throw new ModelConfigError(`model '${modelName}': config nesting depth ${overLimit(`${maxDepth + 1}+`, 'config_depth')}`);
  }
  const result = modelConfigSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    const problems = result.error.issues.flatMap(issueProblems);
    throw new ModelConfigError(`model '${modelName}': ${problems.join('; ')}`);
  }
  const config = result.data;
  if (config.name === '') config.name = modelName;
  else if (config.name !== modelName) {
    const problem = fieldProblem(['name'], `'${config.name}' does not match the model name '${modelName}'`);
    throw new ModelConfigError(`model '${modelName}': ${problem}`);
  }
  return config;
}

/**
 * The JSON Triton returns for GET /v2/models/M/config: field names as in the proto, every
 * scalar printed even when default, unset messages left out, maps as objects. Triton turns
 * protobuf's string-encoded 64-bit integers back into numbers for dims, reshape, versions,
 * queue delays/timeouts, priority levels, step versions and warmup dims, which are all the
 * 64-bit fields scoreline models, so every integer here is a JSON number. Map keys of
 * priority_queue_policy stay strings (JSON keys).
 */
export function modelConfigToJson(config: ParsedModelConfig | ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(modelConfigShape) as Array<keyof ParsedModelConfig>) {
    if (key === 'max_batch_size') out[key] = config.max_batch_size ?? 0;
    else if (config[key] !== undefined) out[key] = structuredClone(config[key]);
  }
  return out;
}

/**
 * Config fields that parse but that scoreline does not implement (the refused rows of
 * config-field-support.ts), where this config sets them: `instance_group[0].passive`.
 */
export function unsupportedFeatures(config: ParsedModelConfig): string[] {
  return refusedFields(config).map((f) => f.field);
}

/** The engine refuses to load a model that sets a refused field instead of ignoring it. */
export function assertSupportedConfig(config: ParsedModelConfig, modelName: string): void {
  const found = refusedFields(config);
  if (found.length === 0) return;
  const problems = found.map((f) => `config field '${f.field}' is not supported by scoreline: ${f.reason}`);
  throw new UnsupportedError(`model '${modelName}': ${problems.join('; ')}; remove ${found.length > 1 ? 'them' : 'it'}`);
}

const DEFAULT_QUEUE_POLICY: ModelQueuePolicy = modelQueuePolicySchema.parse({});

/**
 * The queue policy that applies to requests at `priorityLevel`: the level's own policy,
 * else `default_queue_policy`, else the proto defaults (REJECT, no timeout, no limit).
 */
export function queuePolicyFor(batching: ModelDynamicBatching, priorityLevel?: number): ModelQueuePolicy {
  const own = priorityLevel === undefined ? undefined : batching.priority_queue_policy[String(priorityLevel)];
  return { ...(own ?? batching.default_queue_policy ?? DEFAULT_QUEUE_POLICY) };
}

// ---- messages ---------------------------------------------------------------------

function fieldProblem(path: ConfigPath | ReadonlyArray<PropertyKey>, detail: string): string {
  if (path.length === 0) return `config: ${detail}`;
  return `config field '${formatConfigPath(path)}': ${detail}`;
}

const EXPECTED: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
};

function issueProblems(issue: z.core.$ZodIssue): string[] {
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => fieldProblem([...issue.path, key], 'unknown field'));
    case 'invalid_value':
      if (issue.input === undefined) return [fieldProblem(issue.path, 'is required')];
      return [fieldProblem(issue.path, `unknown value ${displayName(issue.input)}`)];
    case 'invalid_type': {
      if (issue.input === undefined) return [fieldProblem(issue.path, 'is required')];
      // An integer field fed a non-numeric string reports "number"; say what the field wants.
      const integer = issue.expected === 'number' && configKindAt(issue.path)?.kind === 'integer';
      const expected = integer ? EXPECTED.int : (EXPECTED[issue.expected] ?? issue.expected);
      return [fieldProblem(issue.path, `expected ${expected}, found ${displayValue(issue.input)}`)];
    }
    case 'invalid_key':
      return [fieldProblem(issue.path, issue.issues[0]?.message ?? issue.message)];
    default:
      return [fieldProblem(issue.path, issue.message)];
  }
}

/** Enum values read best bare, as written in config.pbtxt: unknown value TYPE_FLOAT32. */
function displayName(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value) ? value : displayValue(value);
}

function displayValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
