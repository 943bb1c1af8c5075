/**
 * The client against the real engine (`scoreline engine`, built CLI, free port) serving the
 * project's test repository: every method, every datatype both ways (binary and JSON),
 * classification, versions, hundreds of concurrent calls, timeouts, server errors, and use
 * from plain JavaScript through the package's `scoreline/client` export.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ClientTimeoutError,
  DataType,
  InferInput,
  InferRequestedOutput,
  InferenceServerClient,
  InferenceServerError,
  float32ToFloat16Bits,
} from '../../src/client';
import { dataTypeInfo, typedArrayConstructor } from '../../src/tensor';
import { IDENTITY_DATATYPES, identityTensorNames } from '../../tools/onnx/model-zoo';
import { CLASSIFIER_LABELS, makeTestRepository, testModels } from '../fixtures/test-repository';
import { mlpForward } from '../fixtures/mlp-reference';
import { PACKAGE_ROOT, RunningEngine, startEngine } from '../helpers/start-engine';

let repository: string;
let engine: RunningEngine;
let client: InferenceServerClient;

beforeAll(async () => {
  repository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-client-'));
  await makeTestRepository(repository);
  engine = await startEngine({ modelRepository: repository, args: ['--model-control-mode', 'explicit', '--load-model', '*'] });
  client = new InferenceServerClient({ url: engine.url.replace('http://', '') });
  await client.waitUntilReady({ timeoutMs: 30_000, models: ['mlp', 'add_sub', 'identity_all', 'classifier'] });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await engine?.stop();
  if (repository) await rm(repository, { recursive: true, force: true });
});

const addSubInputs = (a: Int32Array, b: Int32Array, batch = 1) => [
  new InferInput('INPUT0', [batch, 16], 'INT32').setData(a),
  new InferInput('INPUT1', [batch, 16], 'INT32').setData(b),
];

describe('health and metadata', () => {
  it('reports the server live and ready, and which models are ready', async () => {
    expect(await client.isServerLive()).toBe(true);
    expect(await client.isServerReady()).toBe(true);
    expect(await client.isModelReady('mlp')).toBe(true);
    expect(await client.isModelReady('scale', { modelVersion: 2 })).toBe(true);
    expect(await client.isModelReady('scale', { modelVersion: '3' })).toBe(false);
    expect(await client.isModelReady('nope')).toBe(false);
  });

  it('reads server metadata with the extensions the client relies on', async () => {
    const meta = await client.getServerMetadata();
    expect(meta.name).toEqual(expect.any(String));
    expect(meta.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification', 'model_repository', 'statistics']));
  });

  it('reads model metadata and config', async () => {
    expect(await client.getModelMetadata('add_sub')).toMatchObject({
      name: 'add_sub',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    expect(await client.getModelMetadata('scale', { modelVersion: 1 })).toMatchObject({ name: 'scale', versions: ['1'] });
    const config = await client.getModelConfig('classifier');
    expect(config).toMatchObject({ name: 'classifier', max_batch_size: 8 });
    expect(config.output?.[0]).toMatchObject({ name: 'OUTPUT0', data_type: 'TYPE_FP32', label_filename: 'labels.txt' });
  });

  it('lists the repository with every model version ready', async () => {
    const index = await client.getModelRepositoryIndex();
    const ready = index.filter((e) => e.state === 'READY').map((e) => `${e.name}:${e.version}`);
    expect(ready).toEqual(
      expect.arrayContaining(['add_sub:1', 'classifier:1', 'fixed:1', 'identity_all:1', 'mlp:1', 'scale:1', 'scale:2', 'string_identity:1']),
    );
  });

  it('counts inferences in the statistics of one version and of all models', async () => {
    const count = async () => (await client.getInferenceStatistics('scale', { modelVersion: 1 })).model_stats[0]!.inference_count;
    const before = await count();
    for (let i = 0; i < 3; i++) {
      await client.infer('scale', [new InferInput('INPUT0', [1, 2], 'FP32').setData([1, 2])], { modelVersion: 1 });
    }
    expect((await count()) - before).toBe(3);
    const all = await client.getInferenceStatistics();
    expect(all.model_stats.map((s) => s.name)).toEqual(expect.arrayContaining(['add_sub', 'mlp', 'scale']));
  });
});

describe('inference', () => {
  it('adds and subtracts a batch, outputs requested or not', async () => {
    const a = Int32Array.from({ length: 32 }, (_, i) => i * 1000);
    const b = Int32Array.from({ length: 32 }, (_, i) => -i);
    const all = await client.infer('add_sub', addSubInputs(a, b, 2));
    expect(all.getOutput('OUTPUT0')?.shape).toEqual([2, 16]);
    expect(all.asTypedArray('OUTPUT0')).toEqual(a.map((v, i) => v + b[i]!));
    expect(all.asTypedArray('OUTPUT1')).toEqual(a.map((v, i) => v - b[i]!));

    const one = await client.infer('add_sub', addSubInputs(a, b, 2), { outputs: [new InferRequestedOutput('OUTPUT1', { binaryData: false })] });
    expect(one.getResponse().outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
    expect(one.getOutput('OUTPUT1')?.data).toHaveLength(32);
    expect(one.asTypedArray('OUTPUT1')).toEqual(a.map((v, i) => v - b[i]!));
  });

  it('echoes the request id and accepts priority and a server-side timeout', async () => {
    const a = new Int32Array(16).fill(1);
    const result = await client.infer('add_sub', addSubInputs(a, a), { requestId: 'abc-1', priority: 1, timeout: 10_000_000 });
    expect(result.getResponse()).toMatchObject({ model_name: 'add_sub', model_version: '1', id: 'abc-1' });
  });

  it("matches a plain-JavaScript forward pass of the MLP", async () => {
    const model = testModels().mlp;
    const x = Float32Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i));
    const result = await client.infer('mlp', [new InferInput('INPUT0', [3, 8], 'FP32').setData(x)]);
    const expected = mlpForward(model, x, 3);
    const actual = result.asTypedArray<Float32Array>('OUTPUT0');
    expect(result.getOutput('OUTPUT0')?.shape).toEqual([3, 4]);
    actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
  });

  it('addresses model versions', async () => {
    const run = async (modelVersion: number) =>
      Array.from(
        (await client.infer('scale', [new InferInput('INPUT0', [1, 3], 'FP32').setData([1, 2, 3])], { modelVersion })).asTypedArray<Float32Array>(
          'OUTPUT0',
        ),
      );
    expect(await run(1)).toEqual([1, 2, 3]);
    expect(await run(2)).toEqual([2, 4, 6]);
  });

  it('runs a model that cannot batch (max_batch_size 0)', async () => {
    const result = await client.infer('fixed', [new InferInput('INPUT0', [4], 'FP32').setData([1, -2, 3, 0.5])]);
    expect(result.asTypedArray('OUTPUT0')).toEqual(new Float32Array([2, -4, 6, 1]));
  });

  it('passes BYTES through unchanged', async () => {
    const elements = [Buffer.from('héllo'), Buffer.from('🙂 ok')];
    const result = await client.infer('string_identity', [new InferInput('INPUT0', [2, 1], 'BYTES').setData(elements)]);
    expect(result.asTypedArray('OUTPUT0')).toEqual(elements);
  });
});

describe('compression (tritonclient.http request_ / response_compression_algorithm)', () => {
  const a = Int32Array.from({ length: 16 }, (_, i) => i * 7);
  const b = Int32Array.from({ length: 16 }, (_, i) => 50 - i);
  const sums = a.map((v, i) => v + b[i]!);

  it.each([
    ['undici', 'gzip', 'deflate'],
    ['undici', 'deflate', 'gzip'],
    ['lean', 'gzip', 'gzip'],
    ['lean', 'deflate', 'deflate'],
  ] as const)('over the %s transport: a %s request and a %s response give the plain call\'s result', async (transport, requestCompressionAlgorithm, responseCompressionAlgorithm) => {
    const compressing = new InferenceServerClient({ url: engine.url, transport });
    try {
      const result = await compressing.infer('add_sub', addSubInputs(a, b), { requestCompressionAlgorithm, responseCompressionAlgorithm });
      expect(result.asTypedArray('OUTPUT0')).toEqual(sums);
    } finally {
      await compressing.close();
    }
  });

  it('refuses an algorithm it does not know, naming the option', async () => {
    await expect(client.infer('add_sub', addSubInputs(a, b), { requestCompressionAlgorithm: 'br' as never })).rejects.toThrow(
      "infer option 'requestCompressionAlgorithm' must be 'gzip' or 'deflate', got \"br\"",
    );
  });
});

describe('classification', () => {
  const x = [0.3, -1.2, 2.5, 0.1, 1, 1, -1, -1];

  it.each([true, false])('returns the top classes as "value:index:label" (binaryData %p)', async (binaryData) => {
    const inputs = [new InferInput('INPUT0', [2, 4], 'FP32').setData(x)];
    const probabilities = (await client.infer('classifier', inputs)).asTypedArray<Float32Array>('OUTPUT0');
    const result = await client.infer('classifier', inputs, { outputs: [new InferRequestedOutput('OUTPUT0', { classCount: 2, binaryData })] });

    expect(result.getOutput('OUTPUT0')).toMatchObject({ datatype: 'BYTES', shape: [2, 2] });
    const classes = result.asTypedArray<string[]>('OUTPUT0', { bytesAs: 'string' });
    for (let row = 0; row < 2; row++) {
      const probs = Array.from(probabilities.subarray(row * 4, row * 4 + 4));
      const top = probs.map((p, i) => [p, i] as const).sort((p, q) => q[0] - p[0]).slice(0, 2);
      const parsed = classes.slice(row * 2, row * 2 + 2).map((c) => c.split(':'));
      expect(parsed.map(([, index, label]) => [Number(index), label])).toEqual(top.map(([, i]) => [i, CLASSIFIER_LABELS[i]]));
      parsed.forEach(([value], k) => expect(Number(value)).toBeCloseTo(top[k]![0], 5));
    }
  });
});

/** Row-major test values for a [2, 3] tensor of each datatype; `json` keeps them JSON-safe. */
function valuesFor(datatype: DataType, json: boolean): unknown[] {
  // 64-bit extremes only in binary: JSON numbers stop being exact at 2^53.
  const big = (signed: boolean) => {
    if (json) return [0, 1, 2, 3, 4, Number.MAX_SAFE_INTEGER];
    return signed ? [-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n] : [0n, 1n, 2n ** 63n, 2n ** 53n + 1n, 7n, 2n ** 64n - 1n];
  };
  const table: Record<string, unknown[]> = {
    BOOL: [true, false, true, true, false, false],
    UINT8: [0, 1, 127, 128, 254, 255],
    UINT16: [0, 1, 2, 65533, 65534, 65535],
    UINT32: [0, 1, 2, 4294967293, 4294967294, 4294967295],
    UINT64: big(false),
    INT8: [-128, -1, 0, 1, 2, 127],
    INT16: [-32768, -1, 0, 1, 2, 32767],
    INT32: [-2147483648, -1, 0, 1, 2, 2147483647],
    INT64: big(true),
    FP16: [1, -2, 0, 65504, 0.333251953125, 2 ** -24],
    FP32: Array.from(Float32Array.of(1.5, -2.25, 0, 0.1, 3.4e38, -1e-30)),
    FP64: [0.1, -1e300, 0, 5e-324, 1, 2],
    // UTF-8 without NUL: onnxruntime-node holds strings as JS strings (C strings inside), so
    // invalid UTF-8 and NUL cannot pass through a model; the wire tests cover raw bytes.
    BYTES: ['', 'a', 'naïve', '日本', 'x'.repeat(100), json ? 'tab\there' : Buffer.from('€')],
  };
  return table[datatype]!;
}

/** What asTypedArray(name, { raw: true }) should give back for `values`. */
function expectedFor(datatype: DataType, values: unknown[]): unknown {
  if (datatype === 'BYTES') return values.map((v) => (typeof v === 'string' ? Buffer.from(v) : v));
  if (datatype === 'BOOL') return Uint8Array.from(values, (v) => (v ? 1 : 0));
  if (datatype === 'FP16') return Uint16Array.from(values as number[], float32ToFloat16Bits);
  const ctor = typedArrayConstructor(datatype)! as unknown as { from(values: unknown[]): unknown };
  return ctor.from(dataTypeInfo(datatype).isBigInt ? values.map((v) => BigInt(v as number | bigint)) : values);
}

describe.each([
  ['binary', true],
  ['JSON', false],
])('every datatype round-trips through identity_all as %s', (_, binaryData) => {
  let result: Awaited<ReturnType<InferenceServerClient['infer']>>;
  beforeAll(async () => {
    const inputs = IDENTITY_DATATYPES.map((dt) =>
      new InferInput(identityTensorNames(dt).input, [2, 3], dt).setData(valuesFor(dt, !binaryData) as never, { binaryData }),
    );
    const outputs = IDENTITY_DATATYPES.map((dt) => new InferRequestedOutput(identityTensorNames(dt).output, { binaryData }));
    result = await client.infer('identity_all', inputs, { outputs });
  });

  it.each([...IDENTITY_DATATYPES])('%s', (datatype) => {
    const name = identityTensorNames(datatype).output;
    const output = result.getOutput(name)!;
    expect(output).toMatchObject({ datatype, shape: [2, 3] });
    expect(output.parameters?.binary_data_size === undefined).toBe(!binaryData);
    expect(result.asTypedArray(name, { raw: true })).toEqual(expectedFor(datatype, valuesFor(datatype, !binaryData)));
  });
});

describe('concurrency', () => {
  it('keeps 300 concurrent calls from one client apart, every answer correct', async () => {
    const calls = Array.from({ length: 300 }, async (_, i) => {
      const a = Int32Array.from({ length: 16 }, (__, k) => i * 100 + k);
      const b = new Int32Array(16).fill(i);
      const result = await client.infer('add_sub', addSubInputs(a, b), { requestId: String(i) });
      expect(result.getResponse().id).toBe(String(i));
      expect(result.asTypedArray('OUTPUT0')).toEqual(a.map((v) => v + i));
      expect(result.asTypedArray('OUTPUT1')).toEqual(a.map((v) => v - i));
    });
    await Promise.all(calls);
  });
});

describe('failures', () => {
  it('surfaces the server error message verbatim, with its status', async () => {
    const raw = await fetch(`${engine.url}/v2/models/nope/infer`, { method: 'POST', body: '{"inputs":[]}' });
    const { error } = (await raw.json()) as { error: string };
    const call = client.infer('nope', [new InferInput('INPUT0', [1], 'FP32').setData([1])]);
    await expect(call).rejects.toThrow(InferenceServerError);
    await expect(client.infer('nope', [new InferInput('INPUT0', [1], 'FP32').setData([1])])).rejects.toMatchObject({
      code: 'SCORELINE_SERVER_ERROR',
      status: raw.status,
      message: error,
    });
    expect(error).toContain('nope');
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    ['a missing input', () => client.infer('add_sub', addSubInputs(new Int32Array(16), new Int32Array(16)).slice(0, 1)), /INPUT1/],
    [
      'an unexpected input',
      () => client.infer('add_sub', [...addSubInputs(new Int32Array(16), new Int32Array(16)), new InferInput('EXTRA', [1, 1], 'INT32').setData([1])]),
      /EXTRA/,
    ],
    ['a wrong datatype', () => client.infer('fixed', [new InferInput('INPUT0', [4], 'FP64').setData([1, 2, 3, 4])]), /INPUT0/],
    ['a wrong shape', () => client.infer('fixed', [new InferInput('INPUT0', [5], 'FP32').setData([1, 2, 3, 4, 5])]), /INPUT0/],
    ['a batch over max_batch_size', () => client.infer('add_sub', addSubInputs(new Int32Array(9 * 16), new Int32Array(9 * 16), 9)), /batch/i],
    ['an unknown version', () => client.getModelMetadata('scale', { modelVersion: 9 }), /scale/],
  ])('rejects %s with a 400 whose message names it', async (_, call, message) => {
    await expect(call()).rejects.toMatchObject({ code: 'SCORELINE_SERVER_ERROR', status: 400, message });
  });

  it('times out with ClientTimeoutError when the engine stops answering', async () => {
    const impatient = new InferenceServerClient({ url: engine.url, networkTimeout: 300 });
    engine.child.kill('SIGSTOP');
    try {
      await expect(impatient.isServerLive()).rejects.toThrow(ClientTimeoutError);
    } finally {
      engine.child.kill('SIGCONT');
      await impatient.close();
    }
    expect(await client.isServerLive()).toBe(true);
  });
});

describe('model control', () => {
  it('unloads a model (inference then fails with the server message) and loads it back', async () => {
    await client.unloadModel('fixed');
    expect(await client.isModelReady('fixed')).toBe(false);
    const index = await client.getModelRepositoryIndex();
    expect(index.find((e) => e.name === 'fixed')?.state).not.toBe('READY');
    await expect(client.infer('fixed', [new InferInput('INPUT0', [4], 'FP32').setData([1, 2, 3, 4])])).rejects.toMatchObject({
      code: 'SCORELINE_SERVER_ERROR',
      message: /fixed/,
    });

    await client.loadModel('fixed');
    expect(await client.isModelReady('fixed')).toBe(true);
    const result = await client.infer('fixed', [new InferInput('INPUT0', [4], 'FP32').setData([1, 2, 3, 4])]);
    expect(result.asTypedArray('OUTPUT0')).toEqual(new Float32Array([2, 4, 6, 8]));
  });

  it('reports a failed load with the server message', async () => {
    await expect(client.loadModel('no_such_model')).rejects.toMatchObject({ code: 'SCORELINE_SERVER_ERROR', message: /no_such_model/ });
  });
});

describe('the scoreline/client package export', () => {
  it('works from plain JavaScript with require()', async () => {
    const script = `
      const { InferenceServerClient, InferInput } = require('scoreline/client');
      (async () => {
        const client = new InferenceServerClient(process.argv[1]);
        const result = await client.infer('fixed', [new InferInput('INPUT0', [4], 'FP32').setData([1, 2, 3, 4])]);
        console.log(JSON.stringify(Array.from(result.asTypedArray('OUTPUT0'))));
        await client.close();
      })().catch((err) => { console.error(err); process.exit(1); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, engine.url], { cwd: PACKAGE_ROOT });
    expect(JSON.parse(stdout)).toEqual([2, 4, 6, 8]);
  });
});
