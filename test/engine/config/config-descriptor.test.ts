/**
 * config-descriptor.ts reads ModelConfig's structure from proto/model_config.proto: the
 * kinds the pbtxt converter and the error formatter walk by, and the paths they print.
 */
import { configKindAt, fieldKind, formatConfigPath, modelConfigKind } from '../../../src/engine/config/config-descriptor';
import { parseModelConfig } from '../../../src/engine/config/model-config';
import { errorOf } from '../../helpers/error-of';

describe('the ModelConfig descriptor', () => {
  it('knows messages, repeated fields, maps and their key types, enums and scalars from the proto', () => {
    expect(configKindAt(['input'])?.kind).toBe('repeated');
    expect(configKindAt(['input', 0])?.kind).toBe('message');
    expect(configKindAt(['input', 0, 'dims'])).toEqual({ kind: 'repeated', element: { kind: 'integer' } });
    expect(configKindAt(['input', 0, 'data_type'])).toMatchObject({ kind: 'enum', values: expect.arrayContaining(['TYPE_FP32', 'TYPE_STRING']) });
    expect(configKindAt(['parameters'])).toMatchObject({ kind: 'map', integerKeys: false, value: { kind: 'message' } });
    expect(configKindAt(['dynamic_batching', 'priority_queue_policy'])).toMatchObject({ kind: 'map', integerKeys: true });
    expect(configKindAt(['sequence_batching', 'control_input', 3, 'control', 0, 'fp32_false_true'])).toEqual({ kind: 'repeated', element: { kind: 'float' } });
    expect(configKindAt(['dynamic_batching', 'preserve_ordering'])).toEqual({ kind: 'bool' });
    expect(configKindAt(['name'])).toEqual({ kind: 'string' });
    expect(configKindAt(['no_such_field'])).toBeUndefined();
    // Inherited object properties are not fields.
    expect(fieldKind(modelConfigKind(), 'constructor')).toBeUndefined();
  });

  it('prints paths as a config is written: indexes, quoted string keys, bare integer keys', () => {
    expect(formatConfigPath(['input', 1, 'data_type'])).toBe('input[1].data_type');
    expect(formatConfigPath(['parameters', 'gpu_mem_limit', 'string_value'])).toBe('parameters["gpu_mem_limit"].string_value');
    expect(formatConfigPath(['dynamic_batching', 'priority_queue_policy', '2', 'max_queue_size'])).toBe('dynamic_batching.priority_queue_policy[2].max_queue_size');
  });

  it('drives the pbtxt conversion: a map<uint64, ...> takes number keys, a map<string, ...> quoted ones', () => {
    const config = parseModelConfig(
      [
        'name: "m" platform: "onnxruntime_onnx" max_batch_size: 4',
        'dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 2 value: { max_queue_size: 3 } } }',
        'parameters { key: "k" value: { string_value: "v" } }',
      ].join('\n'),
      'm',
    );
    expect(config.dynamic_batching!.priority_queue_policy['2']!.max_queue_size).toBe(3);
    expect(config.parameters.k!.string_value).toBe('v');
    const quotedKey = errorOf(() => parseModelConfig('dynamic_batching { priority_queue_policy { key: "2" value: {} } }', 'm'));
    expect(quotedKey.message).toContain("config field 'dynamic_batching.priority_queue_policy': entry 1: expected an integer key, found \"2\"");
    const unknown = errorOf(() => parseModelConfig('dynamic_batching { max_queue_delay: 5 }', 'm'));
    expect(unknown.message).toContain("config field 'dynamic_batching.max_queue_delay': unknown field");
  });
});
