/**
 * The engine from the outside: `scoreline engine` in a child process on a free port, the
 * project's own models, raw KServe v2 HTTP (fetch), results checked against values
 * computed here without onnxruntime.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeBytesElements } from '../../src/tensor/bytes-elements';
import { DataType, dataTypeInfo } from '../../src/tensor/datatypes';
import { identityTensorNames } from '../../tools/onnx/model-zoo';
import { mlpForward, sampleInput } from '../fixtures/mlp-reference';
import { CLASSIFIER_LABELS, makeTestRepository, testModels } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';

let repo: string;
let engine: RunningEngine;

interface InferOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

 
async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', ...headers } });
}

async function infer(model: string, body: unknown, version?: string): Promise<{ status: number; json: any }> {
  const url = `${engine.url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`;
  const res = await post(url, body);
  return { status: res.status, json: await res.json() };
}

/** Sends a binary-extension request and splits the binary response. */
async function inferBinary(
  model: string,
  header: object,
  chunks: Uint8Array[],
): Promise<{ status: number; json: any; binary: Buffer }> {
  const json = Buffer.from(JSON.stringify(header));
  const res = await post(`${engine.url}/v2/models/${model}/infer`, Buffer.concat([json, ...chunks]), {
    'inference-header-content-length': String(json.length),
    'content-type': 'application/octet-stream',
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headerLength = Number(res.headers.get('inference-header-content-length') ?? body.length);
  return { status: res.status, json: JSON.parse(body.subarray(0, headerLength).toString()), binary: body.subarray(headerLength) };
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-engine-'));
  await makeTestRepository(repo);
  // A model whose config is wrong: it must be UNAVAILABLE with a reason, and not stop the others.
  await fs.mkdir(path.join(repo, 'broken', '1'), { recursive: true });
  await fs.copyFile(path.join(repo, 'add_sub', '1', 'model.onnx'), path.join(repo, 'broken', '1', 'model.onnx'));
  await fs.writeFile(
    path.join(repo, 'broken', 'config.pbtxt'),
    'max_batch_size: 8\ninput [{ name: "INPUT0" data_type: TYPE_FLOAT32 dims: [16] }]\n',
  );
  engine = await startEngine({ modelRepository: repo, args: ['--http-max-input-size', '1000000'] });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

describe('server endpoints', () => {
  it('reports live, and metadata with the protocol extensions it implements', async () => {
    expect((await fetch(`${engine.url}/v2/health/live`)).status).toBe(200);
    const meta = await getJson(`${engine.url}/v2`);
    expect(meta.name).toBe('scoreline');
    expect(meta.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification', 'model_repository']));
  });

  it('is not ready while a model failed to load, and the index gives the reason naming the model and field', async () => {
    expect((await fetch(`${engine.url}/v2/health/ready`)).status).toBe(503);
    const index = (await (await post(`${engine.url}/v2/repository/index`, {})).json()) as any;
    const broken = index.find((e: { name: string }) => e.name === 'broken');
    expect(broken.state).toBe('UNAVAILABLE');
    expect(broken.reason).toMatch(/broken/);
    expect(broken.reason).toMatch(/data_type/);
    const ready = index.filter((e: { state?: string }) => e.state === 'READY').map((e: { name: string }) => e.name);
    expect(ready).toEqual(expect.arrayContaining(['add_sub', 'classifier', 'fixed', 'identity_all', 'mlp', 'scale', 'string_identity']));
  });

  it('answers unknown paths with 404 and a JSON error', async () => {
    const res = await fetch(`${engine.url}/v2/nothing/here`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error).toMatch(/Not Found/);
  });
});

describe('model metadata and config', () => {
  it('auto-completes a model without config.pbtxt: batching with max_batch_size 4 and dynamic batching', async () => {
    const meta = await getJson(`${engine.url}/v2/models/mlp`);
    expect(meta).toMatchObject({
      name: 'mlp',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 8] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
    });
    const config = await getJson(`${engine.url}/v2/models/mlp/config`);
    expect(config.max_batch_size).toBe(4);
    expect(config.dynamic_batching).toBeDefined();
  });

  it('keeps a model that cannot batch at max_batch_size 0 with its dims as they are', async () => {
    const meta = await getJson(`${engine.url}/v2/models/fixed`);
    expect(meta.inputs).toEqual([{ name: 'INPUT0', datatype: 'FP32', shape: [4] }]);
  });

  it('lists every version of a model with version policy all', async () => {
    const meta = await getJson(`${engine.url}/v2/models/scale`);
    expect(meta.versions).toEqual(['1', '2']);
    expect((await fetch(`${engine.url}/v2/models/scale/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${engine.url}/v2/models/scale/versions/3/ready`)).status).toBe(400);
  });
});

describe('inference', () => {
  it('runs the MLP on JSON tensors and matches a forward pass computed here', async () => {
    const { mlp } = testModels();
    const input = sampleInput(3, 8);
    const { status, json } = await infer('mlp', {
      id: 'req-7',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [3, 8], data: Array.from(input) }],
    });
    expect(status).toBe(200);
    expect(json.id).toBe('req-7');
    expect(json.model_name).toBe('mlp');
    expect(json.model_version).toBe('1');
    const out = json.outputs[0] as InferOutput;
    expect(out.shape).toEqual([3, 4]);
    const expected = mlpForward(mlp, input, 3);
    (out.data as number[]).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
  });

  it('accepts nested JSON data as well as flat', async () => {
    const { json } = await infer('fixed', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [[1, 2], [3, 4]] }] });
    expect(json.outputs[0].data).toEqual([2, 4, 6, 8]);
  });

  it('takes binary inputs and returns binary outputs (binary tensor data extension)', async () => {
    const a = Int32Array.from({ length: 32 }, (_, i) => i * 3);
    const b = Int32Array.from({ length: 32 }, (_, i) => 100 - i);
    const { status, json, binary } = await inferBinary(
      'add_sub',
      {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], parameters: { binary_data_size: 128 } },
          { name: 'INPUT1', datatype: 'INT32', shape: [2, 16], parameters: { binary_data_size: 128 } },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }, { name: 'OUTPUT1', parameters: { binary_data: false } }],
      },
      [Buffer.from(a.buffer), Buffer.from(b.buffer)],
    );
    expect(status).toBe(200);
    const [sum, diff] = json.outputs as InferOutput[];
    expect(sum).toMatchObject({ name: 'OUTPUT0', datatype: 'INT32', shape: [2, 16], parameters: { binary_data_size: 128 } });
    const sums = new Int32Array(binary.buffer.slice(binary.byteOffset, binary.byteOffset + 128));
    expect(Array.from(sums)).toEqual(Array.from(a, (x, i) => x + b[i]!));
    expect(diff!.data).toEqual(Array.from(a, (x, i) => x - b[i]!));
  });

  it('returns every output in binary when the request sets binary_data_output', async () => {
    const { json, binary } = await inferBinary(
      'fixed',
      { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }], parameters: { binary_data_output: true } },
      [],
    );
    expect(json.outputs[0].parameters.binary_data_size).toBe(16);
    expect(Array.from(new Float32Array(binary.buffer.slice(binary.byteOffset, binary.byteOffset + 16)))).toEqual([2, 4, 6, 8]);
  });

  it('carries BYTES as JSON strings and as length-prefixed binary', async () => {
    const { json } = await infer('string_identity', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2, 1], data: ['hello', 'wörld'] }],
    });
    expect(json.outputs[0]).toMatchObject({ datatype: 'BYTES', shape: [2, 1], data: ['hello', 'wörld'] });

    const elements = encodeBytesElements([Buffer.from('abc'), Buffer.from('')]);
    const bin = await inferBinary(
      'string_identity',
      {
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2, 1], parameters: { binary_data_size: elements.length } }],
        parameters: { binary_data_output: true },
      },
      [elements],
    );
    expect(bin.status).toBe(200);
    expect(Buffer.compare(bin.binary, elements)).toBe(0);
  });

  it('round-trips every datatype the identity model carries, as JSON and as binary', async () => {
    const datatypes = testModels().identityAll.datatypes.filter((d) => d !== 'BYTES');
    const sample = (d: string) => (d === 'BOOL' ? [true, false, true, true] : d === 'FP16' ? [0.5, 1, -2, 3] : [0, 1, 2, 3]);
    const inputs = testModels().identityAll.datatypes.map((datatype: DataType) => ({
      name: identityTensorNames(datatype).input,
      datatype,
      shape: [2, 2],
      data: datatype === 'BYTES' ? ['a', 'b', 'c', 'd'] : sample(datatype),
    }));
    const { status, json } = await infer('identity_all', { inputs });
    expect(status).toBe(200);
    for (const datatype of datatypes) {
      const out = json.outputs.find((o: InferOutput) => o.name === identityTensorNames(datatype).output);
      expect(out).toEqual({ name: identityTensorNames(datatype).output, datatype, shape: [2, 2], data: sample(datatype) });
    }
    const binary = await inferBinary('identity_all', { inputs, parameters: { binary_data_output: true } }, []);
    expect(binary.status).toBe(200);
    let offset = 0;
    for (const out of binary.json.outputs as InferOutput[]) {
      const size = out.parameters!.binary_data_size!;
      const input = inputs.find((i) => identityTensorNames(i.datatype).output === out.name)!;
      // Four elements each: fixed-size types take their element size, BYTES 4-byte prefix + 1 byte.
      const expectedSize = input.datatype === 'BYTES' ? 4 * (4 + 1) : 4 * dataTypeInfo(input.datatype).byteSize;
      expect(size).toBe(expectedSize);
      offset += size;
    }
    expect(offset).toBe(binary.binary.length);
  });

  it('routes to the highest version by default and to the version asked for', async () => {
    const body = { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    expect((await infer('scale', body)).json.outputs[0].data).toEqual([2, 4, 6]);
    expect((await infer('scale', body)).json.model_version).toBe('2');
    expect((await infer('scale', body, '1')).json.outputs[0].data).toEqual([1, 2, 3]);
  });

  it('returns the top classes with their labels (classification extension)', async () => {
    const { classifier } = testModels();
    const input = sampleInput(2, 4);
    const { json } = await infer('classifier', {
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 4], data: Array.from(input) }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 2 } }],
    });
    const out = json.outputs[0] as InferOutput;
    expect(out).toMatchObject({ datatype: 'BYTES', shape: [2, 2] });
    const probs = mlpForward(classifier, input, 2);
    const expected: string[] = [];
    for (let row = 0; row < 2; row++) {
      const scores = Array.from(probs.subarray(row * 4, row * 4 + 4));
      const order = scores.map((_, i) => i).sort((x, y) => scores[y]! - scores[x]!);
      for (const i of order.slice(0, 2)) expected.push(`${scores[i]!.toFixed(6)}:${i}:${CLASSIFIER_LABELS[i]}`);
    }
    expect(out.data).toEqual(expected);
  });

  it('batches concurrent requests into fewer executions, each answer still its own', async () => {
    const before = await getJson(`${engine.url}/v2/models/add_sub/stats`);
    const requests = Array.from({ length: 40 }, (_, k) => {
      const a = Array.from({ length: 16 }, (_, i) => k * 100 + i);
      const b = Array.from({ length: 16 }, () => k);
      return infer('add_sub', {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
        ],
      }).then(({ json }) => ({ k, a, b, json }));
    });
    for (const { a, b, json } of await Promise.all(requests)) {
      expect(json.outputs[0].data).toEqual(a.map((x, i) => x + b[i]!));
      expect(json.outputs[1].data).toEqual(a.map((x, i) => x - b[i]!));
    }
    const after = await getJson(`${engine.url}/v2/models/add_sub/stats`);
    const stats = after.model_stats[0];
    const prev = before.model_stats[0];
    expect(stats.inference_count - prev.inference_count).toBe(40);
    expect(stats.execution_count - prev.execution_count).toBeLessThan(40);
    expect(stats.inference_stats.success.count - prev.inference_stats.success.count).toBe(40);
    expect(stats.batch_stats.some((b: { batch_size: number }) => b.batch_size > 1)).toBe(true);
  });

  it('never puts requests whose variable dims differ in one batch', async () => {
    const shapes = [2, 3, 2, 5, 3, 2];
    const results = await Promise.all(
      shapes.map((n, k) =>
        infer('scale', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, n], data: Array.from({ length: n }, (_, i) => k + i) }] }),
      ),
    );
    results.forEach(({ status, json }, k) => {
      expect(status).toBe(200);
      expect(json.outputs[0].shape).toEqual([1, shapes[k]]);
      expect(json.outputs[0].data).toEqual(Array.from({ length: shapes[k]! }, (_, i) => 2 * (k + i)));
    });
  });
});

/** A binary-extension body: the JSON header, then `extra` zero bytes; returns [header length, body]. */
function framed(inputs: object[], extra: number): [string, Buffer] {
  const header = Buffer.from(JSON.stringify({ inputs }));
  return [String(header.length), Buffer.concat([header, Buffer.alloc(extra)])];
}

describe('bad input gets a clear 400 and the engine keeps serving', () => {
  const addSubInputs = (datatype = 'INT32', shape = [1, 16]) => [
    { name: 'INPUT0', datatype, shape, data: Array(shape.reduce((a, b) => a * b, 1)).fill(1) },
    { name: 'INPUT1', datatype, shape, data: Array(shape.reduce((a, b) => a * b, 1)).fill(1) },
  ];
  it.each<[string, string, unknown, RegExp]>([
    ['an unknown model', 'nope', { inputs: [] }, /Request for unknown model: 'nope' is not found/],
    ['a wrong datatype', 'add_sub', { inputs: addSubInputs('FP32') }, /data-type is 'FP32', but model 'add_sub' expects 'INT32'/],
    ['a wrong shape', 'add_sub', { inputs: addSubInputs('INT32', [1, 8]) }, /unexpected shape for input 'INPUT0' for model 'add_sub'. Expected \[-1,16\], got \[1,8\]/],
    ['a batch over max_batch_size', 'add_sub', { inputs: addSubInputs('INT32', [9, 16]) }, /batch-size must be <= 8/],
    ['a missing input', 'add_sub', { inputs: addSubInputs().slice(0, 1) }, /missing required input\(s\) \['INPUT1'\]/],
    ['an extra input', 'add_sub', { inputs: [...addSubInputs(), { name: 'X', datatype: 'INT32', shape: [1], data: [1] }] }, /unexpected inference input 'X'/],
    ['data that does not fill the shape', 'fixed', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [1, 2] }] }, /holds 2 elements but the shape needs 4/],
    ['an invalid datatype', 'fixed', { inputs: [{ name: 'INPUT0', datatype: 'FLOAT', shape: [4], data: [1, 2, 3, 4] }] }, /invalid datatype 'FLOAT'/],
    ['a batch dim on a model that cannot batch', 'fixed', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }, /Expected \[4\], got \[1,4\]/],
    ['an unknown requested output', 'fixed', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }], outputs: [{ name: 'NOPE' }] }, /unexpected inference output 'NOPE'/],
    ['malformed JSON', 'fixed', '{"inputs": [', /failed to parse the request JSON/],
  ])('%s', async (_name, model, body, message) => {
    const { status, json } = await infer(model, body);
    expect(status).toBe(400);
    expect(json.error).toMatch(message);
  });

  it('rejects an unknown version with 400', async () => {
    const { status, json } = await infer('scale', { inputs: [] }, '7');
    expect(status).toBe(400);
    expect(json.error).toMatch(/'scale' version 7 is not found/);
  });

  it.each<[string, string, Buffer, RegExp]>([
    ['a header length past the body', '500', Buffer.from('{"inputs":[]}'), /Inference-Header-Content-Length is 500/],
    ['binary sizes that do not match the shape', ...framed([{ name: 'INPUT0', datatype: 'FP32', shape: [4], parameters: { binary_data_size: 8 } }], 8), /expected 16 bytes of binary data for 4 FP32 elements, got 8/],
    ['binary data nobody claims', ...framed([{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] }], 4), /4 bytes of binary data that no input claims/],
  ])('rejects %s', async (_name, headerLength, body, message) => {
    const res = await post(`${engine.url}/v2/models/fixed/infer`, body, { 'inference-header-content-length': headerLength });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatch(message);
  });

  it('refuses a body over --http-max-input-size with 413', async () => {
    const res = await post(`${engine.url}/v2/models/fixed/infer`, Buffer.alloc(2_000_000, 32));
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error).toMatch(/exceeds the limit of 1000000 bytes/);
  });

  it.each([
    ['with Content-Length', true],
    ['chunked', false],
  ])('answers a client still sending a body 20x the limit (%s) with its 413, never a reset', async (_case, declared) => {
    const send = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const chunk = Buffer.alloc(64 * 1024, 32);
        const chunks = 320; // 20 MiB
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (declared) headers['content-length'] = String(chunk.length * chunks);
        const req = http.request(`${engine.url}/v2/models/fixed/infer`, { method: 'POST', headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        let sent = 0;
        const write = (): void => {
          while (sent < chunks) {
            sent++;
            if (!req.write(chunk)) {
              req.once('drain', write);
              return;
            }
          }
          req.end();
        };
        write();
      });
    for (let i = 0; i < 5; i++) expect(await send()).toBe(413);
  });

  it('still serves correct answers after all of the above', async () => {
    const { status, json } = await infer('fixed', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4], data: [1, 1, 1, 1] }] });
    expect(status).toBe(200);
    expect(json.outputs[0].data).toEqual([2, 2, 2, 2]);
  });
});
