/**
 * Every field of proto/model_config.proto's ModelConfig, walked recursively, has a row in
 * config-field-support.ts saying whether scoreline honours, refuses or ignores it; a refused
 * field set in a config fails its load naming the field; an ignored one loads and has a reason;
 * docs/model-config-fields.md is the table. A field added to the proto fails this test until
 * it is classified.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import { CONFIG_FIELD_SUPPORT, SCHEMA_ONLY_FIELDS, fieldSupportMarkdown } from '../../../src/engine/config/config-field-support';
import { assertSupportedConfig, modelConfigShape, validateModelConfig } from '../../../src/engine/config/model-config';
import { UnsupportedError } from '../../../src/errors';
import { errorOf } from '../../helpers/error-of';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DOC = path.join(ROOT, 'docs', 'model-config-fields.md');

const root = new protobuf.Root().loadSync(path.join(ROOT, 'proto', 'model_config.proto'), { keepCase: true });
root.resolveAll();
const MODEL_CONFIG = root.lookupType('inference.ModelConfig');

/** Every field path below ModelConfig, with the field chain that leads to it. */
function protoFields(): Map<string, protobuf.Field[]> {
  const out = new Map<string, protobuf.Field[]>();
  const walk = (type: protobuf.Type, prefix: string, chain: protobuf.Field[], seen: Set<string>): void => {
    for (const field of type.fieldsArray) {
      const p = prefix ? `${prefix}.${field.name}` : field.name;
      out.set(p, [...chain, field]);
      const t = field.resolvedType;
      if (t instanceof protobuf.Type && !seen.has(t.fullName)) walk(t, p, [...chain, field], new Set([...seen, t.fullName]));
    }
  };
  walk(MODEL_CONFIG, '', [], new Set());
  return out;
}
const FIELDS = protoFields();

/** A value other than the proto default for one field (a message: an empty one). */
function leafValue(field: protobuf.Field): unknown {
  const t = field.resolvedType;
  let value: unknown;
  if (t instanceof protobuf.Type) value = {};
  else if (t instanceof protobuf.Enum) value = Object.keys(t.values)[Math.min(1, Object.keys(t.values).length - 1)];
  else value = field.type === 'string' ? 'x' : field.type === 'bool' ? true : 1;
  if (field.map) return { k: value };
  return field.repeated ? [value] : value;
}

/** Sets the field at `chain` in `config`, reusing element 0 of lists the base already has. */
function setField(config: Record<string, unknown>, chain: protobuf.Field[]): void {
  let at = config;
  chain.forEach((field, i) => {
    if (i === chain.length - 1) {
      at[field.name] = leafValue(field);
      return;
    }
    if (field.map) {
      const map = (at[field.name] ??= {}) as Record<string, Record<string, unknown>>;
      at = map.k ??= {};
    } else if (field.repeated) {
      const list = (at[field.name] ??= []) as Array<Record<string, unknown>>;
      if (list.length === 0) list.push({});
      at = list[0]!;
    } else {
      at = (at[field.name] ??= {}) as Record<string, unknown>;
    }
  });
}

const modelBase = () => ({
  max_batch_size: 4,
  input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [2, 2, 2] }],
  output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4] }],
  instance_group: [{ kind: 'KIND_CPU', count: 1 }],
});
const ensembleBase = () => ({
  platform: 'ensemble',
  max_batch_size: 4,
  input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [8] }],
  output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4] }],
  ensemble_scheduling: { step: [{ model_name: 'mlp', input_map: { INPUT0: 'INPUT0' }, output_map: { OUTPUT0: 'OUTPUT0' } }] },
});

/** A valid config with `fieldPath` set to something other than its default. */
function configSetting(fieldPath: string): Record<string, unknown> {
  const config: Record<string, unknown> = fieldPath.startsWith('ensemble_scheduling') ? ensembleBase() : modelBase();
  // A state's names and type are required: its other fields are set on a valid one.
  if (fieldPath.startsWith('sequence_batching.state.')) {
    config.sequence_batching = { state: [{ input_name: 'S_IN', output_name: 'S_OUT', data_type: 'TYPE_FP32', dims: [1] }] };
  }
  const chain = FIELDS.get(fieldPath);
  if (chain) setField(config, chain);
  else config[fieldPath] = {}; // schema-only messages (sequence_batching)
  return config;
}

/** Where the refusal names the field: its topmost refused ancestor, lists as element 0. */
function refusedAt(fieldPath: string): string {
  const segments = fieldPath.split('.');
  const top = segments.findIndex((_, i) => CONFIG_FIELD_SUPPORT[segments.slice(0, i + 1).join('.')]?.support === 'refused');
  return segments
    .slice(0, top + 1)
    .map((segment, i) => {
      const field = FIELDS.get(segments.slice(0, i + 1).join('.'))?.at(-1);
      return i < top && field?.repeated && !field.map ? `${segment}[0]` : segment;
    })
    .join('.');
}

const byStatus = (support: string) => Object.keys(CONFIG_FIELD_SUPPORT).filter((p) => CONFIG_FIELD_SUPPORT[p]!.support === support);

describe('config field support table', () => {
  it('has an entry for every field of ModelConfig in proto/model_config.proto, recursively', () => {
    const missing = [...FIELDS.keys()].filter((p) => CONFIG_FIELD_SUPPORT[p] === undefined);
    expect(missing).toEqual([]);
    expect(FIELDS.size).toBeGreaterThan(100);
  });

  it('has no entry for a field that neither the proto nor the schema has, and covers every schema field', () => {
    const known = new Set<string>([...FIELDS.keys(), ...SCHEMA_ONLY_FIELDS]);
    expect(Object.keys(CONFIG_FIELD_SUPPORT).filter((p) => !known.has(p))).toEqual([]);
    expect(Object.keys(modelConfigShape).filter((key) => CONFIG_FIELD_SUPPORT[key] === undefined)).toEqual([]);
    for (const key of SCHEMA_ONLY_FIELDS) expect(Object.keys(modelConfigShape)).toContain(key);
  });

  it('gives a reason for every refused and every ignored field', () => {
    const without = [...byStatus('refused'), ...byStatus('ignored')].filter((p) => !CONFIG_FIELD_SUPPORT[p]!.reason);
    expect(without).toEqual([]);
  });

  it('keeps response_cache honoured, sequence_batching honoured, and rate_limiter ignored with its reason', () => {
    expect(CONFIG_FIELD_SUPPORT.response_cache!.support).toBe('honoured');
    expect(CONFIG_FIELD_SUPPORT.sequence_batching!.support).toBe('honoured');
    expect(CONFIG_FIELD_SUPPORT['instance_group.rate_limiter']).toMatchObject({
      support: 'ignored',
      reason: expect.stringContaining('--rate-limit=execution_count'),
    });
  });

  it.each(byStatus('refused'))('refuses a config that sets %s, naming the field', (fieldPath) => {
    const config = validateModelConfig(configSetting(fieldPath), 'm');
    const error = errorOf(() => assertSupportedConfig(config, 'm'));
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error.message).toContain(`config field '${refusedAt(fieldPath)}' is not supported by scoreline: `);
    expect(error.message).toMatch(/; remove it$/);
  });

  it.each(byStatus('ignored'))('accepts a config that sets %s (ignored on purpose)', (fieldPath) => {
    const config = validateModelConfig(configSetting(fieldPath), 'm');
    expect(() => assertSupportedConfig(config, 'm')).not.toThrow();
  });

  it('accepts the base configs the checks above build on', () => {
    expect(() => assertSupportedConfig(validateModelConfig(modelBase(), 'm'), 'm')).not.toThrow();
    expect(() => assertSupportedConfig(validateModelConfig(ensembleBase(), 'm'), 'm')).not.toThrow();
  });

  it('names every refused field a config sets, in one error', () => {
    const config = validateModelConfig(
      { ...modelBase(), instance_group: [{ kind: 'KIND_CPU' }, { kind: 'KIND_CPU', passive: true }], metric_tags: { team: 'a' } },
      'm',
    );
    expect(errorOf(() => assertSupportedConfig(config, 'm')).message).toBe(
      "model 'm': config field 'instance_group[1].passive' is not supported by scoreline: passive instances (loaded but never scheduled) are not implemented; " +
        "config field 'metric_tags' is not supported by scoreline: labels on the model's metrics are not implemented; remove them",
    );
  });

  it('is what docs/model-config-fields.md lists', () => {
    if (process.env.UPDATE_FIELD_DOC === '1') fs.writeFileSync(DOC, fieldSupportMarkdown());
    expect(fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '(missing)').toBe(fieldSupportMarkdown());
  });
});
