/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
/**
 * The config path end to end on real files: the project's test repository is written to
 * disk, scanned, each config.pbtxt parsed, and each config completed from the metadata of
 * a real onnxruntime session, as the engine does when it loads a model.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { type OnnxSessionMetadata, autoCompleteConfig } from '../../../src/engine/config/auto-complete';
import { type ModelConfig, parseModelConfig } from '../../../src/engine/config/model-config';
import { scanRepository } from '../../../src/engine/repository/scan-repository';
import { makeTestRepository } from '../../fixtures/test-repository';

let root: string;
const sessions: ort.InferenceSession[] = [];
const completed = new Map<string, ModelConfig>();

/** session.inputMetadata/outputMetadata in the IoMetadata form (symbolic dims kept, '' → -1). */
function metadataOf(session: ort.InferenceSession): OnnxSessionMetadata {
  const list = (items: readonly ort.InferenceSession.ValueMetadata[]) =>
    items.map((m) => ({
      name: m.name,
      type: m.isTensor ? m.type : 'non-tensor',
      shape: m.isTensor ? m.shape.map((d) => (d === '' ? -1 : d)) : [],
    }));
  return { inputs: list(session.inputMetadata), outputs: list(session.outputMetadata) };
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-autocomplete-'));
  await makeTestRepository(root);
  for (const model of await scanRepository(root)) {
    const latest = model.modelVersions[model.modelVersions.length - 1];
    const session = await ort.InferenceSession.create(path.join(model.path, String(latest), model.modelFileName));
    sessions.push(session);
    const parsed = model.configText === undefined ? undefined : parseModelConfig(model.configText, model.name);
    completed.set(model.name, autoCompleteConfig(parsed, metadataOf(session), { modelName: model.name }));
  }
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
  await fs.rm(root, { recursive: true, force: true });
});

const summary = (config: ModelConfig) => ({
  max_batch_size: config.max_batch_size,
  dynamic_batching: config.dynamic_batching !== undefined,
  input: config.input.map((t) => `${t.name} ${t.data_type} [${t.dims}]`),
  output: config.output.map((t) => `${t.name} ${t.data_type} [${t.dims}]`),
});

describe('auto-complete on the test repository', () => {
  it.each<[string, ReturnType<typeof summary>]>([
    ['mlp', { max_batch_size: 4, dynamic_batching: true, input: ['INPUT0 TYPE_FP32 [8]'], output: ['OUTPUT0 TYPE_FP32 [4]'] }],
    ['add_sub', {
      max_batch_size: 8,
      dynamic_batching: true,
      input: ['INPUT0 TYPE_INT32 [16]', 'INPUT1 TYPE_INT32 [16]'],
      output: ['OUTPUT0 TYPE_INT32 [16]', 'OUTPUT1 TYPE_INT32 [16]'],
    }],
    ['string_identity', { max_batch_size: 8, dynamic_batching: false, input: ['INPUT0 TYPE_STRING [1]'], output: ['OUTPUT0 TYPE_STRING [1]'] }],
    ['fixed', { max_batch_size: 0, dynamic_batching: false, input: ['INPUT0 TYPE_FP32 [4]'], output: ['OUTPUT0 TYPE_FP32 [4]'] }],
    ['scale', { max_batch_size: 8, dynamic_batching: true, input: ['INPUT0 TYPE_FP32 [-1]'], output: ['OUTPUT0 TYPE_FP32 [-1]'] }],
    ['classifier', { max_batch_size: 8, dynamic_batching: false, input: ['INPUT0 TYPE_FP32 [4]'], output: ['OUTPUT0 TYPE_FP32 [4]'] }],
  ])('completes %s', (name, expected) => {
    expect(summary(completed.get(name) as ModelConfig)).toEqual(expected);
  });

  it('completes a model without config.pbtxt for every datatype onnxruntime supports', () => {
    const config = completed.get('identity_all') as ModelConfig;
    expect(config).toMatchObject({ name: 'identity_all', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 4 });
    expect(config.input.length).toBeGreaterThan(5);
    expect(config.input.map((t) => t.data_type)).toEqual(config.output.map((t) => t.data_type));
  });

  it('keeps what config.pbtxt says beyond the tensors', () => {
    const scale = completed.get('scale') as ModelConfig;
    expect(scale.version_policy).toEqual({ all: {} });
    expect((completed.get('classifier') as ModelConfig).output[0].label_filename).toBe('labels.txt');
    expect((completed.get('add_sub') as ModelConfig).dynamic_batching?.max_queue_delay_microseconds).toBe(2000);
  });
});
