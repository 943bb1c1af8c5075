/**
 * Model warmup from the outside: a real engine process, models from the project's
 * generator, config.pbtxt files with model_warmup samples.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixedShape, scaleBy } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { getJson, inferJson, isModelReady, repositoryIndex } from './helpers/engine-http';

let repo: string;
let engine: RunningEngine;

const io = (dims: string) =>
  `input [{ name: "INPUT0" data_type: TYPE_FP32 dims: ${dims} }]\noutput [{ name: "OUTPUT0" data_type: TYPE_FP32 dims: ${dims} }]`;

const sample = (name: string, batch: number, source: string, dims = '[ 4 ]', count = 0) =>
  `{ name: "${name}" batch_size: ${batch} count: ${count} inputs { key: "INPUT0" value: { data_type: TYPE_FP32 dims: ${dims} ${source} } } }`;

/** A batching scale-by-3 model with the given warmup samples and instance count. */
function scaleConfig(name: string, samples: string[], instances = 1): string {
  return [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    'max_batch_size: 8',
    io('[ 4 ]'),
    `instance_group [{ kind: KIND_CPU count: ${instances} }]`,
    `model_warmup [\n${samples.join(',\n')}\n]`,
  ].join('\n');
}

const floats = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-warmup-'));
  const scale = scaleBy(3).bytes;
  const warmOk = scaleConfig(
    'warm_ok',
    [sample('zeros', 2, 'zero_data: true', '[ 4 ]', 3), sample('random', 8, 'random_data: true'), sample('from_file', 1, 'input_data_file: "input0.bin"')],
    2,
  );
  await writeRepositoryModel(repo, { name: 'warm_ok', versions: { 1: scale }, config: warmOk });
  await fs.mkdir(path.join(repo, 'warm_ok', 'warmup'));
  // Longer than one row: Triton reads the first row's worth.
  await fs.writeFile(path.join(repo, 'warm_ok', 'warmup', 'input0.bin'), floats([1, 2, 3, 4, 5, 6]));

  await writeRepositoryModel(repo, {
    name: 'warm_missing_file',
    versions: { 1: scale },
    config: scaleConfig('warm_missing_file', [sample('needs_file', 1, 'input_data_file: "nope.bin"')]),
  });
  await writeRepositoryModel(repo, {
    name: 'warm_short_file',
    versions: { 1: scale },
    config: scaleConfig('warm_short_file', [sample('short', 1, 'input_data_file: "short.bin"')]),
  });
  await fs.mkdir(path.join(repo, 'warm_short_file', 'warmup'));
  await fs.writeFile(path.join(repo, 'warm_short_file', 'warmup', 'short.bin'), floats([1, 2]));
  await writeRepositoryModel(repo, {
    name: 'warm_bad_shape',
    versions: { 1: scale },
    config: scaleConfig('warm_bad_shape', [sample('five_wide', 1, 'zero_data: true', '[ 5 ]')]),
  });
  // The config says any length, the model only takes 4: the sample passes the checks and fails in onnxruntime.
  await writeRepositoryModel(repo, {
    name: 'warm_fails_running',
    versions: { 1: fixedShape({ size: 4, factor: 2 }).bytes },
    config: [
      'name: "warm_fails_running"',
      'platform: "onnxruntime_onnx"',
      'max_batch_size: 0',
      io('[ -1 ]'),
      `model_warmup [${sample('three_wide', 1, 'zero_data: true', '[ 3 ]')}]`,
    ].join('\n'),
  });
  engine = await startEngine({ modelRepository: repo });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('a model with warmup samples', () => {
  it('runs every sample on every instance, count times, before it reports READY', () => {
    const log = engine.output();
    const loadedAt = log.indexOf("successfully loaded 'warm_ok'");
    expect(loadedAt).toBeGreaterThan(0);
    for (const instance of [0, 1]) {
      for (const line of [
        "warmup sample 'zeros' ran 3 times (batch size 2)",
        "warmup sample 'random' ran 1 time (batch size 8)",
        "warmup sample 'from_file' ran 1 time (batch size 1)",
      ]) {
        const at = log.indexOf(`model 'warm_ok' version 1 instance ${instance}: ${line}`);
        expect(at).toBeGreaterThan(-1);
        expect(at).toBeLessThan(loadedAt);
      }
    }
  });

  it('is READY and serves, and warmup runs are not counted as inferences', async () => {
    expect(await isModelReady(engine.url, 'warm_ok')).toBe(true);
    const stats = await getJson(`${engine.url}/v2/models/warm_ok/stats`);
    expect(stats.model_stats[0]).toMatchObject({ inference_count: 0, execution_count: 0 });
    const reply = await inferJson(engine.url, 'warm_ok', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]);
    expect(reply.status).toBe(200);
    expect(reply.json.outputs[0].data).toEqual([3, 6, 9, 12]);
  });
});

describe('a warmup sample that fails', () => {
  it.each([
    ['warm_missing_file', "warmup sample 'needs_file': unable to read input_data_file 'nope.bin'"],
    ['warm_short_file', "warmup sample 'short': warmup setting expects 16 bytes, but the data provided from short.bin only has 8 bytes"],
    ['warm_bad_shape', "warmup sample 'five_wide': unexpected shape for input 'INPUT0'"],
    ['warm_fails_running', "warmup sample 'three_wide' failed on instance 0"],
  ])('leaves %s UNAVAILABLE with a reason that names the sample', async (model, reason) => {
    expect(await isModelReady(engine.url, model)).toBe(false);
    const entry = (await repositoryIndex(engine.url)).find((e) => e.name === model);
    expect(entry?.state).toBe('UNAVAILABLE');
    expect(entry?.reason).toContain(`model '${model}'`);
    expect(entry?.reason).toContain(reason);
  });

  it('does not stop the other models from serving', async () => {
    expect(await isModelReady(engine.url, 'warm_ok')).toBe(true);
  });
});
