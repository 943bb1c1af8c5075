/**
 * Issue 20 over the wire, against a real engine: infer bodies built to cost the most per
 * byte are refused with a 400 that names what is wrong, in less memory than an accepted
 * body of their size, and the engine answers normally afterwards.
 * - a flat integer array far longer than the shape (refused at the first element past it);
 * - zero-length BYTES elements past the shape;
 * - one output asked for many times (refused at the second, as Triton refuses repeats);
 * - more outputs than the model has; a shape past --http-max-input-size (before allocating);
 * - classification counts past the output's size (clamped to it, as Triton does).
 */
import { request } from 'node:http';
import { MAX_BYTES_ELEMENTS } from '../../src/tensor/bytes-elements';
import { engineProblem, startHostileEngine, trackPeak, type HostileEngine } from '../hostile/helpers/hostile';

const MiB = 1024 * 1024;
const BODY_BYTES = 8 * MiB;

function post(url: string, body: Buffer): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // A binary response: its JSON header is the first Inference-Header-Content-Length bytes.
        const header = res.headers['inference-header-content-length'];
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8', 0, header === undefined ? body.length : Number(header));
        resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown>, ms: performance.now() - started });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function postBinary(url: string, body: Buffer, headerLength: number): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': body.length, 'inference-header-content-length': headerLength };
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const list = (n: number, item: string): string => (n === 0 ? '' : `${item},`.repeat(n - 1) + item);
const addSubInput = (name: string, data: string) => `{"name":"${name}","datatype":"INT32","shape":[1,16],"data":[${data}]}`;

let handle: HostileEngine;
beforeAll(async () => {
  handle = await startHostileEngine(['--http-max-input-size', String(16 * MiB)]);
}, 120_000);
afterAll(async () => {
  await handle?.stop();
});
afterEach(async () => {
  expect(await engineProblem(handle.engine)).toBeUndefined();
});

const infer = (model: string, body: string | Buffer) => post(`${handle.engine.url}/v2/models/${model}/infer`, Buffer.isBuffer(body) ? body : Buffer.from(body));

describe('hostile infer bodies', () => {
  it('refuses a flat integer array past the shape at its first extra element, in less memory than an accepted body of its size', async () => {
    const n = Math.floor(BODY_BYTES / 2);
    const hostile = Buffer.from(`{"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[${list(n, '0')}]},${addSubInput('INPUT1', list(16, '0'))}]}`);
    // Same size, accepted: `scale` takes any row length; its output comes back binary.
    const m = Math.floor(BODY_BYTES / 4);
    const valid = Buffer.from(`{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,${m}],"data":[${list(m, '1.5')}]}],"parameters":{"binary_data_output":true}}`);

    const peakValid = trackPeak(handle.pid);
    expect((await infer('scale', valid)).status).toBe(200);
    const validGrowth = peakValid.growth();

    const peak = trackPeak(handle.pid);
    const reply = await infer('add_sub', hostile);
    const growth = peak.growth();
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe("input 'INPUT0': 'data' holds more than the 16 elements the shape needs");
    // The body itself is in memory once; the refusal builds nothing from it.
    expect(growth).toBeLessThan(2 * hostile.length);
    expect(growth).toBeLessThanOrEqual(Math.max(validGrowth, hostile.length) + 8 * MiB);
  });

  it('refuses zero-length BYTES elements past the shape', async () => {
    const body = `{"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1,1],"data":[${list(Math.floor(BODY_BYTES / 3), '""')}]}]}`;
    const peak = trackPeak(handle.pid);
    const reply = await infer('string_identity', body);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe("input 'INPUT0': 'data' holds more than the 1 elements the shape needs");
    expect(peak.growth()).toBeLessThan(2 * body.length);
  });

  it.each([
    ['in JSON', 'json'],
    ['in binary', 'binary'],
  ] as const)('refuses more BYTES elements than MAX_BYTES_ELEMENTS %s before decoding any, as gRPC does', async (_case, form) => {
    const n = MAX_BYTES_ELEMENTS + 1;
    const input = (extra: string) => `{"name":"INPUT0","datatype":"BYTES","shape":[${n},1]${extra}}`;
    let body: Buffer;
    if (form === 'json') {
      body = Buffer.from(`{"inputs":[${input(`,"data":[${list(n, '"a"')}]`)}]}`);
    } else {
      const header = Buffer.from(`{"inputs":[${input(`,"parameters":{"binary_data_size":${n * 5}}`)}]}`);
      const elements = Buffer.alloc(n * 5);
      for (let i = 0; i < n; i++) {
        elements.writeUInt32LE(1, i * 5);
        elements[i * 5 + 4] = 0x61;
      }
      body = Buffer.concat([header, elements]);
      const reply = await postBinary(`${handle.engine.url}/v2/models/string_identity/infer`, body, header.length);
      expect(reply.status).toBe(400);
      expect(reply.json.error).toBe(`input 'INPUT0': shape [${n},1] holds ${n} BYTES elements, which brings the request past the limit of ${MAX_BYTES_ELEMENTS} BYTES elements`);
      return;
    }
    const reply = await infer('string_identity', body);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe(`input 'INPUT0': its ${n} BYTES elements bring the request past the limit of ${MAX_BYTES_ELEMENTS} BYTES elements`);
  });

  it('refuses an output asked for twice, naming it, however many times it is asked for', async () => {
    const inputs = `[${addSubInput('INPUT0', list(16, '1'))},${addSubInput('INPUT1', list(16, '1'))}]`;
    const many = await infer('add_sub', `{"inputs":${inputs},"outputs":[${list(Math.floor(BODY_BYTES / 19), '{"name":"OUTPUT0"}')}]}`);
    expect(many.status).toBe(400);
    expect(many.json.error).toBe("output 'OUTPUT0' already exists in request");
    // More outputs than the model has: one of them is not the model's.
    const extra = await infer('add_sub', `{"inputs":${inputs},"outputs":[{"name":"OUTPUT0"},{"name":"OUTPUT1"},{"name":"OUTPUT2"}]}`);
    expect(extra.status).toBe(400);
    expect(extra.json.error).toBe("unexpected inference output 'OUTPUT2' for model 'add_sub'");
    // Each once is fine.
    const both = await infer('add_sub', `{"inputs":${inputs},"outputs":[{"name":"OUTPUT1"},{"name":"OUTPUT0"}]}`);
    expect(both.status).toBe(200);
    expect((both.json.outputs as Array<{ name: string }>).map((o) => o.name)).toEqual(['OUTPUT1', 'OUTPUT0']);
  });

  it('refuses a shape whose decoded size passes --http-max-input-size before allocating it', async () => {
    // 2^23 FP32 elements are 32 MiB in memory; the body (under 1 KiB) cannot hold them either.
    const reply = await infer('scale', `{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,${2 ** 23}],"data":[1]}]}`);
    expect(reply.status).toBe(400);
    expect(reply.json.error).toMatch(/input 'INPUT0': 'data' cannot hold the 8388608 elements the shape needs/);
    // A body large enough to hold them: refused by the size, naming the option.
    const n = 2 ** 22 + 1; // 16 MiB + 4 bytes of FP32
    const big = Buffer.from(`{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,${n}],"data":[${list(n, '0').slice(0, 15 * MiB)}]}]}`);
    const sized = await infer('scale', big);
    expect(sized.status).toBe(400);
    expect(sized.json.error).toMatch(/the shape's 4194305 FP32 elements take 16777220 bytes in memory, more than the 16777216 bytes left of the max input size of 16777216 \(--http-max-input-size\)/);
  });

  it('clamps a classification count to the output size', async () => {
    const reply = await infer('classifier', '{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}],"outputs":[{"name":"OUTPUT0","parameters":{"classification":1000000000}}]}');
    expect(reply.status).toBe(200);
    const out = (reply.json.outputs as Array<{ shape: number[]; data: string[] }>)[0]!;
    expect(out.shape[1]).toBe(out.data.length);
    expect(out.data.length).toBeLessThan(100);
  });
});
