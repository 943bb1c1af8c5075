/**
 * Model control modes from the outside: `scoreline engine --model-control-mode poll` with a
 * short poll period, while the test changes the repository on disk and keeps requests
 * flowing; and the model control API's answer in poll and none mode.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scaleBy } from '../../../tools/onnx/model-zoo';
import { RepositoryModel, configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { getJson, inferJson, isModelReady, placeModel, post, repositoryIndex, waitFor } from '../models/helpers/engine-http';

const POLL_SECS = 0.2;
/** A few poll periods, with room for a loaded machine. */
const SETTLE_MS = 10_000;
const CONTROL_DISABLED = 'explicit model load / unload is not allowed if polling is enabled';

let root: string;
let repo: string;
let engine: RunningEngine;

const fp32 = (name: string) => ({ name, datatype: 'FP32' as const, dims: [-1] });

/** FP32 INPUT0 [batch, n] → OUTPUT0 = version-specific factor · x, one entry per version. */
function scaleModel(name: string, factors: Record<number, number>, options: { maxBatchSize?: number } = {}): RepositoryModel {
  const versions = Object.fromEntries(Object.entries(factors).map(([v, k]) => [Number(v), scaleBy(k).bytes]));
  return {
    name,
    versions,
    config: configText({ name, maxBatchSize: options.maxBatchSize ?? 8, inputs: [fp32('INPUT0')], outputs: [fp32('OUTPUT0')], extra: ['dynamic_batching { }'] }),
  };
}

const input = (values: number[]) => [{ name: 'INPUT0', datatype: 'FP32', shape: [1, values.length], data: values }];

/** Requests `model` from `concurrency` loops until stop() is called; counts answers by status. */
function keepRequesting(model: string, concurrency = 6): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const reply = await inferJson(engine.url, model, input([1, 2]));
        if (reply.status === 200) ok += 1;
        else failed.push(`${reply.status} ${JSON.stringify(reply.json)}`);
      } catch (err) {
        failed.push(String(err));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed };
    },
  };
}

const loadedCount = (model: string) => engine.output().split(`successfully loaded '${model}'`).length - 1;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-poll-'));
  repo = path.join(root, 'repository');
  await fs.mkdir(repo);
  for (const model of [scaleModel('steady', { 1: 3 }), scaleModel('changing', { 1: 1 }), scaleModel('doomed', { 1: 2 })]) {
    await writeRepositoryModel(repo, model);
  }
  engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode', 'poll', '--repository-poll-secs', String(POLL_SECS)] });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(root, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('model control mode poll', () => {
  it('loads every model at start-up', async () => {
    for (const model of ['steady', 'changing', 'doomed']) expect(await isModelReady(engine.url, model)).toBe(true);
  });

  it.each(['load', 'unload'])('refuses the %s API as Triton does (503)', async (action) => {
    const reply = await post(`${engine.url}/v2/repository/models/steady/${action}`);
    expect(reply.status).toBe(503);
    expect(reply.json).toEqual({ error: CONTROL_DISABLED });
    expect(await isModelReady(engine.url, 'steady')).toBe(true);
  });

  it('loads a model directory added while running within a few poll periods', async () => {
    await placeModel(repo, scaleModel('newcomer', { 1: 4 }));
    await waitFor('newcomer to be ready', () => isModelReady(engine.url, 'newcomer'), SETTLE_MS);
    const reply = await inferJson(engine.url, 'newcomer', input([1, 2]));
    expect(reply.json.outputs[0].data).toEqual([4, 8]);
  });

  it('serves a new version once its directory appears, without failing a request', async () => {
    const traffic = keepRequesting('changing');
    await placeModel(repo, scaleModel('changing', { 1: 1, 2: 2 }));
    await waitFor('changing version 2', async () => (await inferJson(engine.url, 'changing', input([1]))).json.model_version === '2', SETTLE_MS);
    const { ok, failed } = await traffic.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expect((await inferJson(engine.url, 'changing', input([1, 2]))).json.outputs[0].data).toEqual([2, 4]);
    // The default version policy serves the latest version only.
    expect(await isModelReady(engine.url, 'changing', '1')).toBe(false);
  });

  it('reloads a model whose config.pbtxt changed', async () => {
    await fs.writeFile(
      path.join(repo, 'changing', 'config.pbtxt'),
      configText({ name: 'changing', maxBatchSize: 4, inputs: [fp32('INPUT0')], outputs: [fp32('OUTPUT0')] }),
    );
    await waitFor('the new config', async () => (await getJson(`${engine.url}/v2/models/changing/config`)).max_batch_size === 4, SETTLE_MS);
    expect((await getJson(`${engine.url}/v2/models/changing/config`)).dynamic_batching).toBeUndefined();
  });

  it('keeps serving the loaded versions when a reload fails, and reports why', async () => {
    const good = await fs.readFile(path.join(repo, 'changing', 'config.pbtxt'), 'utf8');
    await fs.writeFile(path.join(repo, 'changing', 'config.pbtxt'), 'max_batch_size: "many"\n');
    await waitFor('the failed reload', async () => engine.output().includes("failed to load model 'changing'"), SETTLE_MS);
    expect(await isModelReady(engine.url, 'changing')).toBe(true);
    expect((await inferJson(engine.url, 'changing', input([1]))).json.outputs[0].data).toEqual([2]);
    const entry = (await repositoryIndex(engine.url)).find((e) => e.name === 'changing');
    expect(entry?.reason).toContain("model 'changing'");
    await fs.writeFile(path.join(repo, 'changing', 'config.pbtxt'), good);
    await waitFor('the repaired reload', async () => (await repositoryIndex(engine.url)).find((e) => e.name === 'changing')?.reason === '', SETTLE_MS);
  });

  it('unloads a model whose directory was removed, without failing requests to the others', async () => {
    const traffic = keepRequesting('steady');
    await fs.rm(path.join(repo, 'doomed'), { recursive: true });
    // Not ready is not yet unloaded: while UNLOADING drains, requests get 503, not 400.
    const unloaded = async () => (await repositoryIndex(engine.url)).find((e) => e.name === 'doomed')?.reason === 'unloaded';
    await waitFor('doomed to be unloaded', unloaded, SETTLE_MS);
    expect(await isModelReady(engine.url, 'doomed')).toBe(false);
    const { ok, failed } = await traffic.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    const reply = await inferJson(engine.url, 'doomed', input([1]));
    expect(reply.status).toBe(400);
    expect(reply.json.error).toContain("'doomed'");
    expect((await repositoryIndex(engine.url)).find((e) => e.name === 'doomed')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
  });

  it('reloads a model over and over under concurrent load with zero failed requests', async () => {
    const before = loadedCount('steady');
    const traffic = keepRequesting('steady', 8);
    for (let round = 1; round <= 3; round++) {
      // Same model, new files: a modification as far as the poller can tell.
      await placeModel(repo, scaleModel('steady', { 1: 3 }));
      await waitFor(`reload ${round} of steady`, async () => loadedCount('steady') >= before + round, SETTLE_MS);
    }
    const { ok, failed } = await traffic.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    // placeModel swaps folders with two renames; a scan between them must not unload steady
    // (it waits for the next scan to agree), which is what used to fail requests here.
    expect(engine.output()).not.toMatch(/removed [^;\n]*\bsteady\b/);
  });
});

describe('an ensemble in poll mode', () => {
  const ensemble = [
    'name: "late_ensemble"',
    'platform: "ensemble"',
    'max_batch_size: 8',
    'input [{ name: "IN" data_type: TYPE_FP32 dims: [ -1 ] }]',
    'output [{ name: "OUT" data_type: TYPE_FP32 dims: [ -1 ] }]',
    'ensemble_scheduling { step [{ model_name: "late_scale" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "OUT" } }] }',
  ].join('\n');

  it('loads once its composing model arrives in a later poll', async () => {
    await placeModel(repo, { name: 'late_ensemble', versions: {}, config: ensemble }, { '1/.keep': '' });
    await waitFor('the ensemble to fail for want of late_scale', async () => engine.output().includes("contains models that are not available: late_scale"), SETTLE_MS);
    await placeModel(repo, scaleModel('late_scale', { 1: 6 }));
    await waitFor('late_ensemble to be ready', () => isModelReady(engine.url, 'late_ensemble'), SETTLE_MS);
    const reply = await inferJson(engine.url, 'late_ensemble', [{ name: 'IN', datatype: 'FP32', shape: [1, 2], data: [1, 2] }]);
    expect(reply.json.outputs[0].data).toEqual([6, 12]);
  });
});

describe('model control mode none', () => {
  let none: RunningEngine;
  beforeAll(async () => {
    none = await startEngine({ modelRepository: repo });
  });
  afterAll(async () => {
    expect(await none?.stop()).toBe(0);
  });

  it.each(['load', 'unload'])('refuses the %s API with the same answer as poll mode', async (action) => {
    const reply = await post(`${none.url}/v2/repository/models/steady/${action}`);
    expect(reply.status).toBe(503);
    expect(reply.json).toEqual({ error: CONTROL_DISABLED });
  });

  it('does not pick up models added after start-up', async () => {
    await placeModel(repo, scaleModel('after_start', { 1: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 5 * POLL_SECS * 1000));
    expect(await isModelReady(none.url, 'after_start')).toBe(false);
    expect(await isModelReady(none.url, 'steady')).toBe(true);
  });
});
