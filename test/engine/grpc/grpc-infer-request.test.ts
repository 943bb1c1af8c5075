/**
 * ModelInferRequest decoding, through the real protocol: each request is serialized as a
 * client would send it and deserialized with the server's options, then decoded. No
 * server needed; the end-to-end behaviour is in engine-grpc.test.ts.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { decodeGrpcInferRequest } from '../../../src/engine/grpc/grpc-infer-request';
import type { WireModelInferRequest } from '../../../src/engine/grpc/grpc-messages';
import { inferenceServiceDefinition } from '../../../src/engine/grpc/inference-proto';
import type { InferenceRequest } from '../../../src/engine/models/inference-types';

const modelInfer = inferenceServiceDefinition().ModelInfer as MethodDefinition<unknown, unknown>;

/** What the server's handler receives for `request` (a client-side object). */
function received(request: object): WireModelInferRequest {
  return modelInfer.requestDeserialize(modelInfer.requestSerialize(request)) as WireModelInferRequest;
}

const decode = (request: object): InferenceRequest => decodeGrpcInferRequest(received({ model_name: 'm', ...request }));

const typed = (datatype: string, shape: number[], contents: object) => ({ inputs: [{ name: 'X', datatype, shape, contents }] });

describe('typed contents', () => {
  it.each<[string, string, object, unknown[]]>([
    ['BOOL', 'BOOL', { bool_contents: [true, false, true] }, [1, 0, 1]],
    ['INT8', 'INT8', { int_contents: [-128, 0, 127] }, [-128, 0, 127]],
    ['INT16', 'INT16', { int_contents: [-32768, 1, 32767] }, [-32768, 1, 32767]],
    ['INT32', 'INT32', { int_contents: [-2147483648, 2, 2147483647] }, [-2147483648, 2, 2147483647]],
    ['INT64 beyond 2^53, exactly', 'INT64', { int64_contents: ['9007199254740993', '-1', '0'] }, [9007199254740993n, -1n, 0n]],
    ['UINT8', 'UINT8', { uint_contents: [0, 1, 255] }, [0, 1, 255]],
    ['UINT16', 'UINT16', { uint_contents: [0, 1, 65535] }, [0, 1, 65535]],
    ['UINT32', 'UINT32', { uint_contents: [0, 1, 4294967295] }, [0, 1, 4294967295]],
    ['UINT64 at its maximum', 'UINT64', { uint64_contents: ['18446744073709551615', '1', '0'] }, [18446744073709551615n, 1n, 0n]],
    ['FP32', 'FP32', { fp32_contents: [1.5, -2, 0] }, [1.5, -2, 0]],
    ['FP64', 'FP64', { fp64_contents: [0.1, -1e300, 3] }, [0.1, -1e300, 3]],
  ])('decodes %s from its field', (_name, datatype, contents, expected) => {
    const [input] = decode(typed(datatype, [3], contents)).inputs;
    expect(input).toMatchObject({ name: 'X', datatype, shape: [3] });
    expect(Array.from(input!.data as ArrayLike<unknown>)).toEqual(expected);
  });

  it('decodes BYTES elements from bytes_contents, empty ones included', () => {
    const [input] = decode(typed('BYTES', [2, 1], { bytes_contents: [Buffer.from('wörld'), Buffer.alloc(0)] })).inputs;
    expect((input!.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual(['wörld', '']);
  });
});

describe('raw contents', () => {
  it('takes one raw entry per input, in order, numeric and BYTES alike', () => {
    const request = decode({
      inputs: [
        { name: 'A', datatype: 'FP16', shape: [2] },
        { name: 'B', datatype: 'BYTES', shape: [1] },
      ],
      raw_input_contents: [Buffer.from([0x00, 0x3c, 0x00, 0xc0]), Buffer.from([2, 0, 0, 0, 0x68, 0x69])],
    });
    expect(Array.from(request.inputs[0]!.data as Uint16Array)).toEqual([0x3c00, 0xc000]);
    expect(Buffer.from((request.inputs[1]!.data as Uint8Array[])[0]!).toString()).toBe('hi');
  });
});

describe('parameters', () => {
  it('reads priority and timeout from int64 or uint64 parameters, and classification per output', () => {
    const request = decode({
      id: 'r-1',
      inputs: [],
      parameters: { priority: { uint64_param: 2 }, timeout: { int64_param: 1500 }, custom: { string_param: 'kept out' } },
      outputs: [{ name: 'P', parameters: { classification: { int64_param: 3 } } }, { name: 'Q' }],
    });
    expect(request).toEqual({
      id: 'r-1',
      inputs: [],
      priority: 2,
      timeoutMicroseconds: 1500,
      outputs: [{ name: 'P', classification: 3 }, { name: 'Q' }],
    });
  });

  it('leaves id, priority, timeout and outputs unset when the request does not send them', () => {
    expect(decode({ inputs: [] })).toEqual({ inputs: [] });
  });
});

describe('malformed requests are refused with a message naming the tensor', () => {
  it.each<[string, object, RegExp]>([
    ['an FP16 input in typed contents', typed('FP16', [1], { fp32_contents: [1] }), /input 'X': FP16 has no typed contents field; send it in raw_input_contents/],
    ['contents that do not fill the shape', typed('INT32', [2, 2], { int_contents: [1, 2, 3] }), /input 'X': contents.int_contents holds 3 elements but the shape needs 4/],
    ['contents in the wrong field', typed('INT32', [2], { fp32_contents: [1, 2] }), /contents.int_contents holds 0 elements but the shape needs 2/],
    ['an INT8 value out of range', typed('INT8', [1], { int_contents: [200] }), /element 0 of contents.int_contents is 200, outside \[-128, 127\] for INT8/],
    ['an unknown datatype', typed('FLOAT', [1], { fp32_contents: [1] }), /input 'X': invalid datatype 'FLOAT'/],
    ['an input without contents', { inputs: [{ name: 'X', datatype: 'FP32', shape: [2] }] }, /input 'X': has no contents; send its elements in contents.fp32_contents or raw_input_contents/],
    ['an input without a name', { inputs: [{ datatype: 'FP32', shape: [0] }] }, /inputs\[0\]: 'name' must be a non-empty string/],
    [
      'raw contents for only some inputs',
      { inputs: [{ name: 'A', datatype: 'INT32', shape: [1] }, { name: 'B', datatype: 'INT32', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] },
      /expected 2 raw_input_contents \(one per input, in order\) but got 1/,
    ],
    [
      'both raw and typed contents',
      { inputs: [{ name: 'X', datatype: 'INT32', shape: [1], contents: { int_contents: [1] } }], raw_input_contents: [Buffer.alloc(4)] },
      /input 'X': has both contents and raw_input_contents/,
    ],
    ['raw bytes that do not fit the shape', { inputs: [{ name: 'X', datatype: 'FP32', shape: [2] }], raw_input_contents: [Buffer.alloc(4)] }, /expected 8 bytes of binary data for 2 FP32 elements, got 4/],
    ['a priority sent as a string', { inputs: [], parameters: { priority: { string_param: '1' } } }, /parameter 'priority' must be an int64_param or uint64_param, got string_param/],
    ['a negative timeout', { inputs: [], parameters: { timeout: { int64_param: -5 } } }, /parameter 'timeout' must be a non-negative integer, got -5/],
    ['a classification sent as a bool', { inputs: [], outputs: [{ name: 'P', parameters: { classification: { bool_param: true } } }] }, /output 'P': parameter 'classification' must be an int64_param/],
  ])('%s', (_name, request, message) => {
    expect(() => decode(request)).toThrow(message);
  });
});
