/**
 * Model configs as JSON for the load API's `config` override, made hostile: add_sub's valid
 * config (every section filled in, so every numeric field exists) with huge numbers written
 * into its numeric fields, with random edits, and with values nested hundreds of thousands
 * deep in any field.
 */
import fc from 'fast-check';
import { validConfigJson } from '../../../bench/hostile-config';

/** Numbers no config needs: int32/uint32 edges, 2^53, 5e7 priority levels, 1e5 threads, overflow, negatives. */
export const HUGE_NUMBERS = [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1, 2 ** 63, 1e308, 5e7, 1e5, -1, -(2 ** 31)];

/** add_sub's full valid config: shared with bench:hostile, whose config probes edit it too. */
export { validConfigJson };

type Json = Record<string, unknown>;

/** Each numeric field of validConfigJson(), as a function that writes `n` there. */
export const NUMERIC_FIELDS: Record<string, (c: Json, n: number) => void> = {
  max_batch_size: (c, n) => (c.max_batch_size = n),
  'version_policy.latest.num_versions': (c, n) => (c.version_policy = { latest: { num_versions: n } }),
  'version_policy.specific.versions': (c, n) => (c.version_policy = { specific: { versions: [n] } }),
  'input[0].dims[0]': (c, n) => (((c.input as Json[])[0]!.dims as number[])[0] = n),
  'input[0].dims (rank)': (c, n) => ((c.input as Json[])[0]!.dims = Array(Math.min(Math.max(n, 0), 100_000)).fill(1)),
  'output[1].dims[0]': (c, n) => (((c.output as Json[])[1]!.dims as number[])[0] = n),
  'dynamic_batching.preferred_batch_size[0]': (c, n) => (((c.dynamic_batching as Json).preferred_batch_size as number[])[0] = n),
  'dynamic_batching.max_queue_delay_microseconds': (c, n) => ((c.dynamic_batching as Json).max_queue_delay_microseconds = n),
  'dynamic_batching.priority_levels': (c, n) => ((c.dynamic_batching as Json).priority_levels = n),
  'dynamic_batching.default_priority_level': (c, n) => ((c.dynamic_batching as Json).default_priority_level = n),
  'dynamic_batching.default_queue_policy.max_queue_size': (c, n) => (((c.dynamic_batching as Json).default_queue_policy as Json).max_queue_size = n),
  'dynamic_batching.default_queue_policy.default_timeout_microseconds': (c, n) => (((c.dynamic_batching as Json).default_queue_policy as Json).default_timeout_microseconds = n),
  'dynamic_batching.priority_queue_policy (key)': (c, n) => ((c.dynamic_batching as Json).priority_queue_policy = { [String(n)]: { max_queue_size: 1 } }),
  'instance_group[0].count': (c, n) => ((c.instance_group as Json[])[0]!.count = n),
  'instance_group[0].gpus[0]': (c, n) => ((c.instance_group as Json[])[0] = { count: 1, kind: 'KIND_CPU', gpus: [n] }),
  'parameters.intra_op_thread_count': (c, n) => (((c.parameters as Json).intra_op_thread_count as Json).string_value = String(n)),
  'parameters.inter_op_thread_count': (c, n) => (((c.parameters as Json).inter_op_thread_count as Json).string_value = String(n)),
  'model_warmup[0].count': (c, n) => ((c.model_warmup as Json[])[0]!.count = n),
  'model_warmup[0].batch_size': (c, n) => ((c.model_warmup as Json[])[0]!.batch_size = n),
  'model_warmup[0].inputs.INPUT0.dims[0]': (c, n) => ((((c.model_warmup as Json[])[0]!.inputs as Json).INPUT0 as Json).dims = [n]),
  'model_warmup (entries)': (c, n) => (c.model_warmup = Array(Math.min(Math.max(n, 0), 100_000)).fill((c.model_warmup as Json[])[0])),
  'instance_group (entries)': (c, n) => (c.instance_group = Array(Math.min(Math.max(n, 0), 100_000)).fill({ count: 1, kind: 'KIND_CPU' })),
  max_inflight_responses: (c, n) => (c.max_inflight_responses = n),
};

/** One to three numeric fields and the huge numbers to write there (small to print: a counterexample shows this). */
export const hugeNumberEdits: fc.Arbitrary<Array<[string, number]>> = fc.array(fc.tuple(fc.constantFrom(...Object.keys(NUMERIC_FIELDS)), fc.constantFrom(...HUGE_NUMBERS)), { minLength: 1, maxLength: 3 });

/** validConfigJson() with `edits` applied. */
export function withHugeNumbers(edits: ReadonlyArray<[string, number]>): Json {
  const config = validConfigJson();
  for (const [field, n] of edits) NUMERIC_FIELDS[field]!(config, n);
  return config;
}

/** Where a deep value goes. */
const DEEP_PLACES = ['parameters.x.string_value', 'input[0].dims', 'dynamic_batching', 'model_warmup[0].inputs', 'unknown_field', 'instance_group[0]'] as const;

export interface DeepSpec {
  place: (typeof DEEP_PLACES)[number];
  depth: number;
  arrays: boolean;
}

export const deepSpec: fc.Arbitrary<DeepSpec> = fc.record({ place: fc.constantFrom(...DEEP_PLACES), depth: fc.integer({ min: 1_000, max: 300_000 }), arrays: fc.boolean() });

/**
 * validConfigJson() with a value nested `depth` arrays or objects deep at one place: as a
 * value (built without recursion) and as JSON text (built by string concatenation, since
 * JSON.stringify recurses).
 */
export function deepConfig({ place, depth, arrays }: DeepSpec): { value: Json; text: string } {
  const marker = '__DEEP__';
  const config = validConfigJson();
  const put = (value: unknown): void => {
    if (place === 'parameters.x.string_value') (config.parameters as Json).x = { string_value: value };
    else if (place === 'input[0].dims') (config.input as Json[])[0]!.dims = value;
    else if (place === 'dynamic_batching') config.dynamic_batching = value;
    else if (place === 'model_warmup[0].inputs') (config.model_warmup as Json[])[0]!.inputs = value;
    else if (place === 'instance_group[0]') (config.instance_group as unknown[])[0] = value;
    else config.unknown_field = value;
  };
  put(marker);
  const text = JSON.stringify(config).replace(`"${marker}"`, arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { a: value };
  put(value);
  return { value: config, text };
}
