/**
 * fast-check arbitraries for hostile input, shared by the in-process and the over-the-wire
 * fuzz tests: config.pbtxt token soup, model configs as JSON, KServe inference bodies
 * (JSON and binary), tensors, /score bodies and header values.
 */
import fc from 'fast-check';
import { DATATYPES } from '../../../src/tensor/datatypes';

/** Runs per property: FAULTS_FUZZ_RUNS, else fast-check's default of 100. */
export const FUZZ_RUNS = Number(process.env.FAULTS_FUZZ_RUNS ?? 100);
/** Reproducible by default; FAULTS_FUZZ_SEED=random explores. */
export const FUZZ_SEED = process.env.FAULTS_FUZZ_SEED === 'random' ? undefined : Number(process.env.FAULTS_FUZZ_SEED ?? 20251124);

export function fuzzParameters(runs = FUZZ_RUNS): fc.Parameters<unknown> {
  return { numRuns: runs, seed: FUZZ_SEED, endOnFailure: true };
}

const FIELDS = [
  'name', 'platform', 'backend', 'max_batch_size', 'input', 'output', 'data_type', 'dims', 'reshape', 'shape',
  'label_filename', 'format', 'optional', 'version_policy', 'latest', 'num_versions', 'all', 'specific', 'versions',
  'instance_group', 'count', 'kind', 'gpus', 'dynamic_batching', 'preferred_batch_size', 'max_queue_delay_microseconds',
  'default_queue_policy', 'max_queue_size', 'timeout_action', 'default_timeout_microseconds', 'allow_timeout_override',
  'priority_levels', 'default_priority_level', 'priority_queue_policy', 'parameters', 'key', 'value', 'string_value',
  'model_warmup', 'batch_size', 'inputs', 'zero_data', 'random_data', 'input_data_file', 'ensemble_scheduling', 'step',
  'model_name', 'model_version', 'input_map', 'output_map', 'sequence_batching', 'default_model_filename', 'unknown_field',
];
const ENUMS = ['TYPE_FP32', 'TYPE_INT64', 'TYPE_STRING', 'TYPE_BOOL', 'TYPE_FLOAT32', 'KIND_CPU', 'KIND_GPU', 'KIND_AUTO', 'REJECT', 'DELAY', 'FORMAT_NCHW', 'true', 'false', 't', 'f', 'inf', 'nan', '-inf'];
const NUMBERS = ['0', '1', '-1', '4', '8', '0x1F', '017', '09', '1e308', '1e-400', '1.5', '-0', '99999999999999999999999', '2147483648', '9223372036854775808', '.5', '5.', '0x', '1e'];
const STRINGS = ['"x"', '"m"', "'single'", '"../../etc/passwd"', '"\\x41\\101"', '"\\777"', '"\\u0041"', '"unterminated', '"a" "b"', '"\\q"', '""', '"\\0"'];
const SYMBOLS = ['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '#comment\n', '\n', '\t', '/', '"', "'", '\\'];

/** config.pbtxt-like text: tokens of the format, in any order. */
export const pbtxtText = fc
  .array(fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...ENUMS), fc.constantFrom(...NUMBERS), fc.constantFrom(...STRINGS), fc.constantFrom(...SYMBOLS), fc.string({ maxLength: 6 })), { maxLength: 80 })
  .map((tokens) => tokens.join(' '));

/** A valid config with random edits (characters inserted, deleted, replaced). */
export function mutatedText(valid: string): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 4 }), fc.string({ maxLength: 4 }));
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) =>
    edits.reduce((text, [at, remove, insert]) => text.slice(0, at) + insert + text.slice(at + remove), valid),
  );
}

/** Model configs as JSON (the load API's override), from plausible to nonsense. */
export const configJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
  fc.record(
    {
      name: fc.constantFrom('m', '', 'other'),
      max_batch_size: fc.oneof(fc.integer(), fc.constant('8'), fc.double()),
      input: fc.array(fc.dictionary(fc.constantFrom('name', 'data_type', 'dims', 'label_filename', 'reshape'), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
      output: fc.array(fc.record({ name: fc.string({ maxLength: 4 }), data_type: fc.constantFrom(...ENUMS), dims: fc.array(fc.integer({ min: -2, max: 10 })), label_filename: fc.constantFrom('labels.txt', '../../etc/passwd', '/etc/passwd', 'a/../../b') }), { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
);

const datatype = fc.oneof(fc.constantFrom(...DATATYPES), fc.string({ maxLength: 6 }), fc.constant(undefined));
const shape = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 }),
  fc.array(fc.oneof(fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER), fc.constant(2 ** 31), fc.string({ maxLength: 2 })), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const element = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string({ maxLength: 8 }), fc.constant(null), fc.constant(1e308), fc.constant(-0));
/** KServe JSON `data`: nested arrays of anything. */
export const tensorData: fc.Arbitrary<unknown> = fc.oneof(
  fc.array(element, { maxLength: 12 }),
  fc.array(fc.array(element, { maxLength: 6 }), { maxLength: 4 }),
  fc.jsonValue({ maxDepth: 4 }),
);

const inputTensor = fc.record(
  {
    name: fc.oneof(fc.constantFrom('INPUT0', 'INPUT1', 'INPUT_FP32', 'INPUT_BYTES'), fc.string({ maxLength: 6 })),
    datatype,
    shape,
    data: tensorData,
    parameters: fc.oneof(
      fc.record({ binary_data_size: fc.oneof(fc.nat({ max: 64 }), fc.integer(), fc.double(), fc.string({ maxLength: 3 })) }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);

const ELEMENT_BYTES: Record<string, number> = { FP32: 4, INT32: 4, BOOL: 1, UINT8: 1, INT64: 8, FP16: 2 };

/** Well-formed requests (JSON or binary tensors), so the fuzz also walks the decoding paths. */
const wellFormedInferBody = fc
  .tuple(fc.constantFrom('FP32', 'INT32', 'BOOL', 'UINT8', 'INT64', 'FP16', 'BYTES'), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.boolean())
  .chain(([datatype, shape, binary]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const json = (data: unknown[]) => ({ inputs: [{ name: 'INPUT0', datatype, shape, data }] });
    if (binary) {
      const bytes =
        datatype === 'BYTES'
          ? fc.array(fc.uint8Array({ maxLength: 5 }), { minLength: count, maxLength: count }).map((items) => Buffer.concat(items.map((item) => Buffer.concat([Buffer.from(Uint32Array.of(item.length).buffer), Buffer.from(item)]))))
          : fc.uint8Array({ minLength: count * ELEMENT_BYTES[datatype]!, maxLength: count * ELEMENT_BYTES[datatype]! }).map((b) => Buffer.from(b));
      return bytes.map((raw) => {
        const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', datatype, shape, parameters: { binary_data_size: raw.length } }], outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }] }));
        return { body: Buffer.concat([head, raw]), header: String(head.length) as string | undefined };
      });
    }
    const element: fc.Arbitrary<unknown> =
      datatype === 'BYTES' ? fc.string({ maxLength: 5 }) : datatype === 'BOOL' ? fc.boolean() : datatype === 'FP32' || datatype === 'FP16' ? fc.double({ noNaN: true, noDefaultInfinity: true }) : fc.integer({ min: 0, max: 255 });
    return fc.array(element, { minLength: count, maxLength: count }).map((data) => ({ body: Buffer.from(JSON.stringify(json(data))), header: undefined as string | undefined }));
  });

/** A KServe inference body and its Inference-Header-Content-Length (undefined: pure JSON). */
export const inferBody: fc.Arbitrary<{ body: Buffer; header: string | undefined }> = fc.oneof(wellFormedInferBody, fuzzedInferBody());

function fuzzedInferBody(): fc.Arbitrary<{ body: Buffer; header: string | undefined }> {
  return fc
  .tuple(
    fc.oneof(
      fc.record(
        {
          id: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
          inputs: fc.oneof(fc.array(inputTensor, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
          outputs: fc.oneof(fc.array(fc.record({ name: fc.string({ maxLength: 6 }), parameters: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ['name'] }), { maxLength: 2 }), fc.jsonValue({ maxDepth: 2 })),
          parameters: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    fc.uint8Array({ maxLength: 64 }),
    fc.oneof(fc.constant('exact'), fc.constant(undefined), fc.nat({ max: 400 }).map(String), fc.constantFrom('-1', 'abc', ' 12 ', '1e3', '99999999999999999999', '')),
    fc.boolean(),
  )
  .map(([json, binary, header, garble]) => {
    let text = JSON.stringify(json) ?? '';
    if (garble && text.length > 2) text = text.slice(0, text.length - 2);
    const head = Buffer.from(text);
    return { body: Buffer.concat([head, Buffer.from(binary)]), header: header === 'exact' ? String(head.length) : header };
  });
}

/** /score bodies for scoring/score.ts: well-formed requests, structured ones, any JSON, or raw bytes. */
export const scoreBodies: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .array(fc.array(fc.oneof(fc.double(), fc.integer(), fc.constant(1e308)), { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 4 })
    .map((rows) => Buffer.from(JSON.stringify({ model: 'mlp', data: rows }))),
  fc
    .record(
      {
        model: fc.oneof(fc.constantFrom('mlp', 'add_sub', 'string_identity', 'fixed', 'classifier', 'identity_all', '../mlp', ''), fc.string({ maxLength: 6 }), fc.integer()),
        data: tensorData,
        inputs: fc.oneof(fc.dictionary(fc.constantFrom('INPUT0', 'INPUT1', 'INPUT_FP32', 'x'), tensorData, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 2 })),
        outputs: fc.oneof(fc.array(fc.constantFrom('OUTPUT0', 'OUTPUT1', 'nope'), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
        classification: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.double(), fc.string({ maxLength: 2 })),
      },
      { requiredKeys: [] },
    )
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.uint8Array({ maxLength: 256 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 64 }).map((text) => Buffer.from(text)),
);

/** Header values a client library will send (visible ASCII and tabs/spaces inside), up to 200 characters. */
export const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.constantFrom('', ' ', 'Bearer', 'Bearer ', 'bearer x', 'Basic Zm9vOmJhcg==', 'x'.repeat(101), '-1', '1e309', '../../etc', '%00', '${jndi:x}'),
).map((value) => value.trim());

/** Raw bytes for an HTTP request head: anything, with CR/LF sprinkled in. */
export const rawHeaderBytes = fc.array(fc.oneof(fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)), fc.constantFrom('\r\n', ':', ' ', '\0', 'Content-Length: ', 'Transfer-Encoding: chunked', 'x-request-id: ').map((s) => Buffer.from(s))), { maxLength: 20 }).map((parts) => Buffer.concat(parts));

/** The shape every error must have: a registry error (status 400..499) with a message. */
export function isClientError(err: unknown): boolean {
  const { code, status, message } = (err ?? {}) as { code?: unknown; status?: unknown; message?: unknown };
  return typeof code === 'string' && code.startsWith('SCORELINE_') && typeof status === 'number' && status >= 400 && status < 500 && typeof message === 'string' && message.length > 0;
}

/** Text that gives away internals: stack frames, source files, absolute paths of this machine. */
export const INTERNALS = /\n\s+at |\bat [\w.<>]+ \(|node_modules|\/work\/|\/home\/|\/tmp\/|\.ts:\d+|\.js:\d+|internal\/|Maximum call stack/;
