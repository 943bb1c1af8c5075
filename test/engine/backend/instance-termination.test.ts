/**
 * Ending a model instance's thread while it works: a warmup that would run for minutes is
 * stopped by close() (between two executions: onnxruntime-node aborts the whole process
 * when a thread is terminated inside a native call, and this test process would die with
 * it), an aborted session creation rejects at once and its thread ends after, and a
 * warmup whose tensors cannot be allocated fails in the thread without harming it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxInstance } from '../../../src/engine/backend/onnx-instance';
import type { SessionSpec, WarmupTensor } from '../../../src/engine/backend/session-messages';
import { mlp, scaleBy } from '../../../tools/onnx/model-zoo';

let dir: string;
let slowSpec: SessionSpec;
let scaleSpec: SessionSpec;

const spec = (modelPath: string): SessionSpec => ({ modelPath, executionProvider: 'cpu', deviceId: 0, intraOpNumThreads: 1, interOpNumThreads: 1 });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-instance-termination-'));
  slowSpec = spec(path.join(dir, 'slow.onnx'));
  scaleSpec = spec(path.join(dir, 'scale.onnx'));
  // A few hundred ms per 4096-row execution on one thread: 1000 of them take minutes.
  await writeFile(slowSpec.modelPath, mlp({ layers: [512, 2048, 2048, 10], seed: 5 }).bytes);
  await writeFile(scaleSpec.modelPath, scaleBy(2).bytes);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const slowWarmup: WarmupTensor[] = [{ name: 'INPUT0', type: 'float32', datatype: 'FP32', dims: [4096, 512], fill: { kind: 'zero' } }];

test('close() stops a warmup that would run for minutes, without taking the process down', async () => {
  const instance = await OnnxInstance.create(slowSpec);
  const started = Date.now();
  const warmup = instance.warmUp(slowWarmup, ['OUTPUT0'], 1000);
  const outcome = warmup.then(
    () => 'finished',
    (err: Error) => err.message,
  );
  // Let it be inside its executions.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await instance.close();
  expect(await outcome).not.toBe('finished');
  // Bounded by one execution, not by 1000; the bound only keeps a broken build from hanging.
  expect(Date.now() - started).toBeLessThan(60_000);
  // The process (this one) is alive, and a new thread starts and runs as before.
  const fresh = await OnnxInstance.create(scaleSpec);
  const result = await fresh.run([{ name: 'INPUT0', type: 'float32', dims: [1, 2], data: Float32Array.of(1, 2) }], ['OUTPUT0']);
  expect(Array.from(result.outputs[0]!.data as Float32Array)).toEqual([2, 4]);
  await fresh.close();
}, 90_000);

test('an aborted creation rejects with the abort reason, and its thread ends', async () => {
  const controller = new AbortController();
  const ended: Array<Promise<void>> = [];
  const creating = OnnxInstance.create(slowSpec, { signal: controller.signal, onAbortTermination: (p) => ended.push(p) });
  const reason = new Error('load cancelled');
  controller.abort(reason);
  await expect(creating).rejects.toBe(reason);
  expect(ended).toHaveLength(1);
  await ended[0];
});

test('a warmup whose tensors cannot be allocated fails in the thread, which keeps serving', async () => {
  const instance = await OnnxInstance.create(scaleSpec);
  // 2^42 elements: no typed array that large exists.
  const huge: WarmupTensor[] = [{ name: 'INPUT0', type: 'float32', datatype: 'FP32', dims: [1, 2 ** 42], fill: { kind: 'random' } }];
  await expect(instance.warmUp(huge, ['OUTPUT0'], 1)).rejects.toThrow(/length|alloc/i);
  const result = await instance.run([{ name: 'INPUT0', type: 'float32', dims: [1, 2], data: Float32Array.of(3, 4) }], ['OUTPUT0']);
  expect(Array.from(result.outputs[0]!.data as Float32Array)).toEqual([6, 8]);
  await instance.close();
});
