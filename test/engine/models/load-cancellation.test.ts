/**
 * The model manager in-process, with real onnxruntime instances, and loads that would not
 * end by themselves (a slow MLP whose warmup is 1000 executions of a 4096-row batch, each
 * a few hundred ms on one thread): what an unload and the load timeout do to the loads
 * queued on a model, and to the version it already serves.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseEngineArgs } from '../../../src/cli/engine-command';
import { resolveEngineOptions } from '../../../src/engine/engine-options';
import { ModelManager } from '../../../src/engine/models/model-manager';
import { silentLogger } from '../../../src/logger';
import { mlp } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';

const FEATURES = 512;
const ROWS = 4096;

let repo: string;
const managers: ModelManager[] = [];

function manager(loadTimeoutSecs?: number): ModelManager {
  const m = new ModelManager({ repository: repo, autoCompleteConfig: true, defaultMaxBatchSize: 4, logger: silentLogger, loadTimeoutSecs });
  managers.push(m);
  return m;
}

/** The config override; with `endless`, a warmup far longer than any test. */
function config(endless: boolean): object {
  return {
    name: 's',
    platform: 'onnxruntime_onnx',
    max_batch_size: ROWS,
    input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [FEATURES] }],
    output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [10] }],
    instance_group: [{ kind: 'KIND_CPU', count: 1 }],
    parameters: { intra_op_thread_count: { string_value: '1' } },
    model_warmup: endless
      ? [{ name: 'endless', batch_size: ROWS, count: 1000, inputs: { INPUT0: { data_type: 'TYPE_FP32', dims: [FEATURES], random_data: true } } }]
      : [],
  };
}

const request = () => ({ inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, FEATURES], data: new Float32Array(FEATURES) }] });

async function stateOf(models: ModelManager): Promise<{ state?: string; reason?: string }> {
  return (await models.repositoryIndex(false)).find((e) => e.name === 's') ?? {};
}

/** Resolves with how the promise settled, so a rejection can be awaited later without going unhandled. */
const settle = (p: Promise<void>) => p.then(() => 'loaded', (err: Error) => err.message);

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-load-cancel-'));
  await writeRepositoryModel(repo, { name: 's', versions: { 1: mlp({ layers: [FEATURES, 2048, 2048, 10], seed: 5 }).bytes } });
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

afterAll(async () => {
  await fs.rm(repo, { recursive: true, force: true });
});

describe('an unload', () => {
  it('cancels every load queued before it, running or waiting, and leaves the model unloaded', async () => {
    const models = manager();
    const first = settle(models.load('s', config(true)));
    const second = settle(models.load('s', config(true)));
    await models.unload('s');
    expect(await first).toBe("model 's': load cancelled by an unload request");
    expect(await second).toBe("model 's': load cancelled by an unload request");
    expect(await stateOf(models)).toEqual({ name: 's', state: 'UNAVAILABLE', reason: 'unloaded' });
    // A load asked for after the unload is not cancelled by it.
    await models.load('s', config(false));
    expect(models.isModelReady('s')).toBe(true);
  }, 60_000);

  it('of a model whose reload is stuck: the old version serves meanwhile, and the unload ends both', async () => {
    const models = manager();
    await models.load('s', config(false));
    const reload = settle(models.load('s', config(true)));
    // The reload is running (the old version keeps serving while it does).
    const response = await models.getVersion('s').infer(request());
    expect(response.outputs[0]!.shape).toEqual([1, 10]);
    await models.unload('s');
    expect(await reload).toBe("model 's': load cancelled by an unload request");
    expect(models.isModelReady('s')).toBe(false);
    expect(await stateOf(models)).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
  }, 60_000);
});

describe('the load timeout', () => {
  it('fails a reload that runs past it and keeps the old version serving', async () => {
    const models = manager(2);
    await models.load('s', config(false));
    await expect(models.load('s', config(true))).rejects.toMatchObject({
      code: 'SCORELINE_MODEL_LOAD_FAILED',
      message: "model 's': load did not finish within 2 s (the model load timeout, --model-load-timeout-secs); its model threads were terminated",
    });
    expect(models.isModelReady('s')).toBe(true);
    const response = await models.getVersion('s').infer(request());
    expect(response.outputs[0]!.shape).toEqual([1, 10]);
  }, 60_000);

  it('shutdown cancels a load in progress instead of waiting for it', async () => {
    const models = manager();
    const stuck = settle(models.load('s', config(true)));
    // Let the warmup start; close() must not wait for its 1000 executions.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await models.close();
    expect(await stuck).toBe('the engine is shutting down');
  }, 60_000);
});

describe('--model-load-timeout-secs / modelLoadTimeoutSecs', () => {
  it('defaults to 600 s, takes 0 for no limit, and refuses what a timer cannot hold', () => {
    expect(resolveEngineOptions({ modelRepository: 'r' }).modelLoadTimeoutSecs).toBe(600);
    expect(parseEngineArgs(['--model-repository', 'r', '--model-load-timeout-secs', '0'])).toMatchObject({ modelLoadTimeoutSecs: 0 });
    for (const bad of [-1, 604_801]) {
      expect(() => resolveEngineOptions({ modelRepository: 'r', modelLoadTimeoutSecs: bad })).toThrow("option 'modelLoadTimeoutSecs'");
    }
    expect(() => parseEngineArgs(['--model-repository', 'r', '--model-load-timeout-secs', 'soon'])).toThrow(
      "--model-load-timeout-secs must be a number, got 'soon'",
    );
  });
});
