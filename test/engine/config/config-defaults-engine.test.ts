/**
 * From the outside, against the built engine: GET /v2/models/M/config shows what Triton's
 * server side fills (default_model_filename "model.onnx", pinned memory enabled, the
 * normalized instance groups),
 * the instance count shown is the number of instances that run (each one a worker thread,
 * counted in /proc), a refused config field fails the load with a reason naming it, and an
 * ignored one (rate_limiter, as Triton without --rate-limit) loads.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { testModels } from '../../fixtures/test-repository';
import { startEngine, type RunningEngine } from '../../helpers/start-engine';

jest.setTimeout(120_000);

// One intra- and inter-op thread: onnxruntime then starts no pool threads of its own, so each
// instance adds the same threads (its worker's) and the thread count tells instances apart.
const ONE_THREAD = 'parameters { key: "intra_op_thread_count" value: { string_value: "1" } } parameters { key: "inter_op_thread_count" value: { string_value: "1" } }\n';

let dir: string;
let engine: RunningEngine;

const threads = (): number => readdirSync(`/proc/${engine.child.pid}/task`).length;

async function request(method: string, route: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${engine.url}${route}`, { method });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Threads the engine gained by loading `model` (waits for the count to settle). */
async function threadsAdded(model: string): Promise<number> {
  const before = await settledThreads();
  expect((await request('POST', `/v2/repository/models/${model}/load`)).status).toBe(200);
  const after = await settledThreads();
  return after - before;
}

/** The thread count once it has stayed the same for 300 ms (threads end asynchronously). */
async function settledThreads(): Promise<number> {
  let last = threads();
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = threads();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-config-defaults-'));
  const bytes = testModels().mlp.bytes;
  await writeRepositoryModel(dir, { name: 'warm', versions: { 1: bytes }, config: ONE_THREAD });
  await writeRepositoryModel(dir, { name: 'plain', versions: { 1: bytes }, config: ONE_THREAD });
  await writeRepositoryModel(dir, { name: 'three', versions: { 1: bytes }, config: `${ONE_THREAD}instance_group [ { count: 3 kind: KIND_CPU } ]\n` });
  await writeRepositoryModel(dir, { name: 'passive', versions: { 1: bytes }, config: 'instance_group [ { kind: KIND_CPU passive: true } ]\n' });
  await writeRepositoryModel(dir, {
    name: 'rate_limited',
    versions: { 1: bytes },
    config: 'instance_group [ { kind: KIND_CPU rate_limiter { resources [ { name: "R1" count: 2 } ] priority: 1 } } ]\n',
  });
  engine = await startEngine({ modelRepository: dir, args: ['--model-control-mode=explicit', '--grpc-port=-1'] });
});

afterAll(async () => {
  await engine?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('shows default_model_filename and the instance group Triton fills for a config without them, and runs that one instance', async () => {
  // The first load starts what any load needs once (libuv's pool, onnxruntime's globals).
  await threadsAdded('warm');
  const one = await threadsAdded('plain');
  const { body: config } = await request('GET', '/v2/models/plain/config');
  expect(config.default_model_filename).toBe('model.onnx');
  expect(config.optimization).toMatchObject({ input_pinned_memory: { enable: true }, output_pinned_memory: { enable: true } });
  expect(config.instance_group).toEqual([
    { name: 'plain', kind: 'KIND_CPU', count: 1, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' },
  ]);
  expect(one).toBeGreaterThan(0);

  const three = await threadsAdded('three');
  const { body: threeConfig } = await request('GET', '/v2/models/three/config');
  expect(threeConfig.instance_group).toEqual([
    { name: 'three_0', kind: 'KIND_CPU', count: 3, gpus: [], secondary_devices: [], profile: [], passive: false, host_policy: '' },
  ]);
  expect(three).toBe(3 * one);
});

it('refuses to load a config that sets a refused field, naming the field and why', async () => {
  const { status, body } = await request('POST', '/v2/repository/models/passive/load');
  // SCORELINE_UNSUPPORTED (src/errors.ts): 501, as for every feature scoreline does not implement.
  expect(status).toBe(501);
  expect(body.error).toBe(
    "model 'passive': config field 'instance_group[0].passive' is not supported by scoreline: passive instances (loaded but never scheduled) are not implemented; remove it",
  );
  const { body: index } = await request('POST', '/v2/repository/index');
  expect(index.find((m: { name: string }) => m.name === 'passive')).toMatchObject({ state: 'UNAVAILABLE', reason: body.error });
});

it('loads a config with a rate_limiter (ignored, as Triton ignores it without --rate-limit) and shows it', async () => {
  expect((await request('POST', '/v2/repository/models/rate_limited/load')).status).toBe(200);
  const { body: config } = await request('GET', '/v2/models/rate_limited/config');
  expect(config.instance_group).toEqual([
    {
      name: 'rate_limited_0',
      kind: 'KIND_CPU',
      count: 1,
      rate_limiter: { resources: [{ name: 'R1', global: false, count: 2 }], priority: 1 },
      gpus: [],
      secondary_devices: [],
      profile: [],
      passive: false,
      host_policy: '',
    },
  ]);
});
