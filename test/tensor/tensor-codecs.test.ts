import { MalformedRequestError, InvalidArgumentError } from '../../src/errors';
import {
  DATATYPES,
  DataType,
  bfloat16BitsToFloat32,
  decodeBytesElements,
  encodeBytesElements,
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  flattenNested,
  joinInferenceBody,
  sliceBinaryTensors,
  splitInferenceBody,
  tensorDataFromJson,
  tensorDataFromRaw,
  tensorDataJsonText,
  tensorDataToRaw,
} from '../../src/tensor';

describe('BYTES elements', () => {
  it('are framed as a 4-byte little-endian length followed by the bytes', () => {
    const encoded = encodeBytesElements([Buffer.from('ab'), Buffer.from(''), Buffer.from('xyz')]);
    expect([...encoded]).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 3, 0, 0, 0, 120, 121, 122]);
    const decoded = decodeBytesElements(encoded, 3, 'input x');
    expect(decoded.map((b) => Buffer.from(b).toString())).toEqual(['ab', '', 'xyz']);
  });

  it.each([
    ['a truncated length prefix', Buffer.from([1, 0]), undefined, /length prefix/],
    ['an element longer than the data', Buffer.from([5, 0, 0, 0, 1]), undefined, /declares 5 bytes but only 1 remain/],
    ['a count that disagrees with the shape', encodeBytesElements([Buffer.from('abcdef')]), 2, /holds 1 elements but the shape needs 2/],
  ])('reject %s', (_name, bytes, count, message) => {
    expect(() => decodeBytesElements(bytes, count, 'input x')).toThrow(MalformedRequestError);
    expect(() => decodeBytesElements(bytes, count, 'input x')).toThrow(message);
  });
});

describe('JSON tensor data', () => {
  it.each<[DataType, unknown, string]>([
    ['BOOL', [[true, false], [false, true]], '[true,false,false,true]'],
    ['UINT8', [0, 255, 7, 8], '[0,255,7,8]'],
    ['INT8', [-128, 127, 0, 1], '[-128,127,0,1]'],
    ['INT32', [[-2147483648, 2147483647], [1, 2]], '[-2147483648,2147483647,1,2]'],
    ['INT64', [9007199254740991, -1, 0, 5], '[9007199254740991,-1,0,5]'],
    ['UINT64', [9007199254740991, 1, 0, 5], '[9007199254740991,1,0,5]'],
    ['FP32', [0.5, -1.25, 3, 0], '[0.5,-1.25,3,0]'],
    ['FP64', [0.1, 0.2, 0.3, 1e300], '[0.1,0.2,0.3,1e+300]'],
    ['FP16', [0.5, -2, 65504, 0.099975586], '[0.5,-2,65504,0.0999755859375]'],
    ['BF16', [1, -0.5, 256, 3.140625], '[1,-0.5,256,3.140625]'],
    ['BYTES', ['a', 'héllo', '', 'z'], '["a","héllo","","z"]'],
  ])('round-trips %s through nested or flat arrays', (datatype, data, text) => {
    const decoded = tensorDataFromJson(datatype, 4, data, 'input x');
    expect(tensorDataJsonText(datatype, decoded)).toBe(text);
  });

  it.each<[DataType, unknown, RegExp]>([
    ['INT32', [1, 2, 3], /holds 3 elements but the shape needs 4/],
    ['INT32', [1, 2, 3, 1.5], /element 3 of 'data' must be an integer/],
    ['UINT8', [1, 2, 3, 256], /element 3 .* \[0, 255\]/],
    ['BOOL', [1, 0, 1, 0], /element 0 .* true or false/],
    ['FP32', [1, 2, 3, '4'], /element 3 .* a number/],
    ['BYTES', ['a', 'b', 'c', 4], /element 3 .* a string/],
    ['FP32', 'abcd', /'data' must be an array/],
  ])('rejects bad %s data with a message that names the element', (datatype, data, message) => {
    expect(() => tensorDataFromJson(datatype, 4, data, 'input x')).toThrow(InvalidArgumentError);
    expect(() => tensorDataFromJson(datatype, 4, data, 'input x')).toThrow(message);
  });

  it('flattens nested arrays row-major, however deep, without recursing', () => {
    const out: unknown[] = [];
    flattenNested([[1, [2, 3]], [], [[[4]]], 5], out);
    expect(out).toEqual([1, 2, 3, 4, 5]);
    let deep: unknown = 7;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const deepOut: unknown[] = [];
    flattenNested(deep, deepOut);
    expect(deepOut).toEqual([7]);
    expect(() => tensorDataFromJson('FP32', 4, deep, 'output y')).toThrow("output y: 'data' holds 1 elements but the shape needs 4");
  });
});

describe('raw tensor data', () => {
  it.each(DATATYPES.filter((d) => d !== 'BYTES'))('views %s bytes as elements and back', (datatype) => {
    const json = datatype === 'BOOL' ? [true, false, true] : [1, 2, 3];
    const data = tensorDataFromJson(datatype, 3, json, 'x');
    const raw = tensorDataToRaw(datatype, data);
    // An odd offset inside a larger buffer forces the aligned copy path.
    const body = Buffer.alloc(raw.byteLength + 1);
    body.set(raw, 1);
    const back = tensorDataFromRaw(datatype, 3, body.subarray(1), 'x');
    expect(tensorDataJsonText(datatype, back)).toBe(tensorDataJsonText(datatype, data));
  });

  it('rejects a byte count that does not match the shape', () => {
    expect(() => tensorDataFromRaw('FP32', 4, Buffer.alloc(12), "input 'x'")).toThrow(
      "input 'x': expected 16 bytes of binary data for 4 FP32 elements, got 12",
    );
  });
});

describe('half floats', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [1e6, 0x7c00],
    [5.960464477539063e-8, 0x0001],
    [0, 0],
  ])('FP16 %d has bits %d', (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
    if (bits !== 0x7c00) expect(float16BitsToFloat32(bits)).toBeCloseTo(value, 10);
  });

  it('BF16 keeps the top 16 bits with round-to-nearest-even', () => {
    expect(float32ToBFloat16Bits(1)).toBe(0x3f80);
    expect(bfloat16BitsToFloat32(float32ToBFloat16Bits(3.14159))).toBe(3.140625);
  });
});

describe('binary inference bodies', () => {
  it('split at Inference-Header-Content-Length and hand each tensor its bytes in order', () => {
    const json = JSON.stringify({
      inputs: [
        { name: 'a', parameters: { binary_data_size: 2 } },
        { name: 'b', data: [1] },
        { name: 'c', parameters: { binary_data_size: 3 } },
      ],
    });
    const { parts, headerLength } = joinInferenceBody(json, [Buffer.from([1, 2]), Buffer.from([3, 4, 5])]);
    const { json: parsed, binary } = splitInferenceBody(Buffer.concat(parts), String(headerLength));
    const slices = sliceBinaryTensors((parsed as { inputs: [] }).inputs, binary, 'input');
    expect([...slices.get('a')!]).toEqual([1, 2]);
    expect([...slices.get('c')!]).toEqual([3, 4, 5]);
    expect(slices.has('b')).toBe(false);
  });

  it.each([
    ['a header length past the body', '{}', '100', /is 100 but the body has only 2 bytes/],
    ['a header length that is not a number', '{}', 'abc', /must be a non-negative integer/],
    ['malformed JSON', '{"inputs": [', undefined, /failed to parse the request JSON/],
  ])('reject %s', (_name, body, header, message) => {
    expect(() => splitInferenceBody(Buffer.from(body), header)).toThrow(message);
  });

  it.each([
    ['more bytes declared than sent', [{ name: 'a', parameters: { binary_data_size: 5 } }], 4, /runs past the end/],
    ['bytes no tensor claims', [{ name: 'a', parameters: { binary_data_size: 2 } }], 4, /2 bytes of binary data that no input claims/],
  ])('reject %s', (_name, tensors, size, message) => {
    expect(() => sliceBinaryTensors(tensors, Buffer.alloc(size), 'input')).toThrow(message);
  });
});
