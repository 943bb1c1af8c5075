/**
 * A wedged model is recoverable, from the outside: real `scoreline engine` processes in
 * explicit mode, models from the project's generator, and a load whose warmup would run
 * for many minutes (a slow MLP, 1000 executions of a 4096-row batch: within every config
 * limit, and on one thread far longer than this test). While it runs the engine keeps
 * answering for its other models; an unload ends it at once (its thread terminated) and
 * a sane load works afterwards; with a short --model-load-timeout-secs the same load
 * fails by itself with a reason naming the timeout.
 *
 * No assertion depends on how fast this machine is: states are polled, and the bounds
 * (seconds, where the operations take milliseconds) only keep a broken build from hanging.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mlp } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { testModels } from '../../fixtures/test-repository';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { getJson, inferJson, post, repositoryIndex, waitFor } from './helpers/engine-http';

const FEATURES = 512;
const WARMUP_ROWS = 4096;

let repo: string;

/** The load API's config override for the slow model; `warmup` adds the endless sample. */
function slowConfig(warmup: boolean): string {
  return JSON.stringify({
    name: 'slow',
    platform: 'onnxruntime_onnx',
    max_batch_size: WARMUP_ROWS,
    input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [FEATURES] }],
    output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [10] }],
    instance_group: [{ kind: 'KIND_CPU', count: 1 }],
    parameters: { intra_op_thread_count: { string_value: '1' } },
    model_warmup: warmup
      ? [{ name: 'endless', batch_size: WARMUP_ROWS, count: 1000, inputs: { INPUT0: { data_type: 'TYPE_FP32', dims: [FEATURES], zero_data: true } } }]
      : [],
  });
}

const loadUrl = (engine: RunningEngine, model: string, action: 'load' | 'unload') => `${engine.url}/v2/repository/models/${model}/${action}`;
const loadSlow = (engine: RunningEngine, warmup: boolean) => post(loadUrl(engine, 'slow', 'load'), { parameters: { config: slowConfig(warmup) } });
const slowEntry = async (engine: RunningEngine) => (await repositoryIndex(engine.url)).find((e) => e.name === 'slow');

async function inferMlp(engine: RunningEngine): Promise<number> {
  const reply = await inferJson(engine.url, 'mlp', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }]);
  return reply.status;
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-wedged-'));
  await writeRepositoryModel(repo, { name: 'mlp', versions: { 1: testModels().mlp.bytes } });
  await writeRepositoryModel(repo, { name: 'slow', versions: { 1: mlp({ layers: [FEATURES, 2048, 2048, 10], seed: 5 }).bytes } });
});

afterAll(async () => {
  await fs.rm(repo, { recursive: true, force: true });
});

describe('a model whose warmup does not end', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode', 'explicit', '--load-model', 'mlp'] });
  });

  afterAll(async () => {
    expect(await engine?.stop()).toBe(0);
  });

  it('leaves the engine serving its other models, and an unload ends it promptly; a sane load works after', async () => {
    const stuck = loadSlow(engine, true);
    await waitFor('slow to be LOADING', async () => (await slowEntry(engine))?.state === 'LOADING', 30_000);
    // Its session is created and the warmup is running in its thread.
    await waitFor('the warmup to run', async () => engine.output().includes("instance 0: running warmup sample 'endless' 1000 times"), 60_000);

    // Everything else answers while the slow model's thread is busy.
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${engine.url}/v2/health/live`)).status).toBe(200);
      expect((await getJson(`${engine.url}/v2/models/mlp`)).name).toBe('mlp');
      expect(await inferMlp(engine)).toBe(200);
    }
    expect((await slowEntry(engine))?.state).toBe('LOADING');

    const unloadStarted = Date.now();
    const unload = await post(loadUrl(engine, 'slow', 'unload'));
    const unloadMs = Date.now() - unloadStarted;
    expect(unload.status).toBe(200);
    // Prompt: the warmup has some 1000 s of work left. 20 s only bounds a broken build.
    expect(unloadMs).toBeLessThan(20_000);

    const loadReply = await stuck;
    expect(loadReply.status).toBe(400);
    expect(loadReply.json.error).toContain("model 'slow': load cancelled by an unload request");
    const entry = await slowEntry(engine);
    expect(entry).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await fetch(`${engine.url}/v2/models/slow/ready`)).status).not.toBe(200);
    await waitFor('the terminated thread to exit', async () => engine.output().includes("model 'slow': the load's 1 model thread(s) ended"), 30_000);

    const again = await loadSlow(engine, false);
    expect(again.status).toBe(200);
    expect((await slowEntry(engine))?.state).toBe('READY');
    const reply = await inferJson(engine.url, 'slow', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, FEATURES], data: new Array(FEATURES).fill(0) }]);
    expect(reply.status).toBe(200);
    expect(reply.json.outputs[0].shape).toEqual([1, 10]);
    expect(await inferMlp(engine)).toBe(200);
  }, 120_000);
});

describe('--model-load-timeout-secs', () => {
  let engine: RunningEngine;

  beforeAll(async () => {
    engine = await startEngine({
      modelRepository: repo,
      args: ['--model-control-mode', 'explicit', '--load-model', 'mlp', '--model-load-timeout-secs', '3'],
    });
  });

  afterAll(async () => {
    expect(await engine?.stop()).toBe(0);
  });

  it('fails a load that runs past it with a load error naming the timeout, terminating its thread', async () => {
    const started = Date.now();
    const reply = await loadSlow(engine, true);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toContain("model 'slow': load did not finish within 3 s (the model load timeout, --model-load-timeout-secs)");
    // At least the timeout; far less than the warmup's own length (which is some 1000 s).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(Date.now() - started).toBeLessThan(60_000);
    const entry = await slowEntry(engine);
    expect(entry?.state).toBe('UNAVAILABLE');
    expect(entry?.reason).toContain('--model-load-timeout-secs');
    await waitFor('the terminated thread to exit', async () => engine.output().includes("model 'slow': the load's 1 model thread(s) ended"), 30_000);
    expect(await inferMlp(engine)).toBe(200);
  }, 120_000);

  it('lets a load that fits in it succeed afterwards', async () => {
    const reply = await loadSlow(engine, false);
    expect(reply.status).toBe(200);
    expect((await slowEntry(engine))?.state).toBe('READY');
  }, 60_000);
});

describe('shutdown during an endless warmup', () => {
  it('ends the load and exits 0 (the load does not hold the drain)', async () => {
    const engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode', 'explicit'] });
    try {
      const stuck = loadSlow(engine, true).catch((err: Error) => err);
      await waitFor('the warmup to run', async () => engine.output().includes("instance 0: running warmup sample 'endless' 1000 times"), 60_000);
      const stopping = Date.now();
      expect(await engine.stop()).toBe(0);
      // The drain waits for requests in flight, up to --exit-timeout-secs (30): the load is
      // one of them and must end well before, not after 1000 executions.
      expect(Date.now() - stopping).toBeLessThan(25_000);
      await stuck;
    } finally {
      await engine.stop();
    }
  }, 120_000);
});
