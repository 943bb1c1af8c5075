/**
 * The wire check that runs before protobufjs decodes a ModelInferRequest: messages encoded
 * by the package's own proto definition (and, for the encodings protobufjs does not write,
 * by hand), checked against the bounds the README documents.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import { InvalidArgumentError } from '../../../src/errors';
import { SERVER_PROTO_OPTIONS } from '../../../src/engine/grpc/inference-proto';
import { loadInferencePackageDefinition } from '../../../src/util/proto-files';
import { MAX_CONTENTS_ELEMENTS, MAX_WIRE_FIELDS, checkModelInferWire, checkRequestWire } from '../../../src/engine/grpc/request-wire-check';

const service = loadInferencePackageDefinition(SERVER_PROTO_OPTIONS)['inference.GRPCInferenceService'] as unknown as Record<string, MethodDefinition<object, object>>;
const encode = (request: object): Buffer => service.ModelInfer!.requestSerialize(request);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i % 100);

describe('checkModelInferWire', () => {
  it('lets a well-formed request through, typed or raw', () => {
    const typed = encode({
      model_name: 'm',
      parameters: { priority: { int64_param: 1 } },
      inputs: [
        { name: 'A', datatype: 'INT64', shape: [2, 3], contents: { int64_contents: range(6) } },
        { name: 'S', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('a'), Buffer.alloc(0)] } },
      ],
      outputs: [{ name: 'O' }],
    });
    expect(checkModelInferWire(typed)).toBeUndefined();
    const raw = encode({ model_name: 'm', inputs: [{ name: 'A', datatype: 'FP32', shape: [4] }], raw_input_contents: [Buffer.alloc(16)] });
    expect(checkModelInferWire(raw)).toBeUndefined();
  });

  it('refuses contents holding more elements than the shape needs, naming the input', () => {
    const err = checkModelInferWire(encode({ inputs: [{ name: 'S', datatype: 'BYTES', shape: [1, 2], contents: { bytes_contents: range(5).map(() => Buffer.alloc(0)) } }] }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err?.message).toBe("input 'S': contents.bytes_contents holds more than the 2 elements the shape needs");
  });

  it('bounds contents elements per request, across inputs, bytes_contents included', () => {
    const half = MAX_CONTENTS_ELEMENTS / 2 + 1;
    const input = (name: string) => ({ name, datatype: 'BYTES', shape: [half], contents: { bytes_contents: Array.from({ length: half }, () => Buffer.alloc(0)) } });
    const err = checkModelInferWire(encode({ inputs: [input('S0'), input('S1')] }));
    expect(err?.message).toMatch(new RegExp(`^input 'S1': contents.bytes_contents brings the request's typed contents past the limit of ${MAX_CONTENTS_ELEMENTS} elements`));
  });

  it('bounds typed contents per request and points at raw_input_contents', () => {
    const n = MAX_CONTENTS_ELEMENTS + 1;
    const err = checkModelInferWire(encode({ inputs: [{ name: 'A', datatype: 'INT32', shape: [n], contents: { int_contents: range(n) } }] }));
    expect(err?.message).toBe(
      `input 'A': contents.int_contents brings the request's typed contents past the limit of ${MAX_CONTENTS_ELEMENTS} elements; send large tensors in raw_input_contents`,
    );
  });

  it('counts unpacked repeated scalars as well as packed ones', () => {
    // InferInputTensor { name: "A" (1), shape: 3 as an unpacked varint (3), contents (5):
    // int_contents (2) as four unpacked varints }: one more element than the shape needs.
    const contents = Buffer.from([0x10, 1, 0x10, 2, 0x10, 3, 0x10, 4]);
    const input = Buffer.from([0x0a, 1, 0x41, 0x18, 3, 0x2a, contents.length, ...contents]);
    const message = Buffer.from([0x2a, input.length, ...input]);
    expect(checkModelInferWire(message)?.message).toBe("input 'A': contents.int_contents holds more than the 3 elements the shape needs");
  });

  it('bounds the number of fields (here, parameters), whatever they are', () => {
    const parameters = Object.fromEntries(Array.from({ length: MAX_WIRE_FIELDS + 1 }, (_, i) => [`p${i}`, { bool_param: true }]));
    expect(checkModelInferWire(encode({ model_name: 'm', parameters }))?.message).toMatch(new RegExp(`more than ${MAX_WIRE_FIELDS} fields`));
  });

  it('leaves malformed wire data to the decoder', () => {
    expect(checkModelInferWire(Buffer.from([0x2a, 0x7f, 0x0a]))).toBeUndefined();
  });
});

describe('checkRequestWire', () => {
  const encodeLoad = (request: object): Buffer => service.RepositoryModelLoad!.requestSerialize(request);

  it('lets a load request with parameters through', () => {
    expect(checkRequestWire(encodeLoad({ model_name: 'm', parameters: { config: { string_param: '{}' } } }))).toBeUndefined();
  });

  it('bounds the fields of any other request: map entries and unknown fields count one each', () => {
    const parameters = Object.fromEntries(Array.from({ length: MAX_WIRE_FIELDS + 1 }, (_, i) => [`p${i}`, { bool_param: true }]));
    expect(checkRequestWire(encodeLoad({ model_name: 'm', parameters }))?.message).toBe(
      `request has more than ${MAX_WIRE_FIELDS} fields (map entries each count one); ${MAX_WIRE_FIELDS} is the limit`,
    );
    const unknown = Buffer.alloc((MAX_WIRE_FIELDS + 1) * 2);
    for (let i = 0; i <= MAX_WIRE_FIELDS; i++) unknown[2 * i] = (9 << 3) | 2; // field 9, length 0
    expect(checkRequestWire(unknown)).toBeInstanceOf(InvalidArgumentError);
  });
});
