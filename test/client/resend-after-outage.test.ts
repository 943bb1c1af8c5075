/**
 * The client's resendAfterOutage option against a real engine that goes away and comes
 * back on the same port: held calls are resent and answered, within their own deadlines
 * and the cap on held calls; `resend: false` opts out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InferInput, InferenceServerClient, NetworkError } from '../../src/client';
import { makeTestRepository, testModels } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';

let repository: string;
let engine: RunningEngine | undefined;
let port: number;

const features = testModels().mlp.layers[0]!.inFeatures;
const row = () => new InferInput('INPUT0', [1, features], 'FP32').setData(new Float32Array(features).fill(0.5));

beforeAll(async () => {
  repository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-resend-'));
  await makeTestRepository(repository);
  engine = await startEngine({ modelRepository: repository, args: ['--grpc-port=-1', '--metrics-port=-1'] });
  port = engine.port;
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await rm(repository, { recursive: true, force: true });
});

async function restartEngine(): Promise<void> {
  engine = await startEngine({ modelRepository: repository, args: ['--grpc-port=-1', '--metrics-port=-1', `--http-port=${port}`] });
}

it('holds a call while the server is down and answers it once the server is back on its port', async () => {
  const client = new InferenceServerClient({ url: `127.0.0.1:${port}`, transport: 'lean', resendAfterOutage: { probeIntervalMs: 20 } });
  try {
    await client.infer('mlp', [row()]);
    await engine!.stop();
    const held = client.infer('mlp', [row()], { timeout: 60_000_000 });
    const refused = client.infer('mlp', [row()], { resend: false });
    await expect(refused).rejects.toBeInstanceOf(NetworkError);
    await restartEngine();
    const result = await held;
    expect(result.getOutput('OUTPUT0')?.shape).toEqual([1, 4]);
  } finally {
    await client.close();
  }
}, 120_000);

it('fails a held call with its network error at its own deadline, and one over the cap at once', async () => {
  const client = new InferenceServerClient({ url: `127.0.0.1:${port}`, resendAfterOutage: { maxHeldCalls: 1, probeIntervalMs: 20 } });
  try {
    await engine!.stop();
    const started = performance.now();
    const first = client.infer('mlp', [row()], { timeout: 300_000 });
    const second = client.infer('mlp', [row()], { timeout: 300_000 });
    await expect(second).rejects.toBeInstanceOf(NetworkError);
    const secondMs = performance.now() - started;
    await expect(first).rejects.toBeInstanceOf(NetworkError);
    const firstMs = performance.now() - started;
    expect(secondMs).toBeLessThan(firstMs);
    expect(firstMs).toBeGreaterThanOrEqual(290);
    expect(firstMs).toBeLessThan(5_000);
  } finally {
    await client.close();
    await restartEngine();
  }
}, 120_000);

it('fails held calls when the client is closed', async () => {
  const client = new InferenceServerClient({ url: `127.0.0.1:${port}`, resendAfterOutage: { probeIntervalMs: 20 } });
  await engine!.stop();
  const held = client.infer('mlp', [row()]);
  const outcome = held.then(
    () => 'answered',
    (err: unknown) => (err instanceof NetworkError ? 'network error' : String(err)),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await client.close();
  expect(await outcome).toBe('network error');
  await restartEngine();
}, 120_000);
