/**
 * OnnxInstance's hand-over of input buffers to its session thread: whole buffers move
 * (the caller's copy is detached), views into larger buffers are copied first so that the
 * larger buffer (in the engine: a request's HTTP body) stays the caller's and intact.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxInstance } from '../../../src/engine/backend/onnx-instance';
import { addSub, scaleBy } from '../../../tools/onnx/model-zoo';

describe('OnnxInstance input hand-over', () => {
  let dir: string;
  let instance: OnnxInstance;
  let twoInputs: OnnxInstance;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-onnx-instance-'));
    const start = async (name: string, bytes: Uint8Array) => {
      const modelPath = path.join(dir, `${name}.onnx`);
      await writeFile(modelPath, bytes);
      return OnnxInstance.create({ modelPath, executionProvider: 'cpu', deviceId: 0, intraOpNumThreads: 1, interOpNumThreads: 1 });
    };
    instance = await start('scale', scaleBy(3).bytes);
    twoInputs = await start('add_sub', addSub({ width: 2 }).bytes);
  });

  afterAll(async () => {
    await instance?.close();
    await twoInputs?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const outputOf = (result: Awaited<ReturnType<OnnxInstance['run']>>) => Array.from(result.outputs[0]!.data as Float32Array);

  test('a whole buffer is moved to the session thread: computed on, and detached here', async () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const result = await instance.run([{ name: 'INPUT0', type: 'float32', dims: [2, 2], data }], ['OUTPUT0']);
    expect(outputOf(result)).toEqual([3, 6, 9, 12]);
    expect(data.buffer.byteLength).toBe(0);
  });

  test('a view into a larger buffer is copied: the right rows computed on, the larger buffer left intact', async () => {
    const body = new Float32Array([9, 9, 1, 2, 3, 4, 9]);
    const view = body.subarray(2, 6);
    const result = await instance.run([{ name: 'INPUT0', type: 'float32', dims: [2, 2], data: view }], ['OUTPUT0']);
    expect(outputOf(result)).toEqual([3, 6, 9, 12]);
    expect(Array.from(body)).toEqual([9, 9, 1, 2, 3, 4, 9]);
  });

  test('two inputs on one buffer: moved once, both computed on', async () => {
    const data = Int32Array.of(5, 7);
    const result = await twoInputs.run(
      [
        { name: 'INPUT0', type: 'int32', dims: [1, 2], data },
        { name: 'INPUT1', type: 'int32', dims: [1, 2], data },
      ],
      ['OUTPUT0', 'OUTPUT1'],
    );
    expect(Array.from(result.outputs[0]!.data as Int32Array)).toEqual([10, 14]);
    expect(Array.from(result.outputs[1]!.data as Int32Array)).toEqual([0, 0]);
  });
});
