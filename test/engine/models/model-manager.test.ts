/**
 * The model manager in-process, with real onnxruntime instances: what a reload does to a
 * version someone already holds, how the control API is gated, and what a failed load of
 * an unknown name leaves behind.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelManager } from '../../../src/engine/models/model-manager';
import { silentLogger } from '../../../src/logger';
import { scaleBy } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';

let repo: string;
const managers: ModelManager[] = [];

function manager(explicitModelControl?: boolean): ModelManager {
  const m = new ModelManager({ repository: repo, autoCompleteConfig: true, defaultMaxBatchSize: 4, logger: silentLogger, explicitModelControl });
  managers.push(m);
  return m;
}

async function writeScale(factor: number): Promise<void> {
  const fp32 = (name: string) => ({ name, datatype: 'FP32' as const, dims: [-1] });
  await writeRepositoryModel(repo, {
    name: 'm',
    versions: { 1: scaleBy(factor).bytes },
    config: configText({ name: 'm', maxBatchSize: 4, inputs: [fp32('INPUT0')], outputs: [fp32('OUTPUT0')] }),
  });
}

const request = () => ({ inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 2], data: Float32Array.of(1, 2) }] });

beforeEach(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-manager-'));
  await writeScale(2);
});

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await fs.rm(repo, { recursive: true, force: true });
});

describe('ModelManager', () => {
  it('serves a request that looked up a version just before a reload with the new version', async () => {
    const models = manager();
    await models.load('m');
    const held = models.getVersion('m');
    await writeScale(10);
    await models.load('m');
    expect(models.getVersion('m')).not.toBe(held);
    const response = await held.infer(request());
    expect(Array.from(response.outputs[0]!.data as Float32Array)).toEqual([10, 20]);
  });

  it('refuses load and unload outside explicit mode, with Triton\'s message, but follows the repository', async () => {
    const models = manager(false);
    await expect(models.load('m')).rejects.toMatchObject({
      code: 'SCORELINE_UNAVAILABLE',
      status: 503,
      message: 'explicit model load / unload is not allowed if polling is enabled',
    });
    await models.loadFromRepository('m');
    expect(models.isModelReady('m')).toBe(true);
    await expect(models.unload('m')).rejects.toMatchObject({ status: 503 });
    await models.unloadFromRepository('m');
    expect(models.isModelReady('m')).toBe(false);
  });

  it('leaves no trace of a name the repository does not have', async () => {
    const models = manager();
    await expect(models.load('ghost')).rejects.toThrow("failed to load 'ghost', no version is available");
    expect((await models.repositoryIndex(false)).map((e) => e.name)).toEqual(['m']);
    expect(models.allReady()).toBe(true);
  });
});
