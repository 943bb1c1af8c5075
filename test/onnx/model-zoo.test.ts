/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import * as ort from 'onnxruntime-node';
import {
  IDENTITY_DATATYPES,
  OnnxModel,
  addSub,
  classifier,
  fixedShape,
  identityAll,
  identityTensorNames,
  mlp,
  scaleBy,
  stringIdentity,
} from '../../tools/onnx/model-zoo';
import { DataType, allocateTypedArray, dataTypeInfo } from '../../src/tensor/datatypes';
import { mlpForward, sampleInput } from '../fixtures/mlp-reference';

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

async function load(model: OnnxModel): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(Buffer.from(model.bytes));
  sessions.push(session);
  return session;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tolerance * Math.max(1, Math.abs(expected[i]))) {
      throw new Error(`element ${i}: ${actual[i]} is not within ${tolerance} of ${expected[i]}`);
    }
  }
}

const fp32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

describe('mlp', () => {
  it.each([
    ['two layers', [8, 16, 4], false],
    ['four layers with softmax', [6, 32, 32, 12, 5], true],
  ])('computes what a JavaScript forward pass of its weights computes (%s)', async (_, layers, softmax) => {
    const model = mlp({ layers, seed: 3, softmax });
    const session = await load(model);
    const batch = 3;
    const input = sampleInput(batch, layers[0]);
    const out = await session.run({ INPUT0: fp32(input, [batch, layers[0]]) });
    expect(out.OUTPUT0.dims).toEqual([batch, layers[layers.length - 1]]);
    expectClose(out.OUTPUT0.data as Float32Array, mlpForward(model, input, batch));
  });

  it('declares a symbolic batch dim by default and a fixed one when given a number', async () => {
    const symbolic = await load(mlp({ layers: [3, 2] }));
    const fixed = await load(mlp({ layers: [3, 2], batchDim: 5, inputName: 'x', outputName: 'y' }));
    expect(symbolic.inputMetadata[0]).toMatchObject({ name: 'INPUT0', type: 'float32', shape: ['batch', 3] });
    expect(symbolic.outputMetadata[0]).toMatchObject({ name: 'OUTPUT0', shape: ['batch', 2] });
    expect(fixed.inputMetadata[0]).toMatchObject({ name: 'x', shape: [5, 3] });
    expect(fixed.outputMetadata[0]).toMatchObject({ name: 'y', shape: [5, 2] });
  });

  it('keeps weights within 1/sqrt(fan_in)', () => {
    const { layers } = mlp({ layers: [64, 16, 4] });
    for (const layer of layers) {
      const bound = 1 / Math.sqrt(layer.inFeatures);
      expect(layer.weight).toHaveLength(layer.inFeatures * layer.outFeatures);
      expect(Math.max(...layer.weight.map(Math.abs), ...layer.bias.map(Math.abs))).toBeLessThanOrEqual(bound);
    }
  });

  it('gives the same bytes for the same seed and different bytes for another seed', () => {
    const bytes = (seed: number) => Buffer.from(mlp({ layers: [4, 8, 2], seed }).bytes);
    expect(bytes(1).equals(bytes(1))).toBe(true);
    expect(bytes(1).equals(bytes(2))).toBe(false);
  });

  it('rejects fewer than two layer sizes', () => {
    expect(() => mlp({ layers: [4] })).toThrow(/mlp layers/);
  });
});

describe('classifier', () => {
  it('returns probabilities over its labels that match the forward pass and sum to 1', async () => {
    const model = classifier({ labels: ['a', 'b', 'c', 'd'] });
    expect(model.labels).toEqual(['a', 'b', 'c', 'd']);
    const session = await load(model);
    const input = sampleInput(2, 4, 5);
    const out = await session.run({ INPUT0: fp32(input, [2, 4]) });
    const probabilities = out.OUTPUT0.data as Float32Array;
    expect(out.OUTPUT0.dims).toEqual([2, 4]);
    expectClose(probabilities, mlpForward(model, input, 2));
    for (const row of [probabilities.subarray(0, 4), probabilities.subarray(4)]) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });
});

describe('small models', () => {
  it('addSub returns a + b and a - b on INT32', async () => {
    const session = await load(addSub());
    const a = Int32Array.from({ length: 32 }, (_, i) => i * 1000);
    const b = Int32Array.from({ length: 32 }, (_, i) => 7 - i);
    const out = await session.run({ INPUT0: new ort.Tensor('int32', a, [2, 16]), INPUT1: new ort.Tensor('int32', b, [2, 16]) });
    expect(Array.from(out.OUTPUT0.data as Int32Array)).toEqual(Array.from(a, (x, i) => x + b[i]));
    expect(Array.from(out.OUTPUT1.data as Int32Array)).toEqual(Array.from(a, (x, i) => x - b[i]));
    expect(session.inputMetadata[0]).toMatchObject({ type: 'int32', shape: ['batch', 16] });
  });

  it('stringIdentity returns its strings unchanged', async () => {
    const session = await load(stringIdentity());
    const out = await session.run({ INPUT0: new ort.Tensor('string', ['héllo', '', 'x y'], [3, 1]) });
    expect(out.OUTPUT0.data).toEqual(['héllo', '', 'x y']);
    expect(session.inputMetadata[0]).toMatchObject({ type: 'string', shape: ['batch', 1] });
  });

  it('fixedShape doubles a [4] tensor and declares no symbolic dims', async () => {
    const model = fixedShape();
    const session = await load(model);
    const out = await session.run({ INPUT0: fp32(Float32Array.of(1, -2, 0.5, 3), [4]) });
    expect(Array.from(out.OUTPUT0.data as Float32Array)).toEqual([2, -4, 1, 6]);
    expect(session.inputMetadata[0]).toMatchObject({ shape: [4] });
    expect(session.outputMetadata[0]).toMatchObject({ shape: [4] });
    expect(model.factor).toBe(2);
  });

  it.each([1, 2, 3])('scaleBy(%i) multiplies tensors of any [batch, n] shape by its factor', async (k) => {
    const session = await load(scaleBy(k));
    expect(session.inputMetadata[0]).toMatchObject({ shape: ['batch', 'n'] });
    for (const dims of [[1, 1], [2, 5], [3, 2]]) {
      const input = sampleInput(dims[0], dims[1]);
      const out = await session.run({ INPUT0: fp32(input, dims) });
      expect(out.OUTPUT0.dims).toEqual(dims);
      expect(Array.from(out.OUTPUT0.data as Float32Array)).toEqual(Array.from(input, (x) => Math.fround(x * k)));
    }
  });
});

describe('identityAll', () => {
  /** Two rows of three distinct values, typed for each datatype. */
  function sample(datatype: DataType): ort.Tensor {
    const info = dataTypeInfo(datatype);
    const values = [0, 1, 2, 3, 4, 5];
    if (datatype === 'BYTES') return new ort.Tensor('string', values.map((v) => `s${v}`), [2, 3]);
    if (datatype === 'BOOL') return new ort.Tensor('bool', Uint8Array.from(values, (v) => v % 2), [2, 3]);
    // FP16 travels as raw 16-bit patterns: 0x3c00 is 1.0, so these are 1.0, 1.0009765625, ...
    const numbers = datatype === 'FP16' ? values.map((v) => 0x3c00 + v) : values;
    const array = allocateTypedArray(datatype, numbers.length);
    numbers.forEach((v, i) => ((array as unknown as (number | bigint)[])[i] = info.isBigInt ? BigInt(v) : v));
    // The cast only picks one overload of Tensor's constructor; type and array agree by the datatype table.
    return new ort.Tensor(info.onnxType as 'float32', array as unknown as Float32Array, [2, 3]);
  }

  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await load(identityAll());
  });

  it('has one input and one output per datatype, named after it', () => {
    expect(session.inputNames).toEqual(IDENTITY_DATATYPES.map((d) => identityTensorNames(d).input));
    expect(session.outputNames).toEqual(IDENTITY_DATATYPES.map((d) => identityTensorNames(d).output));
    expect(identityTensorNames('BYTES')).toEqual({ input: 'INPUT_STRING', output: 'OUTPUT_STRING' });
  });

  it('covers every KServe datatype but BF16, which onnxruntime-node cannot feed', () => {
    expect([...IDENTITY_DATATYPES].sort()).toEqual(
      ['BOOL', 'BYTES', 'FP16', 'FP32', 'FP64', 'INT16', 'INT32', 'INT64', 'INT8', 'UINT16', 'UINT32', 'UINT64', 'UINT8'],
    );
  });

  it.each(IDENTITY_DATATYPES.map((d) => [d]))('returns %s tensors unchanged', async (datatype) => {
    const { input, output } = identityTensorNames(datatype);
    const feeds: Record<string, ort.Tensor> = {};
    for (const d of IDENTITY_DATATYPES) feeds[identityTensorNames(d).input] = sample(d);
    const out = await session.run(feeds, [output]);
    expect(out[output].type).toBe(feeds[input].type);
    expect(out[output].dims).toEqual([2, 3]);
    expect(out[output].data).toEqual(feeds[input].data);
    const declared = session.inputMetadata.find((m) => m.name === input);
    expect(declared).toMatchObject({ type: dataTypeInfo(datatype).onnxType, shape: ['batch', 'n'] });
  });
});
