/**
 * withConstantInput (examples/audio/onnx-constant-input.ts) on a generator model: the
 * input it fixes is gone from the session's inputs and every node reads the constant.
 */
import * as ort from 'onnxruntime-node';
import { withConstantInput } from '../../examples/audio/onnx-constant-input';
import { encodeModel } from '../../tools/onnx/onnx-builder';
import { addSub } from '../../tools/onnx/model-zoo';

const WIDTH = 4;
const constant = { name: 'INPUT1', datatype: 'INT32' as const, dims: [1, WIDTH], data: Int32Array.of(10, 20, 30, 40) };

describe('withConstantInput', () => {
  it('replaces an input by an initializer that every node reading it sees', async () => {
    const session = await ort.InferenceSession.create(withConstantInput(addSub({ width: WIDTH }).bytes, constant));
    try {
      expect(session.inputNames).toEqual(['INPUT0']);
      const result = await session.run({ INPUT0: new ort.Tensor('int32', Int32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [2, WIDTH]) });
      expect(Array.from(result.OUTPUT0!.data as Int32Array)).toEqual([11, 22, 33, 44, 15, 26, 37, 48]);
      expect(Array.from(result.OUTPUT1!.data as Int32Array)).toEqual([-9, -18, -27, -36, -5, -14, -23, -32]);
    } finally {
      await session.release();
    }
  });

  it('names an input the model does not have', () => {
    expect(() => withConstantInput(addSub({ width: WIDTH }).bytes, { ...constant, name: 'sr' })).toThrow("withConstantInput: the model has no input named 'sr'");
  });

  it('refuses a model whose IR version needs every initializer listed as an input', () => {
    const old = encodeModel({ irVersion: 3, graph: { name: 'g', inputs: addSub().inputs, outputs: addSub().outputs, nodes: [] } });
    expect(() => withConstantInput(old, constant)).toThrow('withConstantInput: the model\'s IR version is 3; an input can become a constant from IR version 4');
  });
});
