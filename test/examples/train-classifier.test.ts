/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import * as ort from 'onnxruntime-node';
import { classifierToOnnx } from '../../tools/train/classifier-onnx';
import { denseRows, selectRows, stackSparse } from '../../tools/train/sparse-rows';
import { fitStandardizer, foldStandardizer, standardize } from '../../tools/train/standardizer';
import { predictClasses, predictProbabilities, trainClassifier } from '../../tools/train/train-classifier';
import { InvalidArgumentError } from '../../src/errors';

/** Points on a grid, class 1 above the line y = x. */
const grid: number[][] = [];
for (let x = -2; x <= 2; x += 0.5) for (let y = -2; y <= 2; y += 0.5) if (x !== y) grid.push([x, y]);
const above = grid.map(([x, y]) => (y! > x! ? 1 : 0));

const xor = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
];
const xorLabels = [0, 1, 1, 0];

function accuracy(predicted: Int32Array, labels: readonly number[]): number {
  return labels.filter((y, i) => predicted[i] === y).length / labels.length;
}

describe('trainClassifier', () => {
  it('separates two classes split by a line, with softmax regression', () => {
    const { layers, losses } = trainClassifier(denseRows(grid), above, { classes: 2, epochs: 200, learningRate: 0.1 });
    expect(layers).toHaveLength(1);
    expect(accuracy(predictClasses(layers, denseRows(grid)), above)).toBe(1);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]! / 4);
  });

  it('needs a hidden layer for XOR, and learns it with one', () => {
    const linear = trainClassifier(denseRows(xor), xorLabels, { classes: 2, epochs: 300, learningRate: 0.1 });
    expect(accuracy(predictClasses(linear.layers, denseRows(xor)), xorLabels)).toBeLessThan(1);
    const mlp = trainClassifier(denseRows(xor), xorLabels, { classes: 2, hidden: [8], epochs: 500, learningRate: 0.05, seed: 3 });
    expect(accuracy(predictClasses(mlp.layers, denseRows(xor)), xorLabels)).toBe(1);
  });

  it('gives the same weights for the same data and seed, and others for another seed', () => {
    const options = { classes: 2, hidden: [4], epochs: 20, seed: 11 };
    const a = trainClassifier(denseRows(grid), above, options);
    const b = trainClassifier(denseRows(grid), above, options);
    const c = trainClassifier(denseRows(grid), above, { ...options, seed: 12 });
    expect(a.layers[0]!.weight).toEqual(b.layers[0]!.weight);
    expect(a.losses).toEqual(b.losses);
    expect(a.layers[0]!.weight).not.toEqual(c.layers[0]!.weight);
  });

  it('trains on sparse rows as on the same rows stored densely', () => {
    const sparse = stackSparse(
      grid.map((row) => {
        const indices = row.flatMap((v, i) => (v === 0 ? [] : [i]));
        return { indices: Int32Array.from(indices), values: Float64Array.from(indices.map((i) => row[i]!)) };
      }),
      2,
    );
    const options = { classes: 2, epochs: 30, seed: 5 };
    expect(trainClassifier(sparse, above, options).losses).toEqual(trainClassifier(denseRows(grid), above, options).losses.map((l) => expect.closeTo(l, 12)));
  });

  it.each([
    ['a label past the classes', [0, 2]],
    ['a negative label', [-1, 0]],
    ['a fractional label', [0.5, 1]],
    ['fewer labels than rows', [0]],
  ])('refuses %s', (_, labels) => {
    expect(() => trainClassifier(denseRows([[0], [1]]), labels, { classes: 2, epochs: 1 })).toThrow(InvalidArgumentError);
  });
});

describe('selectRows', () => {
  it('picks rows in the order asked', () => {
    const picked = selectRows(denseRows([[1, 2], [3, 4], [5, 6]]), [2, 0]);
    expect(Array.from(picked.values)).toEqual([5, 6, 1, 2]);
    expect(Array.from(picked.rowStarts)).toEqual([0, 2, 4]);
  });
});

describe('foldStandardizer', () => {
  it('makes the first layer take raw rows and give what it gave standardized ones', () => {
    const raw = grid.map(([x, y]) => [x! * 10 + 50, y! * 0.1 - 3]);
    const s = fitStandardizer(raw);
    const { layers } = trainClassifier(denseRows(standardize(raw, s)), above, { classes: 2, hidden: [3], epochs: 50 });
    const folded = [foldStandardizer(layers[0]!, s), ...layers.slice(1)];
    const expected = predictProbabilities(layers, denseRows(standardize(raw, s)));
    predictProbabilities(folded, denseRows(raw)).forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 4));
  });
});

describe('classifierToOnnx', () => {
  it('writes a model that onnxruntime runs to the probabilities the trainer predicts, for any batch size', async () => {
    const { layers } = trainClassifier(denseRows(grid), above, { classes: 2, hidden: [5, 4], epochs: 30 });
    const session = await ort.InferenceSession.create(classifierToOnnx(layers, { inputName: 'x', outputName: 'p' }));
    try {
      expect(session.inputMetadata[0]).toMatchObject({ name: 'x', shape: ['batch', 2] });
      for (const rows of [grid.slice(0, 1), grid.slice(0, 7)]) {
        const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 2]) });
        const expected = predictProbabilities(layers, denseRows(rows));
        (out.p!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
      }
    } finally {
      await session.release();
    }
  });

  it('refuses layers that do not chain', () => {
    const layer = (inFeatures: number, outFeatures: number) => ({ inFeatures, outFeatures, weight: new Float32Array(inFeatures * outFeatures), bias: new Float32Array(outFeatures) });
    expect(() => classifierToOnnx([layer(2, 3), layer(4, 2)])).toThrow(/layer 1 takes 4 inputs, layer 0 gives 3/);
  });
});
