/**
 * BYTES elements are never altered on their way through a model: onnxruntime-node's string
 * tensors hold text (JavaScript strings, ending at NUL), so an element that is not valid
 * UTF-8 or holds NUL is refused with 400 / INVALID_ARGUMENT naming the input and the
 * element, before it is queued; text, multibyte included, comes back byte for byte. From
 * the outside: `scoreline engine` in a child process, raw HTTP (binary extension: the only
 * HTTP form that carries arbitrary bytes) and a plain gRPC client.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { stringIdentity } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { decodeBytesElements, encodeBytesElements } from '../../../src/tensor/bytes-elements';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { GrpcTestClient, connectGrpc } from '../grpc/helpers/grpc-test-client';

 

let repo: string;
let engine: RunningEngine;
let client: GrpcTestClient;

const TEXT = ['plain', 'é', '€ 10', '😀 four bytes', '\uFFFD', '', '日本語', 'tab\there'].map((s) => Buffer.from(s, 'utf8'));
const MESSAGE = (input: string, model: string, element: number) =>
  `input '${input}' for model '${model}': element ${element} of BYTES is not valid UTF-8 (onnxruntime string tensors hold text); send text, or bytes through a UINT8 input`;

/** Raw KServe v2 HTTP with the binary extension: BYTES in, BYTES out, no JSON strings in between. */
async function inferBinary(model: string, input: string, output: string, elements: Buffer[]): Promise<{ status: number; json: any; elements?: Uint8Array[] }> {
  const data = encodeBytesElements(elements);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: input, datatype: 'BYTES', shape: [elements.length, 1], parameters: { binary_data_size: data.length } }],
      outputs: [{ name: output, parameters: { binary_data: true } }],
    }),
  );
  const res = await fetch(`${engine.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: Buffer.concat([header, data]),
    headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length') ?? body.length);
  const json = JSON.parse(body.subarray(0, headerLength).toString());
  if (res.status !== 200) return { status: res.status, json };
  return { status: res.status, json, elements: decodeBytesElements(body.subarray(headerLength), elements.length, output) };
}

function grpcRequest(model: string, elements: Buffer[], raw: boolean): object {
  const input = { name: 'INPUT0', datatype: 'BYTES', shape: [elements.length, 1] };
  return raw
    ? { model_name: model, inputs: [input], raw_input_contents: [encodeBytesElements(elements)] }
    : { model_name: model, inputs: [{ ...input, contents: { bytes_contents: elements } }] };
}

const ensembleConfig = [
  'name: "text_pipeline"',
  'platform: "ensemble"',
  'max_batch_size: 8',
  'input [ { name: "TEXT" data_type: TYPE_STRING dims: [ 1 ] } ]',
  'output [ { name: "ECHO" data_type: TYPE_STRING dims: [ 1 ] } ]',
  'ensemble_scheduling { step [ { model_name: "strings" model_version: -1 input_map { key: "INPUT0" value: "TEXT" } output_map { key: "OUTPUT0" value: "ECHO" } } ] }',
].join('\n');

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bytes-text-'));
  const bytes = (name: string) => ({ name, datatype: 'BYTES' as const, dims: [1] });
  await writeRepositoryModel(repo, {
    name: 'strings',
    versions: { 1: stringIdentity().bytes },
    config: configText({ name: 'strings', maxBatchSize: 8, inputs: [bytes('INPUT0')], outputs: [bytes('OUTPUT0')], extra: ['dynamic_batching { }'] }),
  });
  await writeRepositoryModel(repo, { name: 'text_pipeline', versions: {}, config: ensembleConfig });
  await fs.mkdir(path.join(repo, 'text_pipeline', '1'));
  engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode=explicit', '--load-model=strings', '--load-model=text_pipeline'] });
  client = connectGrpc(engine.grpcUrl!);
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
});

/** Not UTF-8, each way a decoder would replace: a stray byte, a cut sequence, an overlong form, an encoded surrogate. */
const NOT_UTF8: Array<[string, Buffer]> = [
  ['a stray 0xFF', Buffer.from([0x61, 0xff, 0x62])],
  ['a cut three-byte sequence', Buffer.from([0xe2, 0x82])],
  ['an overlong "/"', Buffer.from([0xc0, 0xaf])],
  ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
];

describe('HTTP (binary extension)', () => {
  test('valid UTF-8, multibyte included, round-trips byte for byte', async () => {
    const res = await inferBinary('strings', 'INPUT0', 'OUTPUT0', TEXT);
    expect(res.status).toBe(200);
    expect(res.elements!.map((e) => Buffer.from(e))).toEqual(TEXT);
  });

  test.each(NOT_UTF8)('%s is refused with 400 naming the input and the element', async (_name, bad) => {
    const res = await inferBinary('strings', 'INPUT0', 'OUTPUT0', [...TEXT.slice(0, 3), bad, TEXT[0]!]);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe(MESSAGE('INPUT0', 'strings', 3));
  });

  test('NUL, which onnxruntime-node ends a string at, is refused the same way', async () => {
    const res = await inferBinary('strings', 'INPUT0', 'OUTPUT0', [Buffer.from('ok'), Buffer.from('a\0b')]);
    expect(res.status).toBe(400);
    expect(res.json.error).toBe(
      "input 'INPUT0' for model 'strings': element 1 of BYTES holds a NUL byte (onnxruntime-node string tensors end at the first NUL); send text without NUL, or bytes through a UINT8 input",
    );
  });

  test("an ensemble refuses at its door, naming its own input; text passes through its step exactly", async () => {
    const bad = await inferBinary('text_pipeline', 'TEXT', 'ECHO', [Buffer.from([0xff])]);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe(MESSAGE('TEXT', 'text_pipeline', 0));
    const ok = await inferBinary('text_pipeline', 'TEXT', 'ECHO', TEXT);
    expect(ok.status).toBe(200);
    expect(ok.elements!.map((e) => Buffer.from(e))).toEqual(TEXT);
  });

  test('the refusal is counted as a failure before any execution', async () => {
    const stats = async (): Promise<any> => ((await (await fetch(`${engine.url}/v2/models/strings/stats`)).json()) as any).model_stats[0];
    const before = await stats();
    await inferBinary('strings', 'INPUT0', 'OUTPUT0', [Buffer.from([0xff])]);
    const after = await stats();
    expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
    expect(after.execution_count).toBe(before.execution_count);
  });
});

describe('HTTP (JSON)', () => {
  const postJson = async (body: Buffer | string): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${engine.url}/v2/models/strings/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: res.status, json: await res.json() };
  };
  const request = (strings: string) => `{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[2,1],"data":[${strings}]}]}`;

  test('text, multibyte and escaped surrogate pairs included, comes back as sent', async () => {
    const res = await postJson(request('"日本語 €","\\ud83d\\ude00 escaped pair"'));
    expect(res.status).toBe(200);
    expect(res.json.outputs[0].data).toEqual(['日本語 €', '😀 escaped pair']);
  });

  test('a body that is not UTF-8 is refused, not read with U+FFFD in its place', async () => {
    const res = await postJson(Buffer.concat([Buffer.from('{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[2,1],"data":["ok","a'), Buffer.from([0xff]), Buffer.from('"]}]}')]));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('the request JSON is not valid UTF-8; send BYTES that are not text in binary (binary_data_size)');
  });

  test.each([
    ['a lone high surrogate', '\\ud800'],
    ['a lone low surrogate', 'x\\udc00'],
  ])('an element escaping %s is refused naming the element', async (_case, escape) => {
    const res = await postJson(request(`"ok","${escape}"`));
    expect(res.status).toBe(400);
    expect(res.json.error).toBe(
      "input 'INPUT0': element 1 of 'data' escapes a lone UTF-16 surrogate, which UTF-8 cannot carry (it would reach the model as U+FFFD); send well-formed text",
    );
  });
});

describe('gRPC', () => {
  test.each([false, true])('valid UTF-8 round-trips byte for byte (raw contents: %s)', async (raw) => {
    const reply = await client.rpc('ModelInfer', grpcRequest('strings', TEXT, raw));
    const out = decodeBytesElements(reply.raw_output_contents[0], TEXT.length, 'OUTPUT0');
    expect(out.map((e) => Buffer.from(e))).toEqual(TEXT);
  });

  test.each([false, true])('not UTF-8 is INVALID_ARGUMENT naming the input and the element (raw contents: %s)', async (raw) => {
    const err = await client.rpcError('ModelInfer', grpcRequest('strings', [TEXT[0]!, TEXT[1]!, Buffer.from([0xc3])], raw));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(MESSAGE('INPUT0', 'strings', 2));
  });
});
