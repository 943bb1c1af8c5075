/**
 * Issue 20, over the wire: ModelInfer messages through a real gRPC client against a real
 * engine. Messages: well-formed add_sub requests (answered exactly), random contents and
 * raw_input_contents (garbage datatypes and shapes, huge dimensions, up to
 * SCORELINE_FUZZ_MAX_MIB of zero-length BYTES elements), valid messages with random byte
 * edits (sent as raw bytes), and one message over any sane limit (80 MiB). Each must be
 * answered OK or with a client error code (never INTERNAL, UNKNOWN, or a dropped call)
 * within ANSWER_MS, growing the engine's memory by at most AMPLIFICATION × the message
 * + SLACK; afterwards the engine answers health and an MLP inference correctly.
 */
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { loadInferencePackageDefinition } from '../../src/util/proto-files';
import { DATATYPES } from '../../src/tensor/datatypes';
import { reportFigures } from '../faults/helpers/figures';
import { fuzzParameters, mutatedText } from '../faults/helpers/fuzz';
import { FUZZ_RUNS, MiB, hostileCase, repetitions, startHostileEngine, type HostileEngine } from './helpers/hostile';

const ANSWER_MS = 20_000;
/** Memory a message may cost the engine per byte, plus a fixed allowance (gRPC's buffers, protobufjs's objects). */
const AMPLIFICATION = 16;
const SLACK = 128 * MiB;
/** Codes that say "your request is wrong or too big"; INTERNAL, UNKNOWN, UNAVAILABLE (a dropped connection), CANCELLED are not answers. */
const CLIENT_ERRORS = new Set<number>([status.INVALID_ARGUMENT, status.NOT_FOUND, status.RESOURCE_EXHAUSTED, status.FAILED_PRECONDITION, status.OUT_OF_RANGE, status.UNIMPLEMENTED]);
const METHOD = '/inference.GRPCInferenceService/ModelInfer';

 

// Encodes as a client would (64-bit integers from numbers); the server decodes with its own options.
const definition = loadInferencePackageDefinition({ keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const modelInfer = (definition['inference.GRPCInferenceService'] as any).ModelInfer as { requestSerialize(m: object): Buffer; responseDeserialize(b: Buffer): any };

let hostile: HostileEngine;
let client: Client;
const codes = new Map<string, Map<string, number>>();

beforeAll(async () => {
  hostile = await startHostileEngine();
  connect();
}, 120_000);

function connect(): void {
  client?.close();
  // No client-side limits: the server's limits are what is tested.
  client = new Client(hostile.engine.grpcUrl!, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
}

beforeEach(async () => {
  const before = hostile.engine;
  await hostile.revive();
  if (hostile.engine !== before) connect();
}, 120_000);

afterAll(async () => {
  for (const [what, byCode] of codes) {
    reportFigures(`hostile gRPC ${what}`, { cases: [...byCode.values()].reduce((a, b) => a + b, 0), codes: [...byCode].map(([c, n]) => `${c}:${n}`).join(',') });
  }
  client?.close();
  await hostile?.stop();
});

interface GrpcAnswer {
  code: number;
  details: string;
  response?: any;
}

/** Sends `bytes` as a ModelInfer request (already serialized, so garbage can be sent too). */
function send(bytes: Buffer): Promise<GrpcAnswer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      METHOD,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      { deadline: Date.now() + ANSWER_MS + 2_000 },
      (err: ServiceError | null, response?: Buffer) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: status.OK, details: '', response: modelInfer.responseDeserialize(response!) });
      },
    );
  });
}

function judge(kind: string, check?: (response: any) => string | undefined): (answer: GrpcAnswer) => string | undefined {
  return (answer) => {
    const byCode = codes.get(kind) ?? new Map<string, number>();
    codes.set(kind, byCode);
    const name = status[answer.code] ?? String(answer.code);
    byCode.set(name, (byCode.get(name) ?? 0) + 1);
    if (answer.code === status.OK) return check?.(answer.response);
    if (!CLIENT_ERRORS.has(answer.code)) return `answered ${name}: ${answer.details.slice(0, 300)}`;
    return answer.details === '' ? `${name} without details` : undefined;
  };
}

async function grpcCase(kind: string, bytes: Buffer, check?: (response: any) => string | undefined): Promise<void> {
  await hostileCase(hostile, `ModelInfer (${kind}, ${(bytes.length / MiB).toFixed(2)} MiB)`, { answerMs: ANSWER_MS, growthBytes: AMPLIFICATION * bytes.length + SLACK }, () => send(bytes), judge(kind, check));
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

it('answers well-formed add_sub requests (typed or raw) with a+b and a−b', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 8 }).chain((rows) => fc.tuple(fc.constant(rows), fc.array(int32, { minLength: 16 * rows, maxLength: 16 * rows }), fc.array(int32, { minLength: 16 * rows, maxLength: 16 * rows }), fc.boolean())), async ([rows, a, b, raw]) => {
      const tensor = (name: string, values: number[]) => (raw ? { name, datatype: 'INT32', shape: [rows, 16] } : { name, datatype: 'INT32', shape: [rows, 16], contents: { int_contents: values } });
      const message = { model_name: 'add_sub', inputs: [tensor('INPUT0', a), tensor('INPUT1', b)], raw_input_contents: raw ? [Buffer.from(Int32Array.from(a).buffer), Buffer.from(Int32Array.from(b).buffer)] : [] };
      await grpcCase('well-formed add_sub', modelInfer.requestSerialize(message), (response) => {
        const out = new Map<string, number[]>((response.outputs as Array<{ name: string }>).map((o, i) => [o.name, Array.from(new Int32Array(Uint8Array.from(response.raw_output_contents[i] as Buffer).buffer))]));
        const sum = a.map((x, i) => (x + b[i]!) | 0);
        const difference = a.map((x, i) => (x - b[i]!) | 0);
        return JSON.stringify(out.get('OUTPUT0')) === JSON.stringify(sum) && JSON.stringify(out.get('OUTPUT1')) === JSON.stringify(difference) ? undefined : `wrong answer: ${JSON.stringify(Object.fromEntries(out))}`;
      });
    }),
    fuzzParameters(FUZZ_RUNS * 2),
  );
}, 600_000);

const MODELS = ['add_sub', 'string_identity', 'mlp', 'identity_all', 'fixed', 'nope', ''];
const CONTENT_FIELDS = ['bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];
const dim = fc.oneof(fc.integer({ min: -2, max: 8 }), fc.constantFrom(2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53)));
const contents = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(
    fc.constantFrom(...CONTENT_FIELDS),
    fc.oneof(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }), fc.array(fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)), { maxLength: 6 })),
    { maxKeys: 2 },
  ),
);
/** raw_input_contents entries: random bytes, or a run of zero-length BYTES elements (4 zero bytes each) up to MAX_BYTES. */
const rawEntry = fc.oneof(fc.record({ bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }) }), fc.record({ emptyElements: repetitions(4) }));

type RawEntry = { bytes: number[] } | { emptyElements: number };
type Spec = { model: string; inputs: Array<{ name: string; datatype: string; shape: number[]; contents?: Record<string, unknown> }>; raw: RawEntry[]; outputs: string[] };

const randomMessage: fc.Arbitrary<Spec> = fc.record({
  model: fc.constantFrom(...MODELS),
  inputs: fc.array(
    fc.record({
      name: fc.constantFrom('INPUT0', 'INPUT1', 'INPUT_BYTES', 'INPUT_INT32', 'x', ''),
      datatype: fc.oneof(fc.constantFrom(...DATATYPES), fc.string({ maxLength: 5 })),
      shape: fc.array(dim, { maxLength: 4 }),
      contents,
    }, { requiredKeys: ['name', 'datatype', 'shape'] }),
    { maxLength: 3 },
  ),
  raw: fc.array(rawEntry, { maxLength: 3 }),
  outputs: fc.array(fc.constantFrom('OUTPUT0', 'OUTPUT1', 'OUTPUT_BYTES', 'nope'), { maxLength: 3 }),
});

/** The message a spec describes (a counterexample prints the spec: a run of empty elements as its count). */
function messageOf(spec: Spec): Buffer {
  const raw = spec.raw.map((entry) => ('bytes' in entry ? Buffer.from(entry.bytes) : Buffer.alloc(4 * entry.emptyElements)));
  return modelInfer.requestSerialize({ model_name: spec.model, inputs: spec.inputs, raw_input_contents: raw, outputs: spec.outputs.map((name) => ({ name })) });
}

it('answers random contents and raw_input_contents with OK or a client error, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(randomMessage, async (spec) => grpcCase('random contents', messageOf(spec))),
    fuzzParameters(FUZZ_RUNS * 3),
  );
}, 600_000);

it('answers zero-length BYTES elements in raw_input_contents, shape true or lying, with OK or a client error, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(repetitions(4), fc.constantFrom('string_identity', 'identity_all'), fc.boolean(), async (n, model, truthful) => {
      const name = model === 'string_identity' ? 'INPUT0' : 'INPUT_BYTES';
      const message = modelInfer.requestSerialize({ model_name: model, inputs: [{ name, datatype: 'BYTES', shape: truthful ? [n, 1] : [1, 1] }], raw_input_contents: [Buffer.alloc(4 * n)] });
      await grpcCase(`zero-length BYTES ×${truthful ? 'n' : '1 (lying)'}`, message);
    }),
    fuzzParameters(FUZZ_RUNS),
  );
}, 600_000);

it('answers valid messages with random byte edits with OK or a client error', async () => {
  const valid = modelInfer.requestSerialize({
    model_name: 'add_sub',
    inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16] })),
    raw_input_contents: [Buffer.from(Int32Array.from({ length: 16 }, (_, i) => i).buffer), Buffer.from(Int32Array.from({ length: 16 }, (_, i) => 2 * i).buffer)],
  }).toString('latin1');
  await fc.assert(
    fc.asyncProperty(mutatedText(valid), async (text) => grpcCase('edited bytes', Buffer.from(text, 'latin1'))),
    fuzzParameters(FUZZ_RUNS * 3),
  );
}, 600_000);

it('answers an 80 MiB message with a client error, in bounded time and memory', async () => {
  const message = modelInfer.requestSerialize({ model_name: 'string_identity', inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1] }], raw_input_contents: [Buffer.alloc(80 * MiB, 1)] });
  await grpcCase('80 MiB', message);
  expect(codes.get('80 MiB')?.get('OK')).toBeUndefined();
}, 120_000);
