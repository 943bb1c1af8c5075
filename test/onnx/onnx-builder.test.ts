/** @jest-environment ./test/fixtures/onnxruntime-environment.js */
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '../../src/errors';
import { AttributeSpec, GraphSpec, attr, encodeModel, onnxElementType } from '../../tools/onnx/onnx-builder';

const sessions: ort.InferenceSession[] = [];
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

async function load(graph: GraphSpec, opsetVersion?: number): Promise<ort.InferenceSession> {
  const session = await ort.InferenceSession.create(Buffer.from(encodeModel({ graph, opsetVersion })));
  sessions.push(session);
  return session;
}

/** A one-node graph whose only output comes from a Constant node with the given attribute. */
function constantGraph(attribute: string, value: AttributeSpec, datatype: 'FP32' | 'INT64' | 'BYTES'): GraphSpec {
  return {
    name: 'constant',
    inputs: [],
    outputs: [{ name: 'OUT', datatype }],
    nodes: [{ opType: 'Constant', inputs: [], outputs: ['OUT'], attributes: { [attribute]: value } }],
  };
}

describe('encodeModel', () => {
  it('declares inputs with fixed and symbolic dims that onnxruntime reports back', async () => {
    const session = await load({
      name: 'dims',
      inputs: [{ name: 'X', datatype: 'FP32', dims: ['batch', 3, 'width'] }],
      outputs: [{ name: 'Y', datatype: 'FP32', dims: ['batch', 3, 'width'] }],
      nodes: [{ opType: 'Identity', inputs: ['X'], outputs: ['Y'] }],
    });
    expect(session.inputMetadata).toEqual([{ name: 'X', isTensor: true, type: 'float32', shape: ['batch', 3, 'width'] }]);
    expect(session.outputNames).toEqual(['Y']);
  });

  it('reads float32, int32 and int64 initializers from raw_data', async () => {
    const session = await load({
      name: 'initializers',
      inputs: [
        { name: 'F', datatype: 'FP32', dims: [2, 3] },
        { name: 'I', datatype: 'INT32', dims: [3] },
      ],
      outputs: [
        { name: 'F_OUT', datatype: 'FP32', dims: [3, 2] },
        { name: 'I_OUT', datatype: 'INT32', dims: [3] },
      ],
      initializers: [
        { name: 'scale', datatype: 'FP32', dims: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, -0.5) },
        { name: 'shape', datatype: 'INT64', dims: [2], data: BigInt64Array.of(3n, -1n) },
        { name: 'offset', datatype: 'INT32', dims: [3], data: Int32Array.of(-7, 0, 2 ** 30) },
      ],
      nodes: [
        { opType: 'Mul', inputs: ['F', 'scale'], outputs: ['scaled'] },
        { opType: 'Reshape', inputs: ['scaled', 'shape'], outputs: ['F_OUT'] },
        { opType: 'Add', inputs: ['I', 'offset'], outputs: ['I_OUT'] },
      ],
    });
    const out = await session.run({
      F: new ort.Tensor('float32', Float32Array.of(1, 1, 1, 2, 2, 2), [2, 3]),
      I: new ort.Tensor('int32', Int32Array.of(1, 2, 3), [3]),
    });
    expect(out.F_OUT.dims).toEqual([3, 2]);
    expect(Array.from(out.F_OUT.data as Float32Array)).toEqual([1, 2, 3, 8, 10, -1]);
    expect(Array.from(out.I_OUT.data as Int32Array)).toEqual([-6, 2, 2 ** 30 + 3]);
  });

  it.each<[string, string, AttributeSpec, 'FP32' | 'INT64' | 'BYTES', unknown[]]>([
    ['int', 'value_int', attr.int(42), 'INT64', [42n]],
    ['negative int', 'value_int', attr.int(-5), 'INT64', [-5n]],
    ['ints', 'value_ints', attr.ints([1, -2, 2 ** 40]), 'INT64', [1n, -2n, 2n ** 40n]],
    ['float', 'value_float', attr.float(0.25), 'FP32', [0.25]],
    ['floats', 'value_floats', attr.floats([1.5, -3]), 'FP32', [1.5, -3]],
    ['string', 'value_string', attr.string('héllo'), 'BYTES', ['héllo']],
  ])('encodes %s attributes so onnxruntime reads the same value', async (_, name, value, datatype, expected) => {
    const session = await load(constantGraph(name, value, datatype));
    const out = await session.run({});
    expect(Array.from(out.OUT.data as ArrayLike<unknown>)).toEqual(expected);
  });

  it('passes node attributes through to the operator (Transpose perm, LeakyRelu alpha)', async () => {
    const session = await load({
      name: 'attributes',
      inputs: [{ name: 'X', datatype: 'FP32', dims: [2, 3] }],
      outputs: [{ name: 'Y', datatype: 'FP32', dims: [3, 2] }],
      nodes: [
        { opType: 'Transpose', inputs: ['X'], outputs: ['T'], attributes: { perm: attr.ints([1, 0]) } },
        { opType: 'LeakyRelu', inputs: ['T'], outputs: ['Y'], attributes: { alpha: attr.float(0.5) } },
      ],
    });
    const out = await session.run({ X: new ort.Tensor('float32', Float32Array.of(1, -2, 3, -4, 5, -6), [2, 3]) });
    expect(Array.from(out.Y.data as Float32Array)).toEqual([1, -2, -1, 5, 3, -3]);
  });

  it('loads with opset 13 as well as the default 17', async () => {
    const graph: GraphSpec = {
      name: 'opset',
      inputs: [{ name: 'X', datatype: 'INT64', dims: [1] }],
      outputs: [{ name: 'Y', datatype: 'INT64', dims: [1] }],
      nodes: [{ opType: 'Identity', inputs: ['X'], outputs: ['Y'] }],
    };
    await expect(load(graph, 13)).resolves.toBeDefined();
  });

  it('gives the same bytes for the same description', () => {
    const graph = (): GraphSpec => ({
      name: 'g',
      inputs: [{ name: 'X', datatype: 'FP32', dims: ['batch', 2] }],
      outputs: [{ name: 'Y', datatype: 'FP32', dims: ['batch', 2] }],
      initializers: [{ name: 'w', datatype: 'FP32', dims: [2], data: Float32Array.of(0.1, 0.2) }],
      nodes: [{ opType: 'Mul', inputs: ['X', 'w'], outputs: ['Y'], attributes: {} }],
    });
    expect(Buffer.from(encodeModel({ graph: graph() })).equals(Buffer.from(encodeModel({ graph: graph() })))).toBe(true);
  });

  it.each([
    ['data that does not fill the dims', { name: 'w', datatype: 'FP32' as const, dims: [2, 2], data: new Float32Array(3) }, /'w'.*4 elements, data has 3/],
    ['data of another type', { name: 'w', datatype: 'INT64' as const, dims: [1], data: new Int32Array(1) }, /'w'.*BigInt64Array/],
  ])('rejects an initializer with %s, naming it', (_, initializer, message) => {
    const graph: GraphSpec = { name: 'bad', inputs: [], outputs: [], nodes: [], initializers: [initializer] };
    expect(() => encodeModel({ graph })).toThrow(InvalidArgumentError);
    expect(() => encodeModel({ graph })).toThrow(message);
  });

  it.each([
    ['FP32', 1],
    ['INT32', 6],
    ['INT64', 7],
    ['BYTES', 8],
    ['BOOL', 9],
    ['FP16', 10],
    ['UINT64', 13],
    ['BF16', 16],
  ] as const)('maps %s to ONNX element type %i', (datatype, elemType) => {
    expect(onnxElementType(datatype)).toBe(elemType);
  });
});
