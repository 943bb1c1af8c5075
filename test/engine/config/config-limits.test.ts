/**
 * The model config limits (src/engine/config/config-limits.ts), without servers: each bound
 * refuses a config through both inputs (JSON override and config.pbtxt) with a message that
 * names the field, the value and the limit; configs within the bounds still validate; the
 * nesting checks never recurse (a config deeper than the stack is a config error, not a crash).
 */
import { ModelConfigError, InvalidOptionError } from '../../../src/errors';
import {
  DEFAULT_MODEL_CONFIG_LIMITS,
  MODEL_CONFIG_LIMIT_NAMES,
  configureModelConfigLimits,
  modelConfigLimits,
  nestingDepth,
  parseModelConfigLimit,
} from '../../../src/engine/config/config-limits';
import { parseConfigOverride } from '../../../src/engine/config/config-override';
import { modelConfigToJson, parseModelConfig, validateModelConfig } from '../../../src/engine/config/model-config';
import { parsePbtxt } from '../../../src/engine/config/parse-pbtxt';
import { parseEngineArgs } from '../../../src/cli/engine-command';
import { resolveEngineOptions } from '../../../src/engine/engine-options';
import { errorOf } from '../../helpers/error-of';

afterEach(() => configureModelConfigLimits());

const io = {
  max_batch_size: 4,
  input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [8] }],
  output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4] }],
};

function refusal(value: unknown): string {
  const error = errorOf(() => validateModelConfig(value, 'm'));
  expect(error).toBeInstanceOf(ModelConfigError);
  return error.message;
}

describe('the limits', () => {
  it('has a default for every name, and the engine option can change one and reset them', () => {
    expect(MODEL_CONFIG_LIMIT_NAMES.sort()).toEqual(Object.keys(DEFAULT_MODEL_CONFIG_LIMITS).sort());
    for (const name of MODEL_CONFIG_LIMIT_NAMES) expect(Number.isSafeInteger(DEFAULT_MODEL_CONFIG_LIMITS[name])).toBe(true);
    configureModelConfigLimits({ instances: 128 });
    expect(modelConfigLimits().instances).toBe(128);
    expect(modelConfigLimits().priority_levels).toBe(DEFAULT_MODEL_CONFIG_LIMITS.priority_levels);
    configureModelConfigLimits();
    expect(modelConfigLimits().instances).toBe(64);
  });

  it('parses NAME=N and refuses unknown names and non-positive values', () => {
    expect(parseModelConfigLimit('instances=128')).toEqual(['instances', 128]);
    expect(errorOf(() => parseModelConfigLimit('instances'))).toBeInstanceOf(InvalidOptionError);
    expect(errorOf(() => parseModelConfigLimit('bogus=1')).message).toMatch(/unknown model config limit 'bogus' \(names: config_bytes, /);
    expect(errorOf(() => parseModelConfigLimit('instances=0')).message).toBe("model config limit 'instances' must be a positive integer, got 0");
    expect(errorOf(() => configureModelConfigLimits({ threads: 1.5 }))).toBeInstanceOf(InvalidOptionError);
  });
});

describe('the engine option', () => {
  it('takes --model-config-limit NAME=N (repeatable) and refuses unknown names', () => {
    const args = parseEngineArgs(['--model-repository', 'r', '--model-config-limit', 'instances=128', '--model-config-limit', 'warmup_count=5']);
    expect(args !== 'help' && args.modelConfigLimits).toEqual({ instances: 128, warmup_count: 5 });
    expect(resolveEngineOptions({ modelRepository: 'r' }).modelConfigLimits).toEqual({});
    expect(() => parseEngineArgs(['--model-repository', 'r', '--model-config-limit', 'nope=1'])).toThrow(/unknown model config limit 'nope'/);
    expect(() => resolveEngineOptions({ modelRepository: 'r', modelConfigLimits: { nope: 1 } as never })).toThrow(InvalidOptionError);
  });
});

describe('a config over a limit', () => {
  const raise = (name: string) => `(--model-config-limit ${name}=N raises it)`;
  it.each<[string, Record<string, unknown>, string]>([
    [
      'an instance count',
      { instance_group: [{ kind: 'KIND_CPU', count: 2 ** 31 - 1 }] },
      `config field 'instance_group[0].count': 2147483647 exceeds the limit of 64 ${raise('instances')}`,
    ],
    [
      'instances in total (count × gpus, over groups)',
      { instance_group: [{ kind: 'KIND_GPU', count: 40, gpus: [0, 1] }] },
      `config field 'instance_group': asks for 80 instances in total, which 80 exceeds the limit of 64 ${raise('instances')}`,
    ],
    [
      'instances in total from groups without a count (each gets at least one)',
      { instance_group: Array.from({ length: 65 }, () => ({ kind: 'KIND_CPU' })) },
      `config field 'instance_group': asks for 65 instances in total, which 65 exceeds the limit of 64 ${raise('instances')}`,
    ],
    [
      'priority_levels',
      { ...io, dynamic_batching: { priority_levels: 50_000_000, default_priority_level: 1 } },
      `config field 'dynamic_batching.priority_levels': 50000000 exceeds the limit of 1000 ${raise('priority_levels')}`,
    ],
    [
      'a thread count',
      { parameters: { intra_op_thread_count: { string_value: '100000' } } },
      `config field 'parameters["intra_op_thread_count"].string_value': 100000 exceeds the limit of ${DEFAULT_MODEL_CONFIG_LIMITS.threads} ${raise('threads')}`,
    ],
    [
      'a warmup count',
      { ...io, model_warmup: [{ name: 'w', batch_size: 1, count: 2 ** 32 - 1, inputs: { INPUT0: { data_type: 'TYPE_FP32', dims: [8], zero_data: true } } }] },
      `config field 'model_warmup[0].count': 4294967295 exceeds the limit of 1000 ${raise('warmup_count')}`,
    ],
    [
      'warmup data (batch_size × elements × element size)',
      { ...io, model_warmup: [{ name: 'w', batch_size: 4, inputs: { INPUT0: { data_type: 'TYPE_FP32', dims: [2 ** 24], random_data: true } } }] },
      `config field 'model_warmup': needs 268435456 bytes of warmup data (batch_size × elements × element size, all samples), which 268435456 exceeds the limit of 67108864 ${raise('warmup_bytes')}`,
    ],
    [
      'max_batch_size',
      { ...io, max_batch_size: 2 ** 31 - 1 },
      `config field 'max_batch_size': 2147483647 exceeds the limit of 65536 ${raise('max_batch_size')}`,
    ],
    [
      'max_queue_size',
      { ...io, dynamic_batching: { default_queue_policy: { max_queue_size: 2 ** 32 - 1 } } },
      `config field 'dynamic_batching.default_queue_policy.max_queue_size': 4294967295 exceeds the limit of 1000000 ${raise('max_queue_size')}`,
    ],
    [
      'max_queue_delay_microseconds',
      { ...io, dynamic_batching: { max_queue_delay_microseconds: Number.MAX_SAFE_INTEGER } },
      `config field 'dynamic_batching.max_queue_delay_microseconds': 9007199254740991 exceeds the limit of 60000000 ${raise('queue_delay_us')}`,
    ],
    [
      'a queue timeout',
      { ...io, dynamic_batching: { priority_levels: 2, default_priority_level: 1, priority_queue_policy: { '2': { default_timeout_microseconds: 2 ** 52 } } } },
      `config field 'dynamic_batching.priority_queue_policy[2].default_timeout_microseconds': 4503599627370496 exceeds the limit of 86400000000 ${raise('queue_timeout_us')}`,
    ],
    [
      'the rank of dims',
      { ...io, input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: Array(65).fill(1) }] },
      `config field 'input[0].dims': 65 exceeds the limit of 64 ${raise('dims_rank')}`,
    ],
    [
      'the number of tensors',
      { ...io, output: Array.from({ length: 4097 }, (_, i) => ({ name: `O${i}`, data_type: 'TYPE_FP32', dims: [1] })) },
      `config field 'output': lists 4097 tensors, which 4097 exceeds the limit of 4096 ${raise('tensors')}`,
    ],
  ])('is refused: %s', (_what, config, problem) => {
    expect(refusal(config)).toBe(`model 'm': ${problem}`);
  });

  it('is refused from config.pbtxt too, with the same message', () => {
    const error = errorOf(() => parseModelConfig('instance_group [{ kind: KIND_CPU, count: 2147483647 }]', 'm'));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(`model 'm': config field 'instance_group[0].count': 2147483647 exceeds the limit of 64 ${raise('instances')}`);
  });

  it('validates at the limit, and over it once the operator raised the limit', () => {
    const config = { instance_group: [{ kind: 'KIND_CPU', count: 64 }] };
    expect(validateModelConfig(config, 'm').instance_group[0]!.count).toBe(64);
    expect(refusal({ instance_group: [{ kind: 'KIND_CPU', count: 65 }] })).toMatch(/65 exceeds the limit of 64/);
    configureModelConfigLimits({ instances: 65 });
    expect(validateModelConfig({ instance_group: [{ kind: 'KIND_CPU', count: 65 }] }, 'm').instance_group[0]!.count).toBe(65);
  });
});

describe('nesting and size', () => {
  /** graph_spec is accepted without a schema, so only the depth check stands in the way. */
  const deepJson = (levels: number) => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = [value];
    return { optimization: { cuda: { graph_spec: [value] } } };
  };

  it('counts depth without recursion, even 200,000 levels deep', () => {
    expect(nestingDepth({ a: [{ b: 1 }] }, 32)).toBe(3);
    expect(nestingDepth(deepJson(200_000), 32)).toBe(33);
  });

  it('refuses a JSON config nested deeper than config_depth, and validates and prints one within it', () => {
    expect(refusal(deepJson(5_000))).toBe(`model 'm': config nesting depth 33+ exceeds the limit of 32 (--model-config-limit config_depth=N raises it)`);
    const within = validateModelConfig(deepJson(25), 'm');
    expect(JSON.stringify(modelConfigToJson(within))).toContain('[[[[1]]]]');
  });

  it('refuses config.pbtxt nested deeper than config_depth at the line and column where it goes too deep', () => {
    const text = 'optimization { cuda { graph_spec ' + '{ a '.repeat(100_000) + '}'.repeat(100_000) + ' } }';
    const error = errorOf(() => parseModelConfig(text, 'm'));
    expect(error).toBeInstanceOf(ModelConfigError);
    expect(error.message).toBe(`model 'm': config.pbtxt line 1:${'optimization { cuda { graph_spec '.length + 1 + 4 * 29}: message nesting depth 33 exceeds the limit of 32 (--model-config-limit config_depth=N raises it)`);
    expect(parsePbtxt('a { b { c: 1 } }', { maxDepth: 3 }).fields[0]!.name).toBe('a');
    expect(() => parsePbtxt('a { b { c: 1 } }', { maxDepth: 2 })).toThrow(/nesting depth 3 exceeds the limit of 2/);
  });

  it('refuses a config text or override larger than config_bytes before parsing it', () => {
    configureModelConfigLimits({ config_bytes: 1_000 });
    const big = `name: "m" ${'# comment\n'.repeat(200)}`;
    expect(errorOf(() => parseModelConfig(big, 'm')).message).toBe(
      `model 'm': config.pbtxt is ${big.length} bytes, which ${big.length} exceeds the limit of 1000 (--model-config-limit config_bytes=N raises it)`,
    );
    expect(errorOf(() => parseConfigOverride(JSON.stringify({ name: 'x'.repeat(2_000) }))).message).toBe(
      "parameter 'config' is 2011 bytes, which 2011 exceeds the limit of 1000 (--model-config-limit config_bytes=N raises it)",
    );
    expect(parseConfigOverride('{"name":"m"}')).toEqual({ name: 'm' });
  });
});
