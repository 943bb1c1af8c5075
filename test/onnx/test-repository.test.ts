/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeTestRepository, testModels } from '../fixtures/test-repository';
import { mlpForward, sampleInput } from '../fixtures/mlp-reference';

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(root, path)));
    else out.push(relative(root, path));
  }
  return out.sort();
}

describe('makeTestRepository', () => {
  let dir: string;
  let elapsedMs: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scoreline-test-repo-'));
    const started = performance.now();
    await makeTestRepository(dir);
    elapsedMs = performance.now() - started;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the Triton layout: config and labels beside numbered version dirs', async () => {
    expect(await listFiles(dir)).toEqual([
      'add_sub/1/model.onnx',
      'add_sub/config.pbtxt',
      'classifier/1/model.onnx',
      'classifier/config.pbtxt',
      'classifier/labels.txt',
      'fixed/1/model.onnx',
      'fixed/config.pbtxt',
      'identity_all/1/model.onnx',
      'mlp/1/model.onnx',
      'scale/1/model.onnx',
      'scale/2/model.onnx',
      'scale/config.pbtxt',
      'string_identity/1/model.onnx',
      'string_identity/config.pbtxt',
    ]);
  });

  it('is fast enough to run in every suite (under a second)', () => {
    expect(elapsedMs).toBeLessThan(1000);
  });

  it.each([
    ['add_sub', ['platform: "onnxruntime_onnx"', 'max_batch_size: 8', 'data_type: TYPE_INT32', 'dims: [ 16 ]', 'max_queue_delay_microseconds: 2000', 'name: "OUTPUT1"']],
    ['string_identity', ['max_batch_size: 8', 'data_type: TYPE_STRING', 'dims: [ 1 ]']],
    ['fixed', ['max_batch_size: 0', 'data_type: TYPE_FP32', 'dims: [ 4 ]']],
    ['scale', ['max_batch_size: 8', 'dims: [ -1 ]', 'version_policy { all { } }', 'dynamic_batching { }']],
    ['classifier', ['label_filename: "labels.txt"', 'dims: [ 4 ]']],
  ])('writes a config.pbtxt for %s with its settings', async (model, fragments) => {
    const text = await readFile(join(dir, model, 'config.pbtxt'), 'utf8');
    expect(text).toContain(`name: "${model}"`);
    for (const fragment of fragments) expect(text).toContain(fragment);
  });

  it('writes one label per line for the classifier, as many as it has classes', async () => {
    const labels = (await readFile(join(dir, 'classifier', 'labels.txt'), 'utf8')).split('\n').filter(Boolean);
    expect(labels).toEqual(testModels().classifier.labels);
    expect(testModels().classifier.layers.at(-1)?.outFeatures).toBe(labels.length);
  });

  it('writes the same bytes that testModels() describes', async () => {
    const models = testModels();
    const onDisk = (model: string, version = 1) => readFile(join(dir, model, String(version), 'model.onnx'));
    expect((await onDisk('mlp')).equals(Buffer.from(models.mlp.bytes))).toBe(true);
    expect((await onDisk('scale', 2)).equals(Buffer.from(models.scale[2].bytes))).toBe(true);
    expect(models.scale[1].factor).toBe(1);
    expect(models.scale[2].factor).toBe(2);
  });

  it('leaves the same tree when run again', async () => {
    const before = await listFiles(dir);
    const mlpBefore = await readFile(join(dir, 'mlp', '1', 'model.onnx'));
    await makeTestRepository(dir);
    expect(await listFiles(dir)).toEqual(before);
    expect((await readFile(join(dir, 'mlp', '1', 'model.onnx'))).equals(mlpBefore)).toBe(true);
  });

  it('has an mlp whose onnxruntime outputs match the forward pass of testModels().mlp', async () => {
    const session = await ort.InferenceSession.create(await readFile(join(dir, 'mlp', '1', 'model.onnx')));
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: 'INPUT0', shape: ['batch', 8] });
      const input = sampleInput(2, 8);
      const out = await session.run({ INPUT0: new ort.Tensor('float32', input, [2, 8]) });
      const expected = mlpForward(testModels().mlp, input, 2);
      (out.OUTPUT0.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
    } finally {
      await session.release();
    }
  });

  it.each(['add_sub', 'string_identity', 'fixed', 'classifier', 'identity_all'])('writes a %s model that onnxruntime loads', async (model) => {
    const session = await ort.InferenceSession.create(await readFile(join(dir, model, '1', 'model.onnx')));
    await session.release();
  });
});
