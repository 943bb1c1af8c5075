/**
 * Hostile model configs against a running engine (the built CLI, explicit model control):
 * overrides on POST /v2/repository/models/M/load and config.pbtxt files whose numbers would
 * size allocations or work beyond reason (2^31-1 instances, 50 million priority levels,
 * 100,000 threads, 2^32-1 warmup runs, ...), nesting thousands of levels deep, or naming
 * files that are not there. Each is refused with 400 naming the field and the limit; the
 * engine's memory does not jump, it keeps answering health and inference on a normal model,
 * and no answer shows the repository's absolute path, an errno name or a stack frame.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_MODEL_CONFIG_LIMITS } from '../../src/engine/config/config-limits';
import { configText, writeRepositoryModel } from '../../tools/onnx/repository-writer';
import { testModels } from '../fixtures/test-repository';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { startEngine, type RunningEngine } from '../helpers/start-engine';
import { connectGrpc } from './grpc/helpers/grpc-test-client';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const MLP = {
  max_batch_size: 4,
  input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [8] }],
  output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4] }],
};
const WARMUP_INPUT = { INPUT0: { data_type: 'TYPE_FP32', dims: [8], zero_data: true } };

let dir: string;
let engine: RunningEngine;
/** Every response body this file received: none may show internals. */
const seen: string[] = [];

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb?.[1] ?? 0) * 1024;
}

async function send(method: string, route: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${engine.url}${route}`, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, text };
}

/** `config`: an object, or JSON text as is. */
const load = (model: string, config?: unknown) =>
  send('POST', `/v2/repository/models/${model}/load`, config === undefined ? {} : { parameters: { config: typeof config === 'string' ? config : JSON.stringify(config) } });

async function inferMlp(): Promise<number> {
  const body = { inputs: [{ name: 'INPUT0', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }] };
  const { status, text } = await send('POST', '/v2/models/mlp/infer', body);
  expect(JSON.parse(text).outputs[0].shape).toEqual([1, 4]);
  return status;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-hostile-'));
  const bytes = testModels().mlp.bytes;
  await writeRepositoryModel(dir, { name: 'mlp', versions: { 1: bytes } });
  // The target of the hostile overrides: its own directory, so 'mlp' keeps serving throughout.
  await writeRepositoryModel(dir, { name: 'victim', versions: { 1: bytes } });
  const deep = 'optimization { cuda { graph_spec ' + '{ a '.repeat(5_000) + '}'.repeat(5_000) + ' } }\n';
  await writeRepositoryModel(dir, { name: 'deep_pbtxt', versions: { 1: bytes }, config: deep });
  await writeRepositoryModel(dir, {
    name: 'many_instances',
    versions: { 1: bytes },
    config: configText({
      name: 'many_instances',
      maxBatchSize: 4,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [8] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [4] }],
      extra: ['instance_group [{ count: 2147483647, kind: KIND_CPU }]'],
    }),
  });
  await writeRepositoryModel(dir, {
    name: 'no_labels',
    versions: { 1: bytes },
    config: 'output [{ name: "OUTPUT0", data_type: TYPE_FP32, dims: [4], label_filename: "labels.txt" }]\n',
  });
  await writeRepositoryModel(dir, { name: 'broken_onnx', versions: { 1: Buffer.from('not an onnx model') } });
  await writeRepositoryModel(dir, {
    name: 'no_warmup_file',
    versions: { 1: bytes },
    config: 'model_warmup [{ name: "w" batch_size: 1 inputs { key: "INPUT0" value: { data_type: TYPE_FP32 dims: [8] input_data_file: "missing.bin" } } }]\n',
  });
  engine = await startEngine({ modelRepository: dir, args: ['--model-control-mode', 'explicit', '--load-model', 'mlp', '--model-config-limit', 'warmup_count=2000'] });
});

afterAll(async () => {
  await engine?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a hostile config override on POST .../load', () => {
  const threads = DEFAULT_MODEL_CONFIG_LIMITS.threads;
  /** JSON text: JSON.stringify itself overflows the stack a few thousand levels down. */
  const deep = (levels: number) =>
    JSON.stringify(MLP).replace(/}$/, `, "optimization": {"cuda": {"graph_spec": [${'['.repeat(levels)}1${']'.repeat(levels)}]}}}`);
  it.each<[string, unknown, RegExp]>([
    ['2^31-1 instances', { instance_group: [{ kind: 'KIND_CPU', count: 2 ** 31 - 1 }] }, /'instance_group\[0\]\.count': 2147483647 exceeds the limit of 64 /],
    [
      '50,000,000 priority levels',
      { ...MLP, dynamic_batching: { priority_levels: 50_000_000, default_priority_level: 1 } },
      /'dynamic_batching\.priority_levels': 50000000 exceeds the limit of 1000 /,
    ],
    [
      '100,000 intra-op threads',
      { parameters: { intra_op_thread_count: { string_value: '100000' } } },
      new RegExp(`'parameters\\["intra_op_thread_count"\\]\\.string_value': 100000 exceeds the limit of ${threads} `),
    ],
    ['100,000 inter-op threads', { parameters: { inter_op_thread_count: { string_value: '100000' } } }, /'parameters\["inter_op_thread_count"\]\.string_value': 100000 exceeds the limit of/],
    ['2^32-1 warmup runs', { ...MLP, model_warmup: [{ name: 'w', batch_size: 1, count: 2 ** 32 - 1, inputs: WARMUP_INPUT }] }, /'model_warmup\[0\]\.count': 4294967295 exceeds the limit of 2000 /],
    [
      'a 4 GiB warmup tensor',
      { ...MLP, model_warmup: [{ name: 'w', batch_size: 4, inputs: { INPUT0: { data_type: 'TYPE_FP32', dims: [2 ** 28], zero_data: true } } }] },
      /'model_warmup': needs 4294967296 bytes of warmup data .* exceeds the limit of 67108864 /,
    ],
    ['max_batch_size 2^31-1', { ...MLP, max_batch_size: 2 ** 31 - 1 }, /'max_batch_size': 2147483647 exceeds the limit of 65536 /],
    [
      'a preferred batch size of 2^31-1',
      { ...MLP, dynamic_batching: { preferred_batch_size: [2 ** 31 - 1] } },
      /'dynamic_batching\.preferred_batch_size\[0\]': 2147483647 exceeds the limit of 65536 /,
    ],
    [
      'a queue of 2^32-1',
      { ...MLP, dynamic_batching: { default_queue_policy: { max_queue_size: 2 ** 32 - 1 } } },
      /'dynamic_batching\.default_queue_policy\.max_queue_size': 4294967295 exceeds the limit of 1000000 /,
    ],
    [
      'a queue delay of 2^53-1 µs',
      { ...MLP, dynamic_batching: { max_queue_delay_microseconds: Number.MAX_SAFE_INTEGER } },
      /'dynamic_batching\.max_queue_delay_microseconds': 9007199254740991 exceeds the limit of 60000000 /,
    ],
    ['100,000 dims', { ...MLP, input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: Array(100_000).fill(1) }] }, /'input\[0\]\.dims': 100000 exceeds the limit of 64 /],
    ['nesting 5,000 levels deep', deep(5_000), /config nesting depth 33\+ exceeds the limit of 32 /],
    ['nesting 100,000 levels deep', deep(100_000), /config nesting depth 33\+ exceeds the limit of 32 /],
    ['a config of 1.5 MiB', { ...MLP, name: 'victim', platform: 'x'.repeat(1.5 * MiB) }, /parameter 'config' is \d+ bytes, which \d+ exceeds the limit of 1048576 /],
  ])('is refused with 400 naming the field and the limit: %s', async (_what, config, message) => {
    const before = rssBytes(engine.child.pid!);
    const { status, text } = await load('victim', config);
    expect({ status, error: JSON.parse(text).error }).toEqual({ status: 400, error: expect.stringMatching(message) });
    expect(JSON.parse(text).error).toMatch(/--model-config-limit [a-z_]+=N raises it\)$/);
    // Generous: a refusal allocates nothing from the numbers; the probe saw > 1 GiB.
    expect(rssBytes(engine.child.pid!) - before).toBeLessThan(200 * MiB);
    expect(await send('GET', '/v2/health/live')).toMatchObject({ status: 200 });
    expect(await inferMlp()).toBe(200);
  });

  it('is refused with 501 when it sends model files (file: parameters), as over gRPC', async () => {
    const { status, text } = await send('POST', '/v2/repository/models/victim/load', { parameters: { 'file:1/model.onnx': 'AAAA' } });
    expect(status).toBe(501);
    expect(JSON.parse(text).error).toBe("load parameter 'file:1/model.onnx': model files in the request are not supported");
  });

  it('loads within the limits (the operator raised warmup_count), and serves', async () => {
    const config = { ...MLP, instance_group: [{ kind: 'KIND_CPU', count: 2 }], model_warmup: [{ name: 'w', batch_size: 1, count: 1_500, inputs: WARMUP_INPUT }] };
    expect(await load('victim', config)).toMatchObject({ status: 200 });
    const body = { inputs: [{ name: 'INPUT0', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }] };
    expect(await send('POST', '/v2/models/victim/infer', body)).toMatchObject({ status: 200 });
  });

  it('loads when deep but within the limit, and GET .../config then answers 200', async () => {
    expect(await load('victim', deep(25))).toMatchObject({ status: 200 });
    const { status, text } = await send('GET', '/v2/models/victim/config');
    expect(status).toBe(200);
    expect(text).toContain('[[[[[1]]]]]');
    expect(await inferMlp()).toBe(200);
  });
});

describe('a hostile or broken config.pbtxt in the repository', () => {
  it.each([
    ['deep_pbtxt', /config\.pbtxt line 1:\d+: message nesting depth 33 exceeds the limit of 32 /],
    ['many_instances', /'instance_group\[0\]\.count': 2147483647 exceeds the limit of 64 /],
  ])('fails to load with 400 naming the limit: %s', async (model, message) => {
    const { status, text } = await load(model);
    expect({ status, error: JSON.parse(text).error }).toEqual({ status: 400, error: expect.stringMatching(message) });
    expect(await inferMlp()).toBe(200);
  });

  it.each([
    ['no_labels', "model 'no_labels': label file 'labels.txt': not found"],
    ['no_warmup_file', "unable to read input_data_file 'missing.bin' of input 'INPUT0': not found"],
    ['broken_onnx', "model 'broken_onnx' version 1: onnxruntime could not create a session:"],
  ])('fails with a message that names the file as in the model directory: %s', async (model, message) => {
    const { status, text } = await load(model);
    expect(status).toBe(400);
    expect(JSON.parse(text).error).toContain(message);
  });

  it('leaves the failed loads\' reasons in the repository index without internals', async () => {
    const { status, text } = await send('POST', '/v2/repository/index', {});
    expect(status).toBe(200);
    const reasons = (JSON.parse(text) as Array<{ name: string; reason?: string }>).filter((e) => e.reason);
    expect(reasons.map((e) => e.name)).toEqual(expect.arrayContaining(['broken_onnx', 'no_labels', 'no_warmup_file']));
  });
});

describe('over gRPC (RepositoryModelLoad)', () => {
  const grpcLoad = async (model: string, config?: unknown): Promise<ServiceError> => {
    const client = connectGrpc(engine.grpcUrl!);
    try {
      const parameters = config === undefined ? {} : { config: { string_param: JSON.stringify(config) } };
      const err = await client.rpc('RepositoryModelLoad', { model_name: model, parameters }).then(() => undefined, (e: ServiceError) => e);
      if (err === undefined) throw new Error(`loading ${model} succeeded`);
      seen.push(err.details);
      return err;
    } finally {
      client.close();
    }
  };

  it('refuses a hostile override with INVALID_ARGUMENT naming the field and the limit', async () => {
    const err = await grpcLoad('victim', { instance_group: [{ kind: 'KIND_CPU', count: 2 ** 31 - 1 }] });
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/'instance_group\[0\]\.count': 2147483647 exceeds the limit of 64 /);
  });

  it('names a missing file as in the model directory', async () => {
    const err = await grpcLoad('no_labels');
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe("model 'no_labels': label file 'labels.txt': not found");
  });
});

afterAll(() => {
  // Every answer above, refusals and index alike: no absolute path of the repository, no errno name, no stack.
  expect(seen.length).toBeGreaterThan(20);
  for (const text of seen) {
    expect(text).not.toContain(dir);
    expect(text).not.toContain(os.tmpdir() + '/');
    expect(text).not.toMatch(/\bE(NOENT|ACCES|ISDIR|NOTDIR)\b|\n\s+at |\.js:\d+/);
  }
});
