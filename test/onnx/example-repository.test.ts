/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import {
  EXAMPLE_MODELS,
  IRIS_LABELS,
  MLP_BENCH_LAYERS,
  defaultExampleRepository,
  makeExampleRepository,
  packageRoot,
} from '../../examples/make-example-repository';
import { mlp } from '../../tools/onnx/model-zoo';
import { mlpForward, sampleInput } from '../fixtures/mlp-reference';

const ROOT = resolve(__dirname, '..', '..');

describe('makeExampleRepository', () => {
  let dir: string;
  const lines: string[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scoreline-examples-'));
    await makeExampleRepository(dir, { log: (line) => lines.push(line) });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes iris, spam_classifier and mlp_bench, logging one line per model', async () => {
    expect((await readdir(dir)).sort()).toEqual(['iris', 'mlp_bench', 'spam_classifier']);
    expect(lines).toHaveLength(EXAMPLE_MODELS.length);
    expect(lines[0]).toMatch(/^wrote .*iris/);
    expect(lines[1]).toMatch(/^wrote .*spam_classifier/);
    expect(lines[2]).toMatch(/^wrote .*mlp_bench/);
  });

  it('configures mlp_bench for batching up to 64 with a dynamic batcher', async () => {
    const config = await readFile(join(dir, 'mlp_bench', 'config.pbtxt'), 'utf8');
    for (const fragment of ['name: "mlp_bench"', 'platform: "onnxruntime_onnx"', 'max_batch_size: 64', 'dims: [ 512 ]', 'dims: [ 10 ]', 'dynamic_batching { }']) {
      expect(config).toContain(fragment);
    }
  });

  it('gives iris labels, a label_filename and a dynamic batcher', async () => {
    const config = await readFile(join(dir, 'iris', 'config.pbtxt'), 'utf8');
    expect(config).toContain('label_filename: "labels.txt"');
    expect(config).toContain('dynamic_batching');
    expect(await readFile(join(dir, 'iris', 'labels.txt'), 'utf8')).toBe(IRIS_LABELS.map((l) => `${l}\n`).join(''));
  });

  it('writes an mlp_bench that onnxruntime runs like a forward pass of the same seeded MLP', async () => {
    const session = await ort.InferenceSession.create(await readFile(join(dir, 'mlp_bench', '1', 'model.onnx')));
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: 'INPUT0', shape: ['batch', 512] });
      const input = sampleInput(2, 512);
      const out = await session.run({ INPUT0: new ort.Tensor('float32', input, [2, 512]) });
      const expected = mlpForward(mlp({ layers: MLP_BENCH_LAYERS, seed: 42 }), input, 2);
      (out.OUTPUT0.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 4));
    } finally {
      await session.release();
    }
  });

  it('rewrites identical files when run again', async () => {
    const before = await readFile(join(dir, 'iris', '1', 'model.onnx'));
    await makeExampleRepository(dir);
    expect((await readFile(join(dir, 'iris', '1', 'model.onnx'))).equals(before)).toBe(true);
    expect((await readdir(join(dir, 'mlp_bench'))).sort()).toEqual(['1', 'config.pbtxt']);
  });
});

describe('packageRoot', () => {
  it('finds the scoreline package from the examples dir, so the default target is examples/model_repository', () => {
    expect(packageRoot(join(ROOT, 'examples'))).toBe(ROOT);
    expect(packageRoot(join(ROOT, 'dist', 'examples'))).toBe(ROOT);
    expect(defaultExampleRepository()).toBe(join(ROOT, 'examples', 'model_repository'));
  });
});

describe('the make-example-repository script', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scoreline-examples-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs from another working directory and prints one line per model', async () => {
    const script = join(ROOT, 'examples', 'make-example-repository.ts');
    const target = join(dir, 'repo');
    const { stdout } = await promisify(execFile)(process.execPath, [require.resolve('tsx/cli'), script, target], { cwd: dir });
    expect(stdout.trim().split('\n')).toHaveLength(EXAMPLE_MODELS.length);
    expect((await readdir(target)).sort()).toEqual(['iris', 'mlp_bench', 'spam_classifier']);
  });
});
