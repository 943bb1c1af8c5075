/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import * as ort from 'onnxruntime-node';
import { makeBatchable } from '../../examples/image/onnx-batch-dim';
import { encodeModel } from '../../tools/onnx/onnx-builder';

/** Like an exported network: batch fixed at 1, a side output, value_info recorded for batch 1. */
function exportedAtBatchOne(): Uint8Array {
  return encodeModel({
    graph: {
      name: 'fixed',
      inputs: [{ name: 'input', datatype: 'FP32', dims: [1, 3] }],
      outputs: [
        { name: 'output', datatype: 'FP32', dims: [1, 3] },
        { name: 'side', datatype: 'FP32', dims: [1, 3] },
      ],
      nodes: [
        { opType: 'Relu', name: 'relu', inputs: ['input'], outputs: ['side'] },
        { opType: 'Sigmoid', name: 'sigmoid', inputs: ['side'], outputs: ['output'] },
      ],
    },
  });
}

describe('makeBatchable', () => {
  it('lets onnxruntime run a batch-1 model on any batch, with only the outputs kept', async () => {
    const session = await ort.InferenceSession.create(makeBatchable(exportedAtBatchOne(), { inputs: ['input'], outputs: ['output'] }));
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: 'input', shape: ['batch', 3] });
      expect(session.outputNames).toEqual(['output']);
      const x = Float32Array.of(-1, 0, 1, 2, -2, 3);
      const out = await session.run({ input: new ort.Tensor('float32', x, [2, 3]) });
      expect(out.output!.dims).toEqual([2, 3]);
      (out.output!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-Math.max(0, x[i]!))), 6));
    } finally {
      await session.release();
    }
  });

  it('keeps everything else byte for byte (no change when nothing needs one)', () => {
    const original = exportedAtBatchOne();
    const once = makeBatchable(original, { inputs: ['input'], outputs: ['output', 'side'] });
    expect(Buffer.from(makeBatchable(once, { inputs: ['input'], outputs: ['output', 'side'] })).equals(Buffer.from(once))).toBe(true);
  });

  it.each([
    ['an input', { inputs: ['image'], outputs: ['output'] }, /no input named 'image'/],
    ['an output', { inputs: ['input'], outputs: ['mask'] }, /no output named 'mask'/],
  ])('names %s the model does not have', (_, options, message) => {
    expect(() => makeBatchable(exportedAtBatchOne(), options)).toThrow(message);
  });

  it('refuses bytes that are not a model', () => {
    expect(() => makeBatchable(Uint8Array.of(0x08, 0x08), { inputs: [], outputs: [] })).toThrow(/no ONNX graph/);
  });
});
