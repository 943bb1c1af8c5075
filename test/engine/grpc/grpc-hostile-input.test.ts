/**
 * Hostile gRPC messages against a real engine (`scoreline engine` from dist, default limits,
 * plus one with a small --http-max-input-size): a message over that size is refused by gRPC
 * itself, floods of tiny elements or fields are refused before they are decoded, and the
 * engine serves normally afterwards.
 * Durations are only bounded loosely (seconds), against a cost that used to be 5-10 s here.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { identityAll } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { encodeBytesElements } from '../../../src/tensor/bytes-elements';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { GrpcTestClient, connectGrpc, int32Raw, int32Values } from './helpers/grpc-test-client';
import { emptyBytesContents, int64Contents, wireInferRequest, wireInput } from './helpers/wire-messages';

const MiB = 1024 * 1024;
const DEFAULT_MAX_INPUT = 64 * MiB;

let repo: string;
let engine: RunningEngine;
let client: GrpcTestClient;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-grpc-hostile-'));
  await writeRepositoryModel(repo, { name: 'id_bytes', versions: { 1: identityAll({ datatypes: ['BYTES'] }).bytes } });
  await writeRepositoryModel(repo, { name: 'id_int32', versions: { 1: identityAll({ datatypes: ['INT32'] }).bytes } });
  await writeRepositoryModel(repo, { name: 'id_int64', versions: { 1: identityAll({ datatypes: ['INT64'] }).bytes } });
  engine = await startEngine({ modelRepository: repo });
  client = connectGrpc(engine.grpcUrl!);
});

afterAll(async () => {
  client?.close();
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

/** The engine still answers: live, and a small infer round-trips. */
async function expectServing(): Promise<void> {
  expect(await client.rpc('ServerLive')).toEqual({ live: true });
  const response = await client.rpc('ModelInfer', {
    model_name: 'id_int32',
    inputs: [{ name: 'INPUT_INT32', datatype: 'INT32', shape: [1, 3] }],
    raw_input_contents: [int32Raw([1, -2, 3])],
  });
  expect(int32Values(response.raw_output_contents[0])).toEqual([1, -2, 3]);
}

async function timed(message: Buffer): Promise<{ err: ServiceError; ms: number }> {
  const started = Date.now();
  const result = await client.rawRpc('ModelInfer', message);
  if (!('code' in result)) throw new Error(`ModelInfer succeeded (${result.responseBytes} bytes) but was expected to fail`);
  return { err: result, ms: Date.now() - started };
}

describe('ModelInfer on hostile input', () => {
  it('refuses a message over --http-max-input-size with RESOURCE_EXHAUSTED naming the limit, as HTTP answers 413', async () => {
    const n = 10 * MiB; // 80 MiB of INT64
    const { err } = await timed(wireInferRequest('id_int64', [wireInput('INPUT_INT64', 'INT64', [1, n])], [Buffer.alloc(n * 8)]));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(new RegExp(`larger than max \\(\\d+ vs\\.? ${DEFAULT_MAX_INPUT}\\)`));
    await expectServing();
  });

  it('takes its limit from --http-max-input-size, the setting that bounds an HTTP body', async () => {
    const small = await startEngine({ modelRepository: repo, args: ['--http-max-input-size=1048576'] });
    const smallClient = connectGrpc(small.grpcUrl!);
    try {
      const over = await smallClient.rawRpc('ModelInfer', wireInferRequest('id_int32', [wireInput('INPUT_INT32', 'INT32', [1, 300_000])], [Buffer.alloc(1_200_000)]));
      expect(over).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/larger than max \(\d+ vs\.? 1048576\)/) });
      const under = await smallClient.rawRpc('ModelInfer', wireInferRequest('id_int32', [wireInput('INPUT_INT32', 'INT32', [1, 200_000])], [Buffer.alloc(800_000)]));
      expect(under).toEqual({ responseBytes: expect.any(Number) });
    } finally {
      smallClient.close();
      await small.stop();
    }
  });

  it('refuses a raw flood of zero-length BYTES elements by its shape, before decoding it', async () => {
    const n = (DEFAULT_MAX_INPUT - 4096) / 4; // 16 million zero-length elements, just under the limit
    const { err, ms } = await timed(wireInferRequest('id_bytes', [wireInput('INPUT_STRING', 'BYTES', [1, n])], [Buffer.alloc(n * 4)]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      `input 'INPUT_STRING': shape [1,${n}] holds ${n} BYTES elements, which brings the request past the limit of 131072 BYTES elements`,
    );
    expect(ms).toBeLessThan(4000);
    await expectServing();
  });

  it('refuses a raw flood hidden behind a small shape at the first element past it', async () => {
    const { err } = await timed(wireInferRequest('id_bytes', [wireInput('INPUT_STRING', 'BYTES', [1, 4])], [Buffer.alloc(DEFAULT_MAX_INPUT - 4096)]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe("input 'INPUT_STRING': BYTES data holds more than the 4 elements the shape needs");
    await expectServing();
  });

  it('refuses a flood of empty bytes_contents entries before protobufjs decodes them', async () => {
    const n = (DEFAULT_MAX_INPUT - 4096) / 2; // 32 million two-byte entries
    const { err, ms } = await timed(wireInferRequest('id_bytes', [wireInput('INPUT_STRING', 'BYTES', [1, n], emptyBytesContents(n))]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      "input 'INPUT_STRING': contents.bytes_contents brings the request's typed contents past the limit of 65536 elements; send large tensors in raw_input_contents",
    );
    expect(ms).toBeLessThan(4000);
    await expectServing();
  });

  it('refuses 8 million int64_contents elements without decoding them', async () => {
    const n = 8 * MiB;
    const { err, ms } = await timed(wireInferRequest('id_int64', [wireInput('INPUT_INT64', 'INT64', [1, n], int64Contents(n, 2n ** 48n))]));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^input 'INPUT_INT64': contents.int64_contents brings the request's typed contents past the limit of 65536 elements/);
    expect(ms).toBeLessThan(4000);
    await expectServing();
  });

  it('refuses 32 million empty raw_input_contents entries by their number, before decoding them', async () => {
    const n = (DEFAULT_MAX_INPUT - 4096) / 2;
    const entries = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) entries[2 * i] = (7 << 3) | 2; // raw_input_contents (7), length 0
    const message = Buffer.concat([wireInferRequest('id_bytes', [wireInput('INPUT_STRING', 'BYTES', [1, 1])]), entries]);
    const { err, ms } = await timed(message);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe('ModelInferRequest has more than 65536 fields (inputs, outputs, parameters, raw_input_contents, shape dimensions together); 65536 is the limit');
    expect(ms).toBeLessThan(4000);
    await expectServing();
  });

  it('refuses a load request flooded with parameters (32 MiB of empty map entries) before decoding it', async () => {
    const n = Math.floor((32 * MiB) / 6);
    const entries = Buffer.alloc(n * 6);
    // parameters (3) entry of 4 bytes: key (1) "" and value (2) an empty ModelRepositoryParameter.
    for (let i = 0; i < n; i++) entries.set([(3 << 3) | 2, 4, 0x0a, 0, 0x12, 0], 6 * i);
    const result = await client.rawRpc('RepositoryModelLoad', Buffer.concat([Buffer.from([0x12, 8]), Buffer.from('id_int64'), entries]));
    expect(result).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'request has more than 65536 fields (map entries each count one); 65536 is the limit' });
    await expectServing();
  });

  it.each([
    ['ModelInfer', 'ModelInferRequest'],
    ['ModelMetadata', 'ModelMetadataRequest'],
  ])('answers %s bytes that are not protobuf with INVALID_ARGUMENT, not grpc-js\'s INTERNAL', async (method, message) => {
    // Field 5 (inputs) says 5 bytes follow, and 2 do: protobufjs cannot decode it.
    const result = await client.rawRpc(method, Buffer.from([0x2a, 0x05, 0x0a, 0x10]));
    expect(result).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(new RegExp(`^${message} cannot be decoded: `)) });
    await expectServing();
  });

  it('still accepts BYTES and typed contents at their limits', async () => {
    const strings = Array.from({ length: 65_536 }, (_, i) => Buffer.from(i % 7 === 0 ? '' : `s${i}`));
    const response = await client.rpc('ModelInfer', {
      model_name: 'id_bytes',
      inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, strings.length], contents: { bytes_contents: strings } }],
    });
    expect(response.outputs[0]).toMatchObject({ name: 'OUTPUT_STRING', shape: [1, strings.length] });
    const raw = Array.from({ length: 131_072 }, (_, i) => Buffer.from(i % 5 === 0 ? '' : 'x'));
    const rawResponse = await client.rpc('ModelInfer', {
      model_name: 'id_bytes',
      inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, raw.length] }],
      raw_input_contents: [encodeBytesElements(raw)],
    });
    expect(rawResponse.outputs[0]).toMatchObject({ name: 'OUTPUT_STRING', shape: [1, raw.length] });
    expect(rawResponse.raw_output_contents[0]).toEqual(encodeBytesElements(raw));
  });
});

describe('ModelStreamInfer on hostile input', () => {
  const valid = (k: number): object => ({ model_name: 'id_int32', id: `ok-${k}`, inputs: [{ name: 'INPUT_INT32', datatype: 'INT32', shape: [1, 1] }], raw_input_contents: [int32Raw([k])] });
  const expectValid = (a: { error_message: string; infer_response: any }, k: number): void => {
    expect(a.error_message).toBe('');
    expect(int32Values(a.infer_response.raw_output_contents[0])).toEqual([k]);
  };

  it('refuses floods on the stream before decoding them, as ModelInfer does, answering each on the stream and going on', async () => {
    const stream = client.openStream();
    const n = (DEFAULT_MAX_INPUT - 4096) / 2; // 32 million two-byte bytes_contents entries
    stream.send(valid(1));
    stream.send(wireInferRequest('id_bytes', [wireInput('INPUT_STRING', 'BYTES', [1, n], emptyBytesContents(n))]));
    stream.send(wireInferRequest('id_int64', [wireInput('INPUT_INT64', 'INT64', [1, 8 * MiB], int64Contents(8 * MiB, 2n ** 48n))]));
    stream.send(valid(2));
    const [first, bytesFlood, int64Flood, last] = await stream.next(4);
    expectValid(first!, 1);
    expect(bytesFlood!.error_message).toBe(
      "input 'INPUT_STRING': contents.bytes_contents brings the request's typed contents past the limit of 65536 elements; send large tensors in raw_input_contents",
    );
    expect(int64Flood!.error_message).toMatch(/^input 'INPUT_INT64': contents.int64_contents brings the request's typed contents past the limit of 65536 elements/);
    expectValid(last!, 2);
    expect(await stream.end()).toMatchObject({ code: status.OK });
    await expectServing();
  }, 30_000);

  it('ends the stream with RESOURCE_EXHAUSTED for a message over --http-max-input-size, as ModelInfer is refused', async () => {
    const stream = client.openStream();
    stream.send(valid(1));
    expectValid((await stream.next(1))[0]!, 1);
    const n = 10 * MiB; // 80 MiB of INT64
    stream.send(wireInferRequest('id_int64', [wireInput('INPUT_INT64', 'INT64', [1, n])], [Buffer.alloc(n * 8)]));
    const ended = await stream.ended;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(new RegExp(`larger than max \\(\\d+ vs\\.? ${DEFAULT_MAX_INPUT}\\)`));
    await expectServing();
  }, 30_000);
});
