/**
 * Scenario 2: the embedded engine killed with SIGKILL under load (concurrency 64 on
 * /score through scoring/score.ts). The workers hold their engine calls while it is down
 * (inference is idempotent) and resend them once the primary has restarted it on its
 * port: no /score request fails, the slowest waits about as long as the restart, /ready
 * says 503 meanwhile, and the same front-end workers serve throughout.
 */
import { Agent } from 'undici';
import { call } from '../frontend/helpers/serve-process';
import { reportFigures } from './helpers/figures';
import { ENGINE_PORTS, startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, percentile, sleep, statusSummary, until } from './helpers/load';
import { ON_LINUX } from './helpers/process-tree';
import { MLP_FEATURES, mlpRepository, scoreBody, type Repository } from './helpers/repositories';

const CONCURRENCY = 64;

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

(ON_LINUX ? it : it.skip)('fails no /score request: calls are held while the engine restarts and resent when it is ready', async () => {
  const load = new ClosedLoopLoad({ url: server.url, concurrency: CONCURRENCY, body: scoreBody('mlp', MLP_FEATURES), timeoutMs: 30_000, tagPids: false }).start();
  try {
    await until(() => load.ok() > 500, 30_000, '500 answers');
    const workers = server.workerPids().sort();
    const engine = server.enginePid();
    expect(engine).toBeDefined();
    const okBefore = load.ok();

    const killedAt = performance.now();
    process.kill(engine!, 'SIGKILL');
    let readyStatus = 200;
    while (readyStatus === 200 && performance.now() - killedAt < 10_000) {
      readyStatus = (await call(agent, `${server.url}/ready`)).status;
      if (readyStatus === 200) await sleep(10);
    }
    const notReadyMs = performance.now() - killedAt;
    await server.waitForLog(/engine restarted at/, 60_000);
    const restartedMs = performance.now() - killedAt;
    // Recovered: as many answers again after the restart as before the kill.
    await until(() => load.ok() > 2 * okBefore + 500, 60_000, 'traffic to recover');
    const counts = await load.stop();
    const readyAfter = (await call(agent, `${server.url}/ready`)).status;

    const answered = counts.latencies.get(200) ?? [];
    reportFigures('engine SIGKILL', {
      concurrency: CONCURRENCY,
      sent: counts.sent,
      statuses: statusSummary(counts.statuses),
      failed: counts.failures.length,
      failures: failureSummary(counts.failures),
      ready_503_after_ms: notReadyMs,
      restarted_after_ms: restartedMs,
      p50_ms: percentile(answered, 50),
      p99_ms: percentile(answered, 99),
      max_ms: percentile(answered, 100),
    });

    expect(readyStatus).toBe(503);
    expect(readyAfter).toBe(200);
    expect(counts.failures).toEqual([]);
    expect([...counts.statuses.keys()]).toEqual([200]);
    // The bump is the restart: no request waited much longer than the engine was away.
    expect(percentile(answered, 100)).toBeLessThan(restartedMs + 5_000);
    expect(server.workerPids().sort()).toEqual(workers);
    expect(server.enginePid()).not.toBe(engine);
    expect(server.child.exitCode).toBeNull();
  } finally {
    await load.stop();
  }
});
