/**
 * The byte-level JSON reader of infer requests against the decoding it replaced
 * (JSON.parse, then tensorDataFromJson): on valid `data` both give the same typed arrays,
 * bit for bit; on text that is not JSON, or JSON that does not fit the tensor, both refuse.
 * Then the reader's own limits: an element past the shape, a shape past the max input size,
 * refused before anything is allocated.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors';
import { decodeInferRequest } from '../../src/engine/http/infer-request-codec';
import type { DataType, TensorData } from '../../src/tensor/datatypes';
import { EMPTY_BYTES, JsonByteReader, MAX_JSON_DEPTH, MAX_PLAIN_VALUES } from '../../src/tensor/json-byte-reader';
import { tensorDataFromJson } from '../../src/tensor/json-tensor-data';
import { fuzzParameters } from '../faults/helpers/fuzz';

const budget = () => ({ limit: 1 << 30, bytes: 1 << 30, bytesElements: 0 });

/** The new reader on `text` as a whole `data` value (refused unless it is all of the text). */
function readNew(datatype: DataType, count: number, text: string): TensorData {
  const bytes = Buffer.from(text, 'utf8');
  const reader = new JsonByteReader(bytes, 0, bytes.length);
  const data = reader.tensorData(datatype, count, budget(), 'input x');
  if (!reader.atEnd()) reader.fail('expected the end');
  return data;
}

/** The old decoding: the text through JSON.parse (as the body's UTF-8), then tensorDataFromJson. */
function readOld(datatype: DataType, count: number, text: string): TensorData {
  const value = JSON.parse(Buffer.from(text, 'utf8').toString('utf8')) as unknown;
  return tensorDataFromJson(datatype, count, value, 'input x');
}

/** Bytes of the contents, so -0 and 0 (and every float bit) compare exactly. */
function bits(data: TensorData): Buffer[] {
  if (Array.isArray(data)) return data.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  return [Buffer.from(data.buffer, data.byteOffset, data.byteLength)];
}

type Outcome = { ok: true; bits: Buffer[]; type: string } | { ok: false; clientError: boolean };
function outcome(read: () => TensorData): Outcome {
  try {
    const data = read();
    return { ok: true, bits: bits(data), type: Array.isArray(data) ? 'BYTES' : data.constructor.name };
  } catch (err) {
    return { ok: false, clientError: err instanceof InvalidArgumentError || err instanceof SyntaxError };
  }
}

/** Number texts JSON allows, in the forms clients write them. */
const numberText = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).chain((v) => fc.nat({ max: 8 }).map((d) => v.toFixed(d))),
  fc.double({ noNaN: true, noDefaultInfinity: true }).chain((v) => fc.nat({ max: 16 }).map((d) => v.toExponential(d))),
  fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: -30, max: 30 })).map(([neg, m, e]) => `${neg ? '-' : ''}${m}e${e}`),
  fc.constantFrom('0', '-0', '0.0', '1E2', '1e+2', '2.5E-3', '9007199254740993', '123456789012345678', '0.1', '1e308', '5e-324'),
);
const space = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');

const ELEMENT: Record<string, fc.Arbitrary<string>> = {
  number: numberText,
  bool: fc.constantFrom('true', 'false'),
  string: fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
  ascii: fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s)),
};
const DATATYPES_BY_ELEMENT: Record<string, DataType[]> = {
  number: ['FP32', 'FP64', 'FP16', 'BF16', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64'],
  bool: ['BOOL'],
  string: ['BYTES'],
  ascii: ['BYTES'],
};

/** A `data` text: elements nested in rows of a random shape, with random white space. */
const dataCase = fc.constantFrom(...Object.keys(ELEMENT)).chain((element) =>
  fc.record({
    datatype: fc.constantFrom(...DATATYPES_BY_ELEMENT[element]!),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
    elements: fc.array(ELEMENT[element]!, { minLength: 64, maxLength: 64 }),
    spaces: fc.array(space, { minLength: 8, maxLength: 8 }),
    flat: fc.boolean(),
  }).map(({ datatype, shape, elements, spaces, flat }) => {
    const count = shape.reduce((a, b) => a * b, 1);
    let k = 0;
    const sp = () => spaces[k++ % spaces.length]!;
    const nest = (dims: number[]): string => {
      if (dims.length === 0) return elements[k++ % elements.length]!;
      return `[${sp()}${Array.from({ length: dims[0]! }, () => nest(dims.slice(1))).join(`${sp()},${sp()}`)}${sp()}]`;
    };
    const text = flat ? nest([count]) : nest(shape);
    return { datatype, count, text };
  }),
);

describe('the byte-level JSON reader of tensor data', () => {
  it('gives the same typed arrays as JSON.parse + tensorDataFromJson on valid data, and refuses what they refuse', () => {
    fc.assert(
      fc.property(dataCase, ({ datatype, count, text }) => {
        expect(outcome(() => readNew(datatype, count, text))).toEqual(outcome(() => readOld(datatype, count, text)));
      }),
      fuzzParameters(2000),
    );
  });

  it('refuses the same mutated texts as JSON.parse + tensorDataFromJson, always as client errors', () => {
    const edit = fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.constantFrom('', '[', ']', ',', '"', '-', '.', 'e', '0', '1', ' ', 'x', '\\', '{}', 'null', 'true', '\u00e9', '\ud800'));
    fc.assert(
      fc.property(dataCase, fc.array(edit, { minLength: 1, maxLength: 4 }), fc.integer({ min: -1, max: 1 }), ({ datatype, count, text }, edits, countDelta) => {
        let t = text;
        for (const [at, remove, insert] of edits) {
          const i = at % (t.length + 1);
          t = t.slice(0, i) + insert + t.slice(i + remove);
        }
        const n = Math.max(0, count + countDelta);
        const now = outcome(() => readNew(datatype, n, t));
        const before = outcome(() => readOld(datatype, n, t));
        if (!now.ok) expect(now.clientError).toBe(true);
        expect(now.ok).toBe(before.ok);
        if (now.ok) expect(now).toEqual(before);
      }),
      fuzzParameters(3000),
    );
  });

  it('refuses the first element past the shape without reading on', () => {
    // The rest is not even JSON: the reader never gets there.
    expect(() => readNew('INT32', 2, '[1,2,3,this is not json')).toThrow("input x: 'data' holds more than the 2 elements the shape needs");
    expect(() => readNew('FP32', 3, '[1, 2]')).toThrow("input x: 'data' holds 2 elements but the shape needs 3");
    expect(() => readNew('INT8', 1, '[128]')).toThrow("input x: element 0 of 'data' must be an integer in [-128, 127] for INT8, got number 128");
    expect(() => readNew('BOOL', 1, '[1]')).toThrow("element 0 of 'data' must be true or false for BOOL, got number 1");
    expect(() => readNew('BYTES', 1, '[null]')).toThrow("element 0 of 'data' must be a string for BYTES, got null");
    expect(() => readNew('FP32', 1, '{"a":1}')).toThrow("input x: 'data' must be an array, got object [object Object]");
  });

  it('refuses a shape the remaining bytes cannot hold, or past the max input size, before allocating', () => {
    // 2^28 FP32 elements would be a 1 GiB Float32Array; the refusal allocates nothing.
    expect(() => readNew('FP32', 2 ** 28, '[1]')).toThrow(/'data' cannot hold the 268435456 elements the shape needs: only 3 bytes of JSON are left/);
    const text = `[${Array(1000).fill('0').join(',')}]`;
    const bytes = Buffer.from(text);
    const small = { limit: 3999, bytes: 3999, bytesElements: 0 };
    expect(() => new JsonByteReader(bytes, 0, bytes.length).tensorData('FP32', 1000, small, 'input x')).toThrow(
      /the shape's 1000 FP32 elements take 4000 bytes in memory, more than the 3999 bytes left of the max input size of 3999 \(--http-max-input-size\)/,
    );
    // BYTES elements count their footprint in memory, not just their bytes.
    expect(() => new JsonByteReader(Buffer.from('[""]'), 0, 4).tensorData('BYTES', 1, { limit: 10, bytes: 10, bytesElements: 0 }, 'input x')).toThrow(/1 BYTES elements take 64 bytes/);
  });

  it('shares one empty array among zero-length BYTES elements', () => {
    const data = readNew('BYTES', 3, '["","a",""]') as Uint8Array[];
    expect(data[0]).toBe(EMPTY_BYTES);
    expect(data[2]).toBe(EMPTY_BYTES);
    expect(Buffer.from(data[1]!).toString()).toBe('a');
  });

  it('refuses data nested deeper than MAX_JSON_DEPTH', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}1${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => readNew('FP32', 1, deep)).toThrow(`input x: 'data' is nested more than ${MAX_JSON_DEPTH} arrays deep`);
  });
});

/** The decoder as it was: JSON.parse the body, then each input's data through tensorDataFromJson. */
function decodeOld(body: Buffer): Array<{ name: string; datatype: string; shape: number[]; bits: Buffer[] }> {
  const json = JSON.parse(body.toString('utf8')) as { inputs: Array<{ name: string; datatype: DataType; shape: number[]; data: unknown }> };
  return json.inputs.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    bits: bits(tensorDataFromJson(t.datatype, t.shape.reduce((a, b) => a * b, 1), t.data, `input '${t.name}'`)),
  }));
}

describe('decodeInferRequest on the byte-level reader', () => {
  const request = fc
    .array(
      fc.tuple(dataCase, fc.shuffledSubarray(['name', 'datatype', 'shape', 'data', 'parameters'], { minLength: 5, maxLength: 5 }), fc.boolean()),
      { minLength: 1, maxLength: 3 },
    )
    .map((inputs) => {
      const parts = inputs.map(([{ datatype, count, text }, order, withParams], i) => {
        const fields: Record<string, string> = {
          name: `"IN${i}"`,
          datatype: `"${datatype}"`,
          shape: `[${count}]`,
          data: text,
          parameters: withParams ? '{"note":"x\\u00e9","n":1}' : '{}',
        };
        return `{${order.map((k) => `"${k}":${fields[k]}`).join(',')}}`;
      });
      return `{"id":"r\\"1","inputs":[${parts.join(',')}],"outputs":[{"name":"A"},{"name":"B","parameters":{"binary_data":true}}],"parameters":{"priority":1}}`;
    });

  it('decodes what JSON.parse + tensorDataFromJson decoded, whatever order the keys come in', () => {
    fc.assert(
      fc.property(request, (text) => {
        const body = Buffer.from(text);
        let before: ReturnType<typeof decodeOld> | 'refused';
        try {
          before = decodeOld(body);
        } catch {
          before = 'refused';
        }
        let now: ReturnType<typeof decodeOld> | 'refused';
        try {
          const decoded = decodeInferRequest(body, undefined);
          now = decoded.request.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, bits: bits(t.data) }));
          expect(decoded.request.id).toBe('r"1');
          expect(decoded.request.priority).toBe(1);
          expect(decoded.request.outputs).toEqual([{ name: 'A' }, { name: 'B', binaryData: true }]);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          now = 'refused';
        }
        expect(now).toEqual(before);
      }),
      fuzzParameters(500),
    );
  });

  it('refuses a key repeated in an input (its data was read by the first shape)', () => {
    const body = Buffer.from('{"inputs":[{"name":"x","datatype":"INT32","shape":[3],"data":[1,2,3],"shape":[3]}]}');
    expect(() => decodeInferRequest(body, undefined)).toThrow("inputs[0]: 'shape' appears more than once");
  });

  it('refuses a repeated output at its second mention, naming it', () => {
    const outputs = Array(100_000).fill('{"name":"OUT"}').join(',');
    const body = Buffer.from(`{"inputs":[],"outputs":[${outputs}]}`);
    expect(() => decodeInferRequest(body, undefined)).toThrow("output 'OUT' already exists in request");
  });

  it(`refuses more than ${MAX_PLAIN_VALUES} values outside data arrays`, () => {
    const body = Buffer.from(`{"inputs":[],"parameters":{"x":[${Array(MAX_PLAIN_VALUES).fill('[]').join(',')}]}}`);
    expect(() => decodeInferRequest(body, undefined)).toThrow(`the request JSON holds more than ${MAX_PLAIN_VALUES} values outside tensor 'data' arrays`);
  });

  it('shares the max input size among all inputs of a request', () => {
    const input = (i: number) => `{"name":"x${i}","datatype":"FP32","shape":[4],"data":[1,2,3,4]}`;
    const body = Buffer.from(`{"inputs":[${input(0)},${input(1)}]}`);
    expect(decodeInferRequest(body, undefined, 32).request.inputs).toHaveLength(2);
    expect(() => decodeInferRequest(body, undefined, 31)).toThrow(/input 'x1': the shape's 4 FP32 elements take 16 bytes in memory, more than the 15 bytes left of the max input size of 31/);
  });

  it('refuses text that is not JSON with the byte it stopped at', () => {
    const input = '{"name":"x","datatype":"FP32","shape":[1],"data":[1]}';
    expect(() => decodeInferRequest(Buffer.from(`{"inputs":[${input},}`), undefined)).toThrow("failed to parse the request JSON: expected a value, found '}' at byte 65");
    expect(() => decodeInferRequest(Buffer.from(`{"inputs":[${input}]} x`), undefined)).toThrow(/failed to parse the request JSON: expected the end of the JSON/);
    expect(() => decodeInferRequest(Buffer.from(`[${input}]`), undefined)).toThrow('the request body must be a JSON object');
    // Small headers without "data" (binary requests) go through JSON.parse: the same refusals.
    expect(() => decodeInferRequest(Buffer.from('{"inputs":[}'), undefined)).toThrow(/failed to parse the request JSON/);
    expect(() => decodeInferRequest(Buffer.from('[1]'), undefined)).toThrow('the request body must be a JSON object');
  });

  it('decodes data under an escaped key on the small-header path', () => {
    const body = Buffer.from('{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"d\u0061ta":[1,2]}]}');
    expect(Array.from(decodeInferRequest(body, undefined).request.inputs[0]!.data as Int32Array)).toEqual([1, 2]);
  });
});
