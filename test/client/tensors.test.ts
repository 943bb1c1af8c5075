/**
 * InferInput, InferRequestedOutput and InferResult without a server: what setData accepts per
 * datatype, the errors a caller meets, and how results come back as typed arrays.
 */
import {
  InferInput,
  InferRequestedOutput,
  InferResult,
  InferenceServerClient,
  InvalidArgumentError,
  DataType,
} from '../../src/client';

/** The binary part of the one-input request body. */
function wireBytes(input: InferInput): Buffer {
  const { parts } = InferenceServerClient.generateRequestBody([input]);
  return Buffer.concat(parts.slice(1));
}

function wireJson(input: InferInput): { inputs: Array<Record<string, unknown>> } {
  return JSON.parse(InferenceServerClient.generateRequestBody([input]).parts[0]!.toString());
}

describe('InferInput.setData', () => {
  it.each<[DataType, unknown, string]>([
    ['BOOL', [true, false, true], '010001'],
    ['BOOL', new Uint8Array([1, 0]), '0100'],
    ['UINT8', [0, 255], '00ff'],
    ['INT8', new Int8Array([-1, 1]), 'ff01'],
    ['UINT16', [[1], [65535]], '0100ffff'],
    ['INT16', [-2], 'feff'],
    ['UINT32', [4294967295], 'ffffffff'],
    ['INT32', [[1, 2], [3, -4]], '010000000200000003000000fcffffff'],
    ['INT64', [1n, -(2n ** 63n)], '01000000000000000000000000000080'],
    ['INT64', [-1], 'ffffffffffffffff'],
    ['UINT64', [2n ** 64n - 1n], 'ffffffffffffffff'],
    ['FP16', [1, -2], '003c00c0'],
    ['FP16', new Float32Array([0.5]), '0038'],
    ['FP16', new Uint16Array([0x3c00]), '003c'],
    ['BF16', [1], '803f'],
    ['FP32', new Float32Array([1]), '0000803f'],
    ['FP32', [1.5], '0000c03f'],
    ['FP64', [1], '000000000000f03f'],
    ['BYTES', ['hi', Buffer.from([0]), new Uint8Array([1, 2])], '02000000' + '6869' + '01000000' + '00' + '02000000' + '0102'],
  ])('%s from %p goes on the wire as %s', (datatype, data, hexBytes) => {
    const count = Array.isArray(data) ? (data as unknown[]).flat().length : (data as ArrayLike<unknown>).length;
    const input = new InferInput('X', [count], datatype).setData(data as never);
    expect(wireBytes(input).toString('hex')).toBe(hexBytes);
  });

  it.each<[DataType, unknown[], unknown[]]>([
    ['BOOL', [true, false], [true, false]],
    ['INT64', [2n ** 60n, -3n], [2 ** 60, -3]],
    ['FP16', [0.5, -1], [0.5, -1]],
    ['FP32', [0.25, 2], [0.25, 2]],
    ['BYTES', ['naïve', Buffer.from('x')], ['naïve', 'x']],
  ])('%s with binaryData: false puts the values in the JSON', (datatype, data, json) => {
    const input = new InferInput('X', [data.length], datatype).setData(data as never, { binaryData: false });
    expect(wireJson(input).inputs[0]).toEqual({ name: 'X', shape: [data.length], datatype, data: json });
    expect(InferenceServerClient.generateRequestBody([input]).headerLength).toBeUndefined();
  });

  const x = (datatype: DataType, shape = [1]) => new InferInput('X', shape, datatype);
  const send = (input: InferInput) => InferenceServerClient.generateRequestBody([input]);
  it.each<[string, () => unknown, RegExp]>([
    ['a typed array of the wrong type', () => x('FP32').setData(new Float64Array(1)), /got Float64Array for FP32; expected Float32Array/],
    ['too few elements', () => send(x('FP32', [2, 2]).setData([1, 2, 3])), /data has 3 elements but shape \[2,2\] needs 4/],
    ['an integer out of range', () => x('UINT8').setData([256]), /element 0 of 'data' must be an integer in \[0, 255\]/],
    ['a fraction for an integer type', () => x('INT32').setData([1.5]), /must be an integer/],
    ['a bigint out of range', () => x('INT64').setData([2n ** 63n]), /element 0 must be an integer in/],
    ['BF16 as JSON', () => x('BF16').setData([1], { binaryData: false }), /BF16 inputs must be sent as binary data/],
    ['non-UTF-8 BYTES as JSON', () => x('BYTES').setData([Buffer.from([0xff])], { binaryData: false }), /element 0 is not valid UTF-8/],
    ['a number among BYTES', () => x('BYTES').setData([1] as never), /BYTES element 0 must be a string or a Uint8Array/],
    ['a typed array for BYTES', () => x('BYTES').setData(new Uint8Array(1)), /one per element/],
    ['no data at all', () => send(x('FP32')), /input 'X' has no data; call setData\(\)/],
    ['an unknown datatype', () => x('FLOAT' as DataType), /datatype must be one of BOOL, /],
    ['a negative dimension', () => x('FP32', [-1]), /shape must be an array of non-negative integers/],
    ['a string as data', () => x('FP32').setData('1' as never), /must be a typed array or an array/],
  ])('rejects %s with InvalidArgumentError', (_, act, message) => {
    expect(act).toThrow(InvalidArgumentError);
    expect(act).toThrow(message);
  });

  it('follows setShape, as tritonclient set_shape does', () => {
    const input = new InferInput('X', [4], 'INT32').setData([1, 2, 3, 4]).setShape([2, 2]);
    expect(input.shape).toEqual([2, 2]);
    expect(wireJson(input).inputs[0]).toMatchObject({ shape: [2, 2], parameters: { binary_data_size: 16 } });
  });
});

describe('request parameters', () => {
  const one = () => [new InferInput('X', [1], 'FP32').setData([1])];
  it.each(['sequence_id', 'sequence_start', 'sequence_end', 'priority', 'binary_data_output'])(
    'refuses the reserved parameter %s, as tritonclient does',
    (key) => {
      expect(() => InferenceServerClient.generateRequestBody(one(), { parameters: { [key]: 1 } })).toThrow(
        `"${key}" is a reserved parameter and cannot be specified`,
      );
    },
  );

  it.each<[string, unknown, unknown]>([
    ['inputs that are plain objects', [{ name: 'X', data: [1] }], undefined],
    ['inputs that are not an array', 'X', undefined],
    ['outputs that are names', one(), ['Y']],
  ])('rejects %s, as plain JavaScript might pass them', (_, inputs, outputs) => {
    expect(() => InferenceServerClient.generateRequestBody(inputs as never, { outputs: outputs as never })).toThrow(
      /must be an array of Infer(Input|RequestedOutput)/,
    );
  });

  it('sends sequence fields only for a non-zero sequence id', () => {
    const json = (fields: object) => JSON.parse(InferenceServerClient.generateRequestBody(one(), fields).parts[0]!.toString()).parameters;
    expect(json({ sequenceId: 0, sequenceStart: true })).toEqual({ binary_data_output: true });
    expect(json({ sequenceId: 7, sequenceStart: true })).toEqual({
      sequence_id: 7,
      sequence_start: true,
      sequence_end: false,
      binary_data_output: true,
    });
  });

  it.each([
    ['priority', -1],
    ['timeout', 1.5],
  ])('rejects a %s of %p', (option, value) => {
    const build = () => InferenceServerClient.generateRequestBody(one(), { [option]: value });
    expect(build).toThrow(`infer option '${option}' must be a non-negative integer`);
  });

  it('builds requested outputs with classification before binary_data', () => {
    expect(new InferRequestedOutput('P', { classCount: 3 }).toWire()).toEqual({ name: 'P', parameters: { classification: 3, binary_data: true } });
    expect(() => new InferRequestedOutput('P', { classCount: -1 })).toThrow(/'classCount' must be a non-negative integer/);
  });
});

describe('InferResult from a JSON response', () => {
  const response = (datatype: string, data: unknown[]) =>
    InferResult.fromResponseBody(Buffer.from(JSON.stringify({ model_name: 'm', outputs: [{ name: 'Y', datatype, shape: [data.length], data }] })));

  it.each<[string, unknown[], unknown]>([
    ['BOOL', [true, false], new Uint8Array([1, 0])],
    ['UINT8', [1, 2], new Uint8Array([1, 2])],
    ['UINT16', [1], new Uint16Array([1])],
    ['UINT32', [1], new Uint32Array([1])],
    ['UINT64', [1], new BigUint64Array([1n])],
    ['INT8', [-1], new Int8Array([-1])],
    ['INT16', [-1], new Int16Array([-1])],
    ['INT32', [-1], new Int32Array([-1])],
    ['INT64', [-1], new BigInt64Array([-1n])],
    ['FP32', [0.5], new Float32Array([0.5])],
    ['FP64', [0.1], new Float64Array([0.1])],
    ['BYTES', ['a', 'b'], [Buffer.from('a'), Buffer.from('b')]],
  ])('gives %s as its typed array', (datatype, data, expected) => {
    expect(response(datatype, data).asTypedArray('Y')).toEqual(expected);
  });

  it.each(['FP16', 'BF16'])('gives %s only as raw 16-bit patterns', (datatype) => {
    const result = response(datatype, [1]);
    expect(() => result.asTypedArray('Y')).toThrow(`output 'Y' is ${datatype}, which has no JavaScript typed array`);
    expect(result.asTypedArray('Y', { raw: true })).toEqual(new Uint16Array([datatype === 'FP16' ? 0x3c00 : 0x3f80]));
  });
});
