/**
 * The overload benchmark's three deployments of the MLP, started side by side: `scoreline
 * serve` with scoring/score.ts and the embedded engine, with overload protection on and off
 * (SCORELINE_OVERLOAD_PROTECTION in the serve child's environment), and the naive deployment
 * (bench/naive-server.ts). Also the request they all answer, and the wait for a deployment to
 * recover after a step, so that a backlog one of them is still working off does not take
 * the cores from the next one measured.
 */
import os from 'node:os';
import path from 'node:path';
import { seededRandom } from '../src/util/seeded-random';
import { CLI, ChildServer, PACKAGE_ROOT, freePort, spawnServer } from './bench-load';
import { MLP_LAYERS, postJson, writeMlpRepository } from './frontend';

export type ContenderKey = 'on' | 'off' | 'naive';

export interface OverloadContender {
  key: ContenderKey;
  name: string;
  url: string;
  server: ChildServer;
}

/** The setup: two workers, run() cut off at 500 ms. */
export const SCORELINE_WORKERS = 2;
export const SCORING_TIMEOUT_MS = 500;
/** Rows per request. */
export const ROWS = 16;
/** The naive deployment: a worker per core (each computes), as in bench:frontend. */
export const NAIVE_WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());

/** `{"model": "mlp_bench", "data": [16 rows of 512 features]}`, rounded as clients send them. */
export function overloadBody(): string {
  const random = seededRandom(7);
  const row = () => Array.from({ length: MLP_LAYERS[0] }, () => Math.round(random() * 1e5) / 1e5);
  return JSON.stringify({ model: 'mlp_bench', data: Array.from({ length: ROWS }, row) });
}

async function spawnScoreline(repo: string, protection: 'on' | 'off'): Promise<ChildServer> {
  const port = await freePort();
  const args = [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--entry-script', path.join(PACKAGE_ROOT, 'scoring', 'score.ts')];
  args.push('--model-repository', repo, '--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0');
  const env = { ...process.env, WORKER_COUNT: String(SCORELINE_WORKERS), SCORING_TIMEOUT_MS: String(SCORING_TIMEOUT_MS), SCORELINE_OVERLOAD_PROTECTION: protection };
  return spawnServer(args, /serve primary: serving on/, { url: `http://127.0.0.1:${port}`, env });
}

/** POST the body once; status and milliseconds, or undefined when no answer came within `timeoutMs`. */
async function post(url: string, body: string, timeoutMs: number): Promise<{ status: number; ms: number; json: unknown } | undefined> {
  const started = performance.now();
  try {
    const { status, json } = await postJson(url, body, AbortSignal.timeout(timeoutMs));
    return { status, ms: performance.now() - started, json };
  } catch {
    return undefined;
  }
}

/** A deployment must answer the benchmark's request with 16 rows of 10 outputs, or its goodput means nothing. */
async function checkAnswers(contender: OverloadContender, body: string): Promise<void> {
  const answer = await post(contender.url, body, 30_000);
  const rows = answer && typeof answer.json === 'object' && answer.json !== null ? Object.values(answer.json).find((v) => Array.isArray(v)) : undefined;
  const width = MLP_LAYERS[MLP_LAYERS.length - 1];
  if (answer?.status !== 200 || !Array.isArray(rows) || rows.length !== ROWS || rows.some((r) => !Array.isArray(r) || r.length !== width)) {
    throw new Error(`${contender.name} did not answer the benchmark request with ${ROWS} rows of ${width}: ${answer?.status} ${JSON.stringify(answer?.json).slice(0, 200)}`);
  }
}

/** Starts the three deployments (in `dir`'s model repository) and checks each answers the body. */
export async function startContenders(dir: string, body: string): Promise<OverloadContender[]> {
  const modelPath = await writeMlpRepository(dir);
  const started: OverloadContender[] = [];
  try {
    for (const protection of ['on', 'off'] as const) {
      const server = await spawnScoreline(dir, protection);
      started.push({ key: protection, name: `scoreline, protection ${protection}`, url: `${server.url}/score`, server });
    }
    const port = await freePort();
    const naive = await spawnServer([path.join(__dirname, 'naive-server.js'), String(port), String(NAIVE_WORKERS), modelPath], /naive server listening/, { url: `http://127.0.0.1:${port}` });
    started.push({ key: 'naive', name: 'naive express + onnxruntime-node', url: `${naive.url}/score`, server: naive });
    for (const contender of started) await checkAnswers(contender, body);
    return started;
  } catch (err) {
    await stopContenders(started);
    throw err;
  }
}

export async function stopContenders(contenders: readonly OverloadContender[]): Promise<void> {
  for (const c of contenders) await c.server.stop();
}

/** An idle deployment answers this request in a few milliseconds; one still working off a backlog does not. */
const RECOVERED_MS = 100;

/**
 * Waits until two probes in a row answer 200 within RECOVERED_MS (one at a time, so the probes
 * add no backlog of their own); resolves with the milliseconds waited, or Infinity after `limitMs`.
 */
export async function waitUntilRecovered(url: string, body: string, limitMs: number): Promise<number> {
  const started = performance.now();
  let fast = 0;
  while (performance.now() - started < limitMs) {
    const answer = await post(url, body, 2000);
    fast = answer?.status === 200 && answer.ms < RECOVERED_MS ? fast + 1 : 0;
    if (fast === 2) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Infinity;
}
