/**
 * The engine's GRPCInferenceService from the outside: `scoreline engine` in a child
 * process (--grpc-port=0), a @grpc/grpc-js client built from the package's own proto
 * files, and raw KServe v2 HTTP (fetch) on the same engine as the reference: each RPC
 * must answer what its HTTP route answers, and gRPC and HTTP requests share batches.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { identityAll, identityTensorNames } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import type { DataType } from '../../../src/tensor/datatypes';
import { sampleInput } from '../../fixtures/mlp-reference';
import { makeTestRepository, testModels } from '../../fixtures/test-repository';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { GrpcTestClient, TYPED_FIELD, connectGrpc, grpcInput, int32Raw, int32Values, rawToValues } from './helpers/grpc-test-client';

 

let repo: string;
let engine: RunningEngine;
let client: GrpcTestClient;

const rpc = (method: string, request: object = {}): Promise<any> => client.rpc(method, request);
const rpcError = (method: string, request: object) => client.rpcError(method, request);

async function getJson(url: string): Promise<any> {
  return (await fetch(`${engine.url}${url}`)).json();
}

async function postJson(url: string, body: unknown): Promise<any> {
  const res = await fetch(`${engine.url}${url}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** The datatypes that have a typed contents field (FP16 and BF16 travel raw only). */
const TYPED_DATATYPES = testModels().identityAll.datatypes.filter((d) => TYPED_FIELD[d] !== undefined);

function addSubInputs(a: number[], b: number[], rows = 1): object[] {
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [rows, 16] },
    { name: 'INPUT1', datatype: 'INT32', shape: [rows, 16] },
  ].map((t, i) => ({ ...t, contents: { int_contents: i === 0 ? a : b } }));
}

const range = <T = number>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-grpc-'));
  await makeTestRepository(repo);
  // add_sub waiting up to 1 s to fill a batch of 8, with a queue policy that lets a request
  // set a shorter timeout.
  await writeRepositoryModel(repo, {
    name: 'long_delay',
    versions: { 1: testModels().addSub.bytes },
    config: configText({
      name: 'long_delay',
      maxBatchSize: 8,
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', dims: [16] })),
      outputs: ['OUTPUT0', 'OUTPUT1'].map((name) => ({ name, datatype: 'INT32', dims: [16] })),
      extra: ['dynamic_batching { max_queue_delay_microseconds: 1000000 default_queue_policy { allow_timeout_override: true } }'],
    }),
  });
  await writeRepositoryModel(repo, { name: 'identity_typed', versions: { 1: identityAll({ datatypes: TYPED_DATATYPES }).bytes } });
  const models = ['add_sub', 'identity_all', 'identity_typed', 'classifier', 'long_delay'];
  engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode=explicit', ...models.map((m) => `--load-model=${m}`)] });
  client = connectGrpc(engine.grpcUrl!);
});

afterAll(async () => {
  client?.close();
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('server RPCs', () => {
  it('reports live and ready, and the same metadata as GET /v2', async () => {
    expect(await rpc('ServerLive')).toEqual({ live: true });
    expect(await rpc('ServerReady')).toEqual({ ready: true });
    expect(await rpc('ServerMetadata')).toEqual(await getJson('/v2'));
  });
});

describe('model RPCs', () => {
  it.each(['add_sub', 'identity_all', 'classifier'])('ModelMetadata of %s equals GET /v2/models/M', async (model) => {
    expect(await rpc('ModelMetadata', { name: model })).toEqual(await getJson(`/v2/models/${model}`));
    expect(await rpc('ModelMetadata', { name: model, version: '1' })).toEqual(await getJson(`/v2/models/${model}/versions/1`));
  });

  it.each(['add_sub', 'classifier'])('ModelConfig of %s carries every field GET /v2/models/M/config returns', async (model) => {
    const { config } = await rpc('ModelConfig', { name: model });
    const http = await getJson(`/v2/models/${model}/config`);
    expect(config).toMatchObject(http);
    expect(config.input[0].data_type).toBe('TYPE_' + (model === 'add_sub' ? 'INT32' : 'FP32'));
  });

  it('ModelReady is true for a loaded version and NOT_FOUND for an unknown model or version, as Triton', async () => {
    expect(await rpc('ModelReady', { name: 'add_sub' })).toEqual({ ready: true });
    expect(await rpc('ModelReady', { name: 'add_sub', version: '1' })).toEqual({ ready: true });
    expect(await rpcError('ModelReady', { name: 'add_sub', version: '3' })).toMatchObject({ code: status.NOT_FOUND, details: "Request for unknown model: 'add_sub' version 3 is not found" });
    expect(await rpcError('ModelReady', { name: 'nope' })).toMatchObject({ code: status.NOT_FOUND, details: "Request for unknown model: 'nope' is not found" });
    // HTTP keeps its answers: 400 for a version the model lacks.
    expect((await fetch(`${engine.url}/v2/models/add_sub/versions/3/ready`)).status).toBe(400);
    expect((await fetch(`${engine.url}/v2/models/add_sub/versions/3`)).status).toBe(400);
  });
});

describe('ModelInfer', () => {
  const a = range(32, (i) => i * 3 - 40);
  const b = range(32, (i) => 100 - i);

  it('adds and subtracts raw contents, answering in raw_output_contents with the id and version', async () => {
    const response = await rpc('ModelInfer', {
      model_name: 'add_sub',
      id: 'grpc-7',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [2, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [2, 16] },
      ],
      raw_input_contents: [int32Raw(a), int32Raw(b)],
    });
    expect(response).toMatchObject({
      model_name: 'add_sub',
      model_version: '1',
      id: 'grpc-7',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [2, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [2, 16] },
      ],
    });
    expect(int32Values(response.raw_output_contents[0])).toEqual(a.map((x, i) => x + b[i]!));
    expect(int32Values(response.raw_output_contents[1])).toEqual(a.map((x, i) => x - b[i]!));
  });

  it('answers typed contents exactly as it answers the same values in raw contents', async () => {
    const typed = await rpc('ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(a, b, 2) });
    const raw = await rpc('ModelInfer', {
      model_name: 'add_sub',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [2, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [2, 16] },
      ],
      raw_input_contents: [int32Raw(a), int32Raw(b)],
    });
    expect(typed).toEqual(raw);
  });

  it('returns only the outputs asked for, in the order asked', async () => {
    const response = await rpc('ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(a.slice(0, 16), b.slice(0, 16)), outputs: [{ name: 'OUTPUT1' }] });
    expect(response.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT1']);
    expect(int32Values(response.raw_output_contents[0])).toEqual(a.slice(0, 16).map((x, i) => x - b[i]!));
  });

  it.each([
    ['typed contents', 'identity_typed', false],
    ['raw_input_contents', 'identity_all', true],
  ])('agrees with HTTP on every datatype the identity model carries, sent as %s', async (_how, model, raw) => {
    const sample = (d: DataType): unknown[] =>
      d === 'BOOL' ? [true, false, true, true] : d === 'BYTES' ? ['a', 'wörld', '', 'd'] : d === 'FP16' ? [0.5, 1, -2, 3] : d.startsWith('FP') ? [0.25, -1.5, 3, 1e3] : d.startsWith('INT') ? [0, -1, 2, 3] : [0, 1, 2, 3];
    const datatypes = raw ? testModels().identityAll.datatypes : TYPED_DATATYPES;
    const tensors = datatypes.map((datatype) => ({ name: identityTensorNames(datatype).input, datatype, shape: [2, 2], data: sample(datatype) }));
    const http = await postJson(`/v2/models/${model}/infer`, { inputs: tensors });
    const encoded = tensors.map((t) => grpcInput(t.name, t.datatype, t.shape, t.data, raw));
    const grpc = await rpc('ModelInfer', {
      model_name: model,
      inputs: encoded.map((e) => e.input),
      raw_input_contents: raw ? encoded.map((e) => e.raw) : [],
    });
    expect(grpc.outputs).toHaveLength(datatypes.length);
    grpc.outputs.forEach((out: { name: string; datatype: DataType; shape: number[] }, i: number) => {
      const reference = http.outputs.find((o: { name: string }) => o.name === out.name);
      const data = rawToValues(out, grpc.raw_output_contents[i]);
      expect({ name: out.name, datatype: out.datatype, shape: out.shape, data }).toEqual(reference);
    });
  });

  it('returns the top classes with their labels for the classification parameter, as HTTP does', async () => {
    const input = Array.from(sampleInput(2, 4));
    const http = await postJson('/v2/models/classifier/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 4], data: input }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 2 } }],
    });
    const grpc = await rpc('ModelInfer', {
      model_name: 'classifier',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: input } }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: { int64_param: 2 } } }],
    });
    expect(grpc.outputs[0]).toMatchObject({ datatype: 'BYTES', shape: [2, 2] });
    expect(rawToValues(grpc.outputs[0], grpc.raw_output_contents[0])).toEqual(http.outputs[0].data);
    expect(http.outputs[0].data[0]).toMatch(/^\d\.\d{6}:\d:(cat|dog|bird|fish)$/);
  });

  it('batches concurrent gRPC and HTTP requests together, each answer still its own', async () => {
    const statsOf = async () => (await rpc('ModelStatistics', { name: 'add_sub' })).model_stats[0];
    const before = await statsOf();
    const rows = (k: number) => ({ a: range(16, (i) => k * 100 + i), b: range(16, () => k) });
    const calls = range(32, (k) => {
      const { a: x, b: y } = rows(k);
      if (k % 2 === 0) {
        return rpc('ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(x, y) }).then((r) => int32Values(r.raw_output_contents[0]));
      }
      const inputs = addSubInputs(x, y).map((t: any) => ({ name: t.name, datatype: 'INT32', shape: [1, 16], data: t.contents.int_contents }));
      return postJson('/v2/models/add_sub/infer', { inputs }).then((r) => r.outputs[0].data as number[]);
    });
    const sums = await Promise.all(calls);
    sums.forEach((sum, k) => expect(sum).toEqual(rows(k).a.map((x, i) => x + rows(k).b[i]!)));
    const after = await statsOf();
    expect(after.inference_count - before.inference_count).toBe(32);
    expect(after.inference_stats.success.count - before.inference_stats.success.count).toBe(32);
    expect(after.execution_count - before.execution_count).toBeLessThan(32);
    expect(after.batch_stats.some((s: { batch_size: number }) => s.batch_size > 1)).toBe(true);
  });

  it('puts gRPC and HTTP requests in one batch: 4 + 4 rows to a model that waits for 8 run as one execution', async () => {
    const statsOf = async () => (await rpc('ModelStatistics', { name: 'long_delay' })).model_stats[0];
    const before = await statsOf();
    const x = range(16, (i) => i);
    const calls = range(8, (k) =>
      k < 4
        ? rpc('ModelInfer', { model_name: 'long_delay', inputs: addSubInputs(x, range(16, () => k)) }).then((r) => int32Values(r.raw_output_contents[0]))
        : postJson('/v2/models/long_delay/infer', {
            inputs: ['INPUT0', 'INPUT1'].map((name, i) => ({ name, datatype: 'INT32', shape: [1, 16], data: i === 0 ? x : range(16, () => k) })),
          }).then((r) => r.outputs[0].data as number[]),
    );
    (await Promise.all(calls)).forEach((sum, k) => expect(sum).toEqual(x.map((v) => v + k)));
    const after = await statsOf();
    expect(after.execution_count - before.execution_count).toBe(1);
    expect(after.batch_stats.find((s: { batch_size: number }) => s.batch_size === 8)?.compute_infer.count).toBe(1);
  });

  it('honours the timeout parameter: a request that outwaits it in the queue gets UNAVAILABLE', async () => {
    const started = Date.now();
    const err = await rpcError('ModelInfer', {
      model_name: 'long_delay',
      inputs: addSubInputs(range(16, (i) => i), range(16, () => 1)),
      parameters: { timeout: { int64_param: 1000 } },
    });
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('Request timeout expired');
    // Well before the model's 1 s batching delay would have let it run.
    expect(Date.now() - started).toBeLessThan(900);
  });
});

describe('statistics and the repository', () => {
  it('ModelStatistics equals GET /v2/models/M/stats, and lists every loaded version without a name', async () => {
    const grpc = await rpc('ModelStatistics', { name: 'add_sub' });
    expect(grpc).toMatchObject(await getJson('/v2/models/add_sub/stats'));
    const all = await rpc('ModelStatistics', {});
    expect(all.model_stats.map((s: { name: string }) => s.name).sort()).toEqual(['add_sub', 'classifier', 'identity_all', 'identity_typed', 'long_delay']);
  });

  it.each([false, true])('RepositoryIndex (ready only: %s) equals POST /v2/repository/index', async (ready) => {
    const http = (await postJson('/v2/repository/index', { ready })) as Array<Record<string, string>>;
    const { models } = await rpc('RepositoryIndex', { ready });
    expect(models).toEqual(http.map((e) => ({ name: e.name, version: e.version ?? '', state: e.state ?? '', reason: e.reason ?? '' })));
    expect(models.some((m: { name: string }) => m.name === 'fixed')).toBe(!ready);
  });

  it('loads a model with a config override, serves it, and unloads it', async () => {
    const config = JSON.stringify({ max_batch_size: 0, instance_group: [{ kind: 'KIND_CPU', count: 2 }] });
    expect(await rpc('RepositoryModelLoad', { model_name: 'fixed', parameters: { config: { string_param: config } } })).toEqual({});
    expect(await rpc('ModelReady', { name: 'fixed' })).toEqual({ ready: true });
    const { config: loaded } = await rpc('ModelConfig', { name: 'fixed' });
    expect(loaded.instance_group).toMatchObject([{ kind: 'KIND_CPU', count: 2 }]);
    const response = await rpc('ModelInfer', {
      model_name: 'fixed',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], contents: { fp32_contents: [1, 2, 3, 4] } }],
    });
    expect(Array.from(new Float32Array(Uint8Array.from(response.raw_output_contents[0]).buffer))).toEqual([2, 4, 6, 8]);

    expect(await rpc('RepositoryModelUnload', { model_name: 'fixed' })).toEqual({});
    expect((await rpcError('ModelReady', { name: 'fixed' })).code).toBe(status.NOT_FOUND);
    const { models } = await rpc('RepositoryIndex', {});
    expect(models.find((m: { name: string }) => m.name === 'fixed')).toMatchObject({ state: 'UNAVAILABLE', reason: 'unloaded' });
  });
});

describe('errors carry the engine message and the gRPC code of its kind', () => {
  it.each<[string, string, object, status, RegExp]>([
    ['an unknown model', 'ModelInfer', { model_name: 'nope', inputs: [] }, status.NOT_FOUND, /^Request for unknown model: 'nope' is not found$/],
    ['an unknown version', 'ModelInfer', { model_name: 'add_sub', model_version: '7', inputs: [] }, status.NOT_FOUND, /^Request for unknown model: 'add_sub' version 7 is not found$/],
    ['the metadata of an unknown version', 'ModelMetadata', { name: 'add_sub', version: '7' }, status.NOT_FOUND, /'add_sub' version 7 is not found/],
    ['the config of an unknown version', 'ModelConfig', { name: 'add_sub', version: '7' }, status.NOT_FOUND, /'add_sub' version 7 is not found/],
    ['a version that is not a number', 'ModelInfer', { model_name: 'add_sub', model_version: 'v1', inputs: [] }, status.INVALID_ARGUMENT, /version string 'v1', version should be an integral value > 0/],
    ['a negative version', 'ModelMetadata', { name: 'add_sub', version: '-1' }, status.INVALID_ARGUMENT, /invalid model version specified '-1'/],
    [
      "a parameter key starting with 'triton_' that Triton does not allow",
      'ModelInfer',
      { model_name: 'add_sub', inputs: addSubInputs(range(16, () => 1), range(16, () => 1)), parameters: { triton_x: { bool_param: true } } },
      status.INVALID_ARGUMENT,
      /keys starting with 'triton_' are reserved .* allowed: triton_enable_empty_final_response$/,
    ],
    [
      'triton_enable_empty_final_response that is not a bool_param',
      'ModelInfer',
      { model_name: 'add_sub', inputs: addSubInputs(range(16, () => 1), range(16, () => 1)), parameters: { triton_enable_empty_final_response: { string_param: 'true' } } },
      status.INVALID_ARGUMENT,
      /invalid value type for 'triton_enable_empty_final_response' parameter, expected bool_param/,
    ],
    [
      'a wrong datatype',
      'ModelInfer',
      { model_name: 'add_sub', inputs: [0, 1].map((i) => ({ name: `INPUT${i}`, datatype: 'FP32', shape: [1, 16], contents: { fp32_contents: range(16, () => 1) } })) },
      status.INVALID_ARGUMENT,
      /inference input 'INPUT0' data-type is 'FP32', but model 'add_sub' expects 'INT32'/,
    ],
    ['a batch over max_batch_size', 'ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(range(144, () => 1), range(144, () => 1), 9) }, status.INVALID_ARGUMENT, /batch-size must be <= 8/],
    ['a missing input', 'ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(range(16, () => 1), []).slice(0, 1) }, status.INVALID_ARGUMENT, /missing required input\(s\) \['INPUT1'\]/],
    [
      'raw contents for only some inputs',
      'ModelInfer',
      { model_name: 'add_sub', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16] }, { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] }], raw_input_contents: [int32Raw(range(16, () => 1))] },
      status.INVALID_ARGUMENT,
      /expected 2 raw_input_contents/,
    ],
    ['the config of an unknown model', 'ModelConfig', { name: 'nope' }, status.NOT_FOUND, /Request for unknown model: 'nope'/],
    ['the statistics of a model that is not loaded', 'ModelStatistics', { name: 'mlp' }, status.NOT_FOUND, /'mlp' is not found/],
    ['a named repository', 'RepositoryIndex', { repository_name: 'other' }, status.UNIMPLEMENTED, /'repository_name' specification is not supported/],
    ['loading a model the repository lacks', 'RepositoryModelLoad', { model_name: 'nope' }, status.INVALID_ARGUMENT, /failed to load 'nope', no version is available/],
    ['a load config that is not JSON', 'RepositoryModelLoad', { model_name: 'mlp', parameters: { config: { string_param: '{' } } }, status.INVALID_ARGUMENT, /parameter 'config' is not valid JSON/],
    ['unloading a model never loaded', 'RepositoryModelUnload', { model_name: 'mlp' }, status.INVALID_ARGUMENT, /failed to unload 'mlp', model is not loaded/],
    [
      'unload_dependents that is not a bool_param',
      'RepositoryModelUnload',
      { model_name: 'mlp', parameters: { unload_dependents: { string_param: 'true' } } },
      status.INVALID_ARGUMENT,
      /parameter 'unload_dependents' must be a bool_param/,
    ],
  ])('%s', async (_name, method, request, code, message) => {
    const err = await rpcError(method, request);
    expect(err.code).toBe(code);
    expect(err.details).toMatch(message);
  });

  it('still serves correct answers after all of the above', async () => {
    const response = await rpc('ModelInfer', { model_name: 'add_sub', inputs: addSubInputs(range(16, (i) => i), range(16, () => 2)) });
    expect(int32Values(response.raw_output_contents[0])).toEqual(range(16, (i) => i + 2));
  });
});
