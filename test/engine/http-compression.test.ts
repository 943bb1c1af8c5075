/**
 * HTTP compression on the engine, as tritonclient.http's request_compression_algorithm and
 * response_compression_algorithm use it: Content-Encoding gzip/deflate request bodies,
 * Accept-Encoding responses, and the body limit applied to the decompressed size (a zip
 * bomb gets 413). Raw node:http, so the bytes on the wire are what the test sees (fetch
 * would decompress responses itself).
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { makeTestRepository } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';

const MAX_INPUT_BYTES = 1_000_000;
const WIDTH = 16;

let repo: string;
let engine: RunningEngine;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-compression-'));
  await makeTestRepository(repo);
  engine = await startEngine({ modelRepository: repo, args: ['--http-max-input-size', String(MAX_INPUT_BYTES)] });
});

afterAll(async () => {
  const code = await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function exchange(pathname: string, body: Buffer, headers: Record<string, string>): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${engine.url}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const a = Array.from({ length: WIDTH }, (_, i) => i * 3);
const b = Array.from({ length: WIDTH }, (_, i) => 100 - i);
const addSubBody = Buffer.from(JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, WIDTH], data: a },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, WIDTH], data: b },
  ],
  outputs: [{ name: 'OUTPUT0' }],
}));
const sums = a.map((x, i) => x + b[i]!);

const inferAddSub = (body: Buffer, headers: Record<string, string>) => exchange('/v2/models/add_sub/infer', body, headers);

function outputData(reply: RawReply): unknown {
  return (JSON.parse(reply.body.toString()) as { outputs: Array<{ data: unknown }> }).outputs[0]!.data;
}

describe('compressed request bodies', () => {
  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['deflate', zlib.deflateRawSync],
  ])('decodes Content-Encoding: %s (%p) and answers as for the plain body', async (coding, compress) => {
    const reply = await inferAddSub(compress(addSubBody), { 'content-encoding': coding });
    expect(reply.status).toBe(200);
    expect(outputData(reply)).toEqual(sums);
  });

  it('counts Inference-Header-Content-Length in the decompressed body (binary tensors)', async () => {
    const header = Buffer.from(JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, WIDTH], parameters: { binary_data_size: WIDTH * 4 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, WIDTH], parameters: { binary_data_size: WIDTH * 4 } },
      ],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: false } }],
    }));
    const plain = Buffer.concat([header, Buffer.from(Int32Array.from(a).buffer), Buffer.from(Int32Array.from(b).buffer)]);
    const reply = await inferAddSub(zlib.gzipSync(plain), {
      'content-encoding': 'gzip',
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    });
    expect(reply.status).toBe(200);
    expect(outputData(reply)).toEqual(sums);
  });

  it('answers a body that inflates past --http-max-input-size with 413, holding no more than the limit, and serves on', async () => {
    // 64 MB of spaces compress to ~64 KB: far under the limit on the wire, 64x over it inflated.
    const bomb = zlib.gzipSync(Buffer.alloc(64 * MAX_INPUT_BYTES, 0x20), { level: 9 });
    expect(bomb.length).toBeLessThan(MAX_INPUT_BYTES);
    const reply = await inferAddSub(bomb, { 'content-encoding': 'gzip' });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body.toString()).error).toBe(`Request body exceeds the limit of ${MAX_INPUT_BYTES} bytes once decompressed (Content-Encoding: gzip)`);
    expect((await inferAddSub(addSubBody, {})).status).toBe(200);
  });

  it.each([
    ['data that is not gzip', 'gzip', Buffer.from('{"inputs": []}'), /^the request body is not valid gzip data \(Content-Encoding: gzip\)$/],
    ['a truncated deflate stream', 'deflate', zlib.deflateSync(addSubBody).subarray(0, 40), /^the request body is not valid deflate data/],
    ['a coding it does not speak', 'br', addSubBody, /^unsupported Content-Encoding 'br' \(supported: gzip, deflate, identity\)$/],
  ])('refuses %s with 400 naming the coding', async (_case, coding, body, message) => {
    const reply = await inferAddSub(body, { 'content-encoding': coding });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body.toString()).error).toMatch(message);
  });

  it('decodes compressed bodies on the repository API too', async () => {
    const reply = await exchange('/v2/repository/index', zlib.gzipSync(Buffer.from('{"ready": true}')), { 'content-encoding': 'gzip' });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body.toString()) as Array<{ name: string }>).map((m) => m.name)).toContain('add_sub');
  });
});

describe('compressed responses', () => {
  it.each([
    ['gzip', 'gzip', zlib.gunzipSync],
    ['deflate', 'deflate', zlib.inflateSync],
    ['gzip;q=0, deflate', 'deflate', zlib.inflateSync],
    ['deflate;q=0.5, gzip;q=0.8', 'gzip', zlib.gunzipSync],
    ['*', 'gzip', zlib.gunzipSync],
  ])('answers Accept-Encoding: %s with Content-Encoding: %s', async (accept, coding, decompress) => {
    const reply = await inferAddSub(addSubBody, { 'accept-encoding': accept });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe(coding);
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
    expect(outputData({ ...reply, body: decompress(reply.body) })).toEqual(sums);
  });

  it.each(['identity', 'br', 'gzip;q=0, deflate;q=0'])('answers Accept-Encoding: %s uncompressed', async (accept) => {
    const reply = await inferAddSub(addSubBody, { 'accept-encoding': accept });
    expect(reply.headers['content-encoding']).toBeUndefined();
    expect(outputData(reply)).toEqual(sums);
  });
});
