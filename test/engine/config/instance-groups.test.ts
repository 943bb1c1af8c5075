/**
 * Triton's instance_group normalization (core model_config_utils.cc NormalizeInstanceGroup):
 * what GET .../config shows and what the loader starts.
 */
import { CPU_ONLY, DEFAULT_CPU_INSTANCE_COUNT, completeInstanceGroups } from '../../../src/engine/config/instance-groups';
import { parseModelConfig } from '../../../src/engine/config/model-config';

const group = (fields: Record<string, unknown>) => ({
  name: '',
  kind: 'KIND_AUTO',
  count: 0,
  gpus: [],
  secondary_devices: [],
  profile: [],
  passive: false,
  host_policy: '',
  ...fields,
});

const groupsOf = (pbtxt: string, gpus = CPU_ONLY) => {
  const config = parseModelConfig(`backend: "onnxruntime" ${pbtxt}`, 'm');
  return completeInstanceGroups(config, 'm', gpus);
};

describe('completeInstanceGroups', () => {
  it('adds one group named after the model when the config has none: KIND_CPU without GPUs', () => {
    expect(groupsOf('')).toEqual([group({ name: 'm', kind: 'KIND_CPU', count: DEFAULT_CPU_INSTANCE_COUNT })]);
    expect(DEFAULT_CPU_INSTANCE_COUNT).toBe(1);
  });

  it('resolves KIND_AUTO to KIND_GPU on every available GPU, count 1, when there are GPUs', () => {
    expect(groupsOf('', { deviceIds: [0, 1] })).toEqual([group({ name: 'm', kind: 'KIND_GPU', count: 1, gpus: [0, 1] })]);
  });

  it('names unnamed groups "<model>_<index>" and keeps given names, kinds and counts', () => {
    expect(groupsOf('instance_group [ { count: 3 kind: KIND_CPU }, { name: "mine" kind: KIND_CPU }, { kind: KIND_CPU } ]')).toEqual([
      group({ name: 'm_0', kind: 'KIND_CPU', count: 3 }),
      group({ name: 'mine', kind: 'KIND_CPU', count: 1 }),
      group({ name: 'm_2', kind: 'KIND_CPU', count: 1 }),
    ]);
  });

  it('falls back to KIND_CPU for KIND_AUTO when a listed GPU is not available', () => {
    expect(groupsOf('instance_group [ { gpus: [ 3 ] } ]', { deviceIds: [0] })).toEqual([group({ name: 'm_0', kind: 'KIND_CPU', count: 1, gpus: [3] })]);
  });

  it('gives KIND_GPU without gpus every available GPU, and keeps listed ones', () => {
    expect(groupsOf('instance_group [ { kind: KIND_GPU }, { kind: KIND_GPU gpus: [ 1 ] count: 2 } ]', { deviceIds: [0, 1] })).toEqual([
      group({ name: 'm_0', kind: 'KIND_GPU', count: 1, gpus: [0, 1] }),
      group({ name: 'm_1', kind: 'KIND_GPU', count: 2, gpus: [1] }),
    ]);
  });

  it('leaves an ensemble without instance groups, and does not change the config it was given', () => {
    const ensemble = parseModelConfig(
      'platform: "ensemble" ensemble_scheduling { step { model_name: "a" input_map { key: "x" value: "y" } output_map { key: "z" value: "w" } } }',
      'e',
    );
    expect(completeInstanceGroups(ensemble, 'e')).toEqual([]);
    const config = parseModelConfig('instance_group [ { kind: KIND_CPU } ]', 'm');
    completeInstanceGroups(config, 'm');
    expect(config.instance_group[0]).toMatchObject({ name: '', count: 0 });
  });
});
