/**
 * Ensembles from the outside: a real engine process, composing models from the project's
 * generator, and every ensemble answer compared with running its steps by hand over HTTP.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { classifier, scaleBy } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { CLASSIFIER_LABELS } from '../../fixtures/test-repository';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { closeTo, fp32AddSub, getJson, inferJson, isModelReady, post, repositoryIndex, waitFor } from './helpers/engine-http';

let repo: string;
let engine: RunningEngine;

interface Step {
  model: string;
  version?: number;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

type Io = Array<{ name: string; dims: number[]; labels?: string }>;

function ensembleConfig(name: string, inputs: Io, outputs: Io, steps: Step[], maxBatchSize = 8): string {
  const tensor = (t: Io[number]) =>
    `{ name: "${t.name}" data_type: TYPE_FP32 dims: [ ${t.dims.join(', ')} ]${t.labels ? ` label_filename: "${t.labels}"` : ''} }`;
  const map = (field: string, m: Record<string, string>) =>
    Object.entries(m)
      .map(([k, v]) => `${field} { key: "${k}" value: "${v}" }`)
      .join(' ');
  const step = (s: Step) =>
    `{ model_name: "${s.model}" model_version: ${s.version ?? -1} ${map('input_map', s.inputs)} ${map('output_map', s.outputs)} }`;
  return [
    `name: "${name}"`,
    'platform: "ensemble"',
    `max_batch_size: ${maxBatchSize}`,
    `input [ ${inputs.map(tensor).join(', ')} ]`,
    `output [ ${outputs.map(tensor).join(', ')} ]`,
    `ensemble_scheduling { step [ ${steps.map(step).join(', ')} ] }`,
  ].join('\n');
}

async function writeEnsemble(name: string, config: string, labels?: readonly string[]): Promise<void> {
  await writeRepositoryModel(repo, { name, versions: {}, config, labels });
  await fs.mkdir(path.join(repo, name, '1'));
}

const fp32 = (name: string, dims: number[]) => ({ name, datatype: 'FP32' as const, dims });
const tensor = (name: string, rows: number[][]) => ({ name, datatype: 'FP32', shape: [rows.length, rows[0]!.length], data: rows.flat() });

async function writeRepository(): Promise<void> {
  const batching = (name: string, extra: string[] = ['dynamic_batching { }']) =>
    configText({ name, maxBatchSize: 8, inputs: [fp32('INPUT0', [-1])], outputs: [fp32('OUTPUT0', [-1])], extra });
  await writeRepositoryModel(repo, {
    name: 'scale',
    versions: { 1: scaleBy(1).bytes, 2: scaleBy(2).bytes },
    config: batching('scale', ['version_policy { all { } }', 'dynamic_batching { }']),
  });
  await writeRepositoryModel(repo, {
    name: 'add_sub_fp32',
    versions: { 1: fp32AddSub().bytes },
    config: configText({
      name: 'add_sub_fp32',
      maxBatchSize: 8,
      inputs: [fp32('INPUT0', [-1]), fp32('INPUT1', [-1])],
      outputs: [fp32('OUTPUT0', [-1]), fp32('OUTPUT1', [-1])],
      extra: ['dynamic_batching { }'],
    }),
  });
  const cls = classifier({ features: 4, hidden: [8], labels: CLASSIFIER_LABELS, seed: 13 });
  await writeRepositoryModel(repo, {
    name: 'classifier',
    versions: { 1: cls.bytes },
    labels: cls.labels,
    config: configText({ name: 'classifier', maxBatchSize: 8, inputs: [fp32('INPUT0', [4])], outputs: [{ ...fp32('OUTPUT0', [4]), labelFilename: 'labels.txt' }] }),
  });
  // Waits up to a second for a second request, so a direct request and an ensemble step can share a batch.
  await writeRepositoryModel(repo, {
    name: 'batcher',
    versions: { 1: scaleBy(5).bytes },
    config: batching('batcher', ['dynamic_batching { preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 1000000 }']),
  });
  await writeRepositoryModel(repo, { name: 'broken', versions: { 1: scaleBy(1).bytes }, config: 'max_batch_size: 8\ninput [{ name: "INPUT0" data_type: TYPE_FLOAT32 dims: [4] }]\n' });

  await writeEnsemble(
    'pipeline',
    ensembleConfig('pipeline', [{ name: 'IN', dims: [4] }], [{ name: 'PROBS', dims: [4], labels: 'labels.txt' }], [
      { model: 'scale', version: 2, inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'SCALED' } },
      { model: 'classifier', inputs: { INPUT0: 'SCALED' }, outputs: { OUTPUT0: 'PROBS' } },
    ]),
    CLASSIFIER_LABELS,
  );
  // IN feeds two independent steps; A_OUT is both read by a step and returned.
  await writeEnsemble(
    'diamond',
    ensembleConfig('diamond', [{ name: 'IN', dims: [-1] }], ['SUM', 'DIFF', 'A_OUT'].map((name) => ({ name, dims: [-1] })), [
      { model: 'add_sub_fp32', inputs: { INPUT0: 'A_OUT', INPUT1: 'B_OUT' }, outputs: { OUTPUT0: 'SUM', OUTPUT1: 'DIFF' } },
      { model: 'scale', version: 1, inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'A_OUT' } },
      { model: 'scale', version: 2, inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'B_OUT' } },
    ]),
  );
  await writeEnsemble(
    'via_batcher',
    ensembleConfig('via_batcher', [{ name: 'IN', dims: [-1] }], [{ name: 'OUT', dims: [-1] }], [
      { model: 'batcher', inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'OUT' } },
    ]),
  );
  const oneStep = (name: string, step: Step) =>
    writeEnsemble(name, ensembleConfig(name, [{ name: 'IN', dims: [-1] }], [{ name: 'OUT', dims: [-1] }], [step]));
  await oneStep('missing_dep', { model: 'no_such_model', inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'OUT' } });
  await oneStep('broken_dep', { model: 'broken', inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'OUT' } });
  await oneStep('bad_map', { model: 'scale', inputs: { IMAGE: 'IN' }, outputs: { OUTPUT0: 'OUT' } });
  await oneStep('missing_version', { model: 'scale', version: 7, inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'OUT' } });
  await oneStep('cycle_a', { model: 'cycle_b', inputs: { IN: 'IN' }, outputs: { OUT: 'OUT' } });
  await oneStep('cycle_b', { model: 'cycle_a', inputs: { IN: 'IN' }, outputs: { OUT: 'OUT' } });
  await writeEnsemble(
    'dead_end',
    ensembleConfig('dead_end', [{ name: 'IN', dims: [-1] }], [{ name: 'OUT', dims: [-1] }], [
      { model: 'scale', inputs: { INPUT0: 'IN' }, outputs: { OUTPUT0: 'OUT' } },
      { model: 'scale', inputs: { INPUT0: 'NOWHERE' }, outputs: { OUTPUT0: 'UNREAD' } },
    ]),
  );
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-ensemble-'));
  await writeRepository();
  engine = await startEngine({ modelRepository: repo });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('an ensemble of two steps', () => {
  const rows = [
    [0.5, -1, 2, 0.25],
    [1, 1, -3, 0],
  ];

  it('answers what running its steps by hand over HTTP answers', async () => {
    const scaled = await inferJson(engine.url, 'scale', [tensor('INPUT0', rows)], { version: '2' });
    expect(scaled.status).toBe(200);
    const byHand = await inferJson(engine.url, 'classifier', [{ ...scaled.json.outputs[0], name: 'INPUT0' }]);
    const ensemble = await inferJson(engine.url, 'pipeline', [tensor('IN', rows)]);
    expect(ensemble.status).toBe(200);
    expect(ensemble.json).toMatchObject({ model_name: 'pipeline', model_version: '1' });
    expect(ensemble.json.outputs).toHaveLength(1);
    expect(ensemble.json.outputs[0]).toMatchObject({ name: 'PROBS', datatype: 'FP32', shape: [2, 4] });
    closeTo(ensemble.json.outputs[0].data, byHand.json.outputs[0].data);
  });

  it('classifies its outputs with the labels of its own config', async () => {
    const ensemble = await inferJson(engine.url, 'pipeline', [tensor('IN', rows)], { outputs: [{ name: 'PROBS', parameters: { classification: 2 } }] });
    const scaled = await inferJson(engine.url, 'scale', [tensor('INPUT0', rows)], { version: '2' });
    const byHand = await inferJson(engine.url, 'classifier', [{ ...scaled.json.outputs[0], name: 'INPUT0' }], {
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 2 } }],
    });
    expect(ensemble.json.outputs[0]).toMatchObject({ name: 'PROBS', datatype: 'BYTES', shape: [2, 2] });
    expect(ensemble.json.outputs[0].data).toEqual(byHand.json.outputs[0].data);
  });

  it('reports platform ensemble with the inputs and outputs of its config', async () => {
    expect(await getJson(`${engine.url}/v2/models/pipeline`)).toEqual({
      name: 'pipeline',
      versions: ['1'],
      platform: 'ensemble',
      inputs: [{ name: 'IN', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'PROBS', datatype: 'FP32', shape: [-1, 4] }],
    });
    const config = await getJson(`${engine.url}/v2/models/pipeline/config`);
    expect(config.ensemble_scheduling.step.map((s: { model_name: string }) => s.model_name)).toEqual(['scale', 'classifier']);
  });

  it('sends each step through the composing model, whose statistics count it', async () => {
    const count = async () => (await getJson(`${engine.url}/v2/models/scale/versions/2/stats`)).model_stats[0].inference_stats.success.count;
    const before = await count();
    const ensembleBefore = (await getJson(`${engine.url}/v2/models/pipeline/stats`)).model_stats[0].inference_stats.success.count;
    await Promise.all([1, 2, 3].map(() => inferJson(engine.url, 'pipeline', [tensor('IN', rows)])));
    expect(await count()).toBe(before + 3);
    const ensembleStats = (await getJson(`${engine.url}/v2/models/pipeline/stats`)).model_stats[0];
    expect(ensembleStats.inference_stats.success.count).toBe(ensembleBefore + 3);
  });

  it("reports its steps' queue and compute times, summed, as its own (as Triton does)", async () => {
    type Durations = Record<'queue' | 'compute_input' | 'compute_infer' | 'compute_output', { count: number; ns: number }>;
    const statsOf = async (model: string): Promise<Durations> => (await getJson(`${engine.url}/v2/models/${model}/stats`)).model_stats[0].inference_stats;
    const snapshot = async () => ({ ensemble: await statsOf('pipeline'), scale: await statsOf('scale/versions/2'), classifier: await statsOf('classifier') });
    const before = await snapshot();
    await Promise.all([1, 2, 3].map(() => inferJson(engine.url, 'pipeline', [tensor('IN', rows)])));
    const after = await snapshot();
    for (const field of ['queue', 'compute_input', 'compute_infer', 'compute_output'] as const) {
      const grew = (who: keyof typeof before) => after[who][field].ns - before[who][field].ns;
      expect(after.ensemble[field].count - before.ensemble[field].count).toBe(3);
      expect(grew('ensemble')).toBe(grew('scale') + grew('classifier'));
    }
    expect(after.ensemble.compute_infer.ns).toBeGreaterThan(before.ensemble.compute_infer.ns);
  });

  it('rejects a request that does not fit its own config, naming the input', async () => {
    const reply = await inferJson(engine.url, 'pipeline', [tensor('INPUT0', rows)]);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toContain("unexpected inference input 'INPUT0' for model 'pipeline'");
  });
});

describe('an ensemble whose steps fan out and join', () => {
  it('runs independent steps on the same input and joins their outputs', async () => {
    const x = [
      [1, 2, 3],
      [-4, 0.5, 6],
    ];
    const reply = await inferJson(engine.url, 'diamond', [tensor('IN', x)]);
    expect(reply.status).toBe(200);
    const out = Object.fromEntries(reply.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]));
    // A_OUT is read by a step and returned: both readers must see the values.
    closeTo(out.A_OUT, x.flat());
    closeTo(out.SUM, x.flat().map((v) => 3 * v));
    closeTo(out.DIFF, x.flat().map((v) => -v));
  });

  it('returns only the outputs asked for', async () => {
    const reply = await inferJson(engine.url, 'diamond', [tensor('IN', [[2]])], { outputs: [{ name: 'DIFF' }] });
    expect(reply.json.outputs.map((o: { name: string }) => o.name)).toEqual(['DIFF']);
    closeTo(reply.json.outputs[0].data, [-2]);
  });
});

describe("an ensemble step and the composing model's direct traffic", () => {
  it('share a batch in the composing model', async () => {
    const [direct, viaEnsemble] = await Promise.all([
      inferJson(engine.url, 'batcher', [tensor('INPUT0', [[1, 2]])]),
      inferJson(engine.url, 'via_batcher', [tensor('IN', [[3, 4]])]),
    ]);
    expect(direct.json.outputs[0].data).toEqual([5, 10]);
    expect(viaEnsemble.json.outputs[0].data).toEqual([15, 20]);
    const stats = (await getJson(`${engine.url}/v2/models/batcher/stats`)).model_stats[0];
    expect(stats).toMatchObject({ inference_count: 2, execution_count: 1 });
    expect(stats.batch_stats.map((b: { batch_size: number }) => b.batch_size)).toEqual([2]);
  });
});

describe('an ensemble that cannot load', () => {
  it.each([
    ['missing_dep', "ensemble 'missing_dep' contains models that are not available: no_such_model"],
    ['broken_dep', "ensemble 'broken_dep' depends on 'broken' which has no loaded version. Model 'broken' loading failed with error: model 'broken'"],
    ['bad_map', "in ensemble 'bad_map', ensemble tensor 'IN' is mapping to non-existing input 'IMAGE' in model 'scale'"],
    ['missing_version', "ensemble 'missing_version' depends on 'scale' whose required version 7 is not loaded"],
    ['cycle_a', 'circular dependency between ensembles: cycle_a -> cycle_b -> cycle_a'],
    ['dead_end', "ensemble 'dead_end' step 1 reads ensemble tensor 'NOWHERE', which is neither an ensemble input nor written by any step"],
  ])('leaves %s UNAVAILABLE with a reason that names what is wrong', async (model, reason) => {
    expect(await isModelReady(engine.url, model)).toBe(false);
    const entry = (await repositoryIndex(engine.url)).find((e) => e.name === model);
    expect(entry?.state).toBe('UNAVAILABLE');
    expect(entry?.reason).toContain(reason);
  });
});

describe('an ensemble in explicit model control mode', () => {
  let explicit: RunningEngine;
  beforeAll(async () => {
    explicit = await startEngine({ modelRepository: repo, args: ['--model-control-mode', 'explicit'] });
  });
  afterAll(async () => {
    expect(await explicit?.stop()).toBe(0);
  });

  it('loads its composing models with it, and is READY only while they are loaded', async () => {
    expect(await isModelReady(explicit.url, 'scale')).toBe(false);
    expect((await post(`${explicit.url}/v2/repository/models/pipeline/load`)).status).toBe(200);
    expect(await isModelReady(explicit.url, 'pipeline')).toBe(true);
    expect(await isModelReady(explicit.url, 'scale')).toBe(true);
    expect(await isModelReady(explicit.url, 'classifier')).toBe(true);

    expect((await post(`${explicit.url}/v2/repository/models/classifier/unload`)).status).toBe(200);
    expect(await isModelReady(explicit.url, 'pipeline')).toBe(false);
    const failed = await inferJson(explicit.url, 'pipeline', [tensor('IN', [[1, 2, 3, 4]])]);
    expect(failed.json.error).toContain("'classifier'");

    expect((await post(`${explicit.url}/v2/repository/models/classifier/load`)).status).toBe(200);
    await waitFor('pipeline to be ready again', () => isModelReady(explicit.url, 'pipeline'));
    expect((await inferJson(explicit.url, 'pipeline', [tensor('IN', [[1, 2, 3, 4]])])).status).toBe(200);
  });

  it('with unload_dependents unloads its composing models too, except those another loaded ensemble uses', async () => {
    for (const model of ['pipeline', 'diamond']) expect((await post(`${explicit.url}/v2/repository/models/${model}/load`)).status).toBe(200);
    const ready = async (...models: string[]) => Promise.all(models.map((m) => isModelReady(explicit.url, m)));
    expect(await ready('scale', 'classifier', 'add_sub_fp32')).toEqual([true, true, true]);

    const badFlag = await post(`${explicit.url}/v2/repository/models/pipeline/unload`, { parameters: { unload_dependents: 'yes' } });
    expect(badFlag.status).toBe(400);
    expect(badFlag.json.error).toContain("'unload_dependents' must be true or false");
    expect(await isModelReady(explicit.url, 'pipeline')).toBe(true);

    expect((await post(`${explicit.url}/v2/repository/models/pipeline/unload`, { parameters: { unload_dependents: true } })).status).toBe(200);
    // classifier served only pipeline; scale still serves diamond.
    expect(await ready('pipeline', 'classifier', 'scale', 'diamond')).toEqual([false, false, true, true]);

    expect((await post(`${explicit.url}/v2/repository/models/diamond/unload`, { parameters: { unload_dependents: false } })).status).toBe(200);
    expect(await ready('diamond', 'scale', 'add_sub_fp32')).toEqual([false, true, true]);
    expect((await post(`${explicit.url}/v2/repository/models/diamond/load`)).status).toBe(200);
    expect((await post(`${explicit.url}/v2/repository/models/diamond/unload`, { parameters: { unload_dependents: true } })).status).toBe(200);
    expect(await ready('diamond', 'scale', 'add_sub_fp32')).toEqual([false, false, false]);
    const index = await repositoryIndex(explicit.url);
    expect(index.find((e) => e.name === 'scale')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
  });

  it('answers a load of an ensemble whose composing model is missing with a reason naming it', async () => {
    const reply = await post(`${explicit.url}/v2/repository/models/missing_dep/load`);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toContain('no_such_model');
  });
});
