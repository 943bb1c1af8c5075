/**
 * Scenario 2: the embedded engine killed with SIGKILL under load (concurrency 64 on
 * /score through scoring/score.ts). While it is down, /score fails fast with 503 and
 * Retry-After (no request hangs) and /ready says 503; the primary restarts the engine on
 * its port and traffic recovers, with the same front-end workers throughout.
 */
import { Agent } from 'undici';
import { call } from '../frontend/helpers/serve-process';
import { reportFigures } from './helpers/figures';
import { ENGINE_PORTS, startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, percentile, sleep, statusSummary, until } from './helpers/load';
import { ON_LINUX } from './helpers/process-tree';
import { MLP_FEATURES, mlpRepository, scoreBody, type Repository } from './helpers/repositories';

const CONCURRENCY = 64;
/** A 503 must come this fast: the engine's port refuses at once, nothing waits for a timeout. */
const FAST_MS = 1_000;

let repository: Repository;
let server: FaultServer;
const agent = new Agent({ pipelining: 0 });

beforeAll(async () => {
  repository = await mlpRepository();
  server = await startFaultServer(['--model-repository', repository.dir, '--worker-count', '2', ...ENGINE_PORTS]);
}, 120_000);
afterAll(async () => {
  await agent.close();
  await server?.stop();
  await repository?.remove();
});

(ON_LINUX ? it : it.skip)('answers 503 with Retry-After at once while the engine is down, and recovers without a front-end restart', async () => {
  const load = new ClosedLoopLoad({ url: server.url, concurrency: CONCURRENCY, body: scoreBody('mlp', MLP_FEATURES), timeoutMs: 5_000, tagPids: false }).start();
  try {
    await until(() => load.ok() > 500, 30_000, '500 answers');
    const workers = server.workerPids().sort();
    const engine = server.enginePid();
    expect(engine).toBeDefined();

    const killedAt = performance.now();
    process.kill(engine!, 'SIGKILL');
    let readyStatus = 200;
    while (readyStatus === 200 && performance.now() - killedAt < 10_000) {
      readyStatus = (await call(agent, `${server.url}/ready`)).status;
      if (readyStatus === 200) await sleep(10);
    }
    const notReadyMs = performance.now() - killedAt;
    await until(() => load.counts.statuses.has(503), 10_000, 'a 503 from /score');
    await server.waitForLog(/engine restarted at/, 60_000);
    // Recovered: 200s again after the last 503.
    await until(() => (load.counts.lastAt.get(200) ?? 0) > (load.counts.lastAt.get(503) ?? Infinity) + 500, 30_000, 'traffic to recover');
    const recoveredMs = (load.counts.lastAt.get(503) ?? killedAt) - killedAt;
    await sleep(500);
    const counts = await load.stop();
    const readyAfter = (await call(agent, `${server.url}/ready`)).status;

    const unavailable = counts.latencies.get(503) ?? [];
    reportFigures('engine SIGKILL', {
      concurrency: CONCURRENCY,
      sent: counts.sent,
      statuses: statusSummary(counts.statuses),
      failed: counts.failures.length,
      failures: failureSummary(counts.failures),
      p50_503_ms: percentile(unavailable, 50),
      p99_503_ms: percentile(unavailable, 99),
      max_503_ms: percentile(unavailable, 100),
      ready_503_after_ms: notReadyMs,
      recovered_after_ms: recoveredMs,
    });

    expect(readyStatus).toBe(503);
    expect(readyAfter).toBe(200);
    expect(counts.failures).toEqual([]);
    expect([...counts.statuses.keys()].sort()).toEqual([200, 503]);
    expect(counts.withoutRetryAfter).toBe(0);
    expect(percentile(unavailable, 99)).toBeLessThan(FAST_MS);
    expect(server.workerPids().sort()).toEqual(workers);
    expect(server.enginePid()).not.toBe(engine);
    expect(server.child.exitCode).toBeNull();
  } finally {
    await load.stop();
  }
});
