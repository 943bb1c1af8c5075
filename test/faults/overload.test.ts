/**
 * Scenario 4: overload. 256 clients against 2 workers limited to 16 requests in flight each
 * (--max-concurrency), in front of a slow model whose queue holds 8 requests
 * (max_queue_size). Excess requests are refused quickly (429 from the front end, 503 from
 * the engine's full queue, both with Retry-After), the accepted ones complete, and the
 * memory of the whole server (primary, workers, engine) stays bounded.
 */
import { reportFigures } from './helpers/figures';
import { ENGINE_PORTS, startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, percentile, sleep, statusSummary } from './helpers/load';
import { MiB, ON_LINUX, processTree, totalRss } from './helpers/process-tree';
import { SLOW_MLP_FEATURES, overloadRepository, scoreBody, type Repository } from './helpers/repositories';

const CONCURRENCY = 256;
const PER_WORKER = 16;
const SECONDS = 6;
/** Refusals must be quick: they never wait for the model (the CPU is saturated, so not instant). */
const REFUSAL_P99_MS = 2_000;
/** Growth of the server's memory allowed under overload (buffers, sockets, V8 heaps growing). */
const MEMORY_BOUND_MIB = 256;

let repository: Repository;
let server: FaultServer;
beforeAll(async () => {
  repository = await overloadRepository();
  server = await startFaultServer(['--model-repository', repository.dir, '--worker-count', '2', '--max-concurrency', String(PER_WORKER), ...ENGINE_PORTS]);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await repository?.remove();
});

(ON_LINUX ? it : it.skip)('refuses the excess quickly with 429 or 503 and Retry-After, completes what it accepts, and keeps memory bounded', async () => {
  const body = scoreBody('slow_mlp', SLOW_MLP_FEATURES);
  // Warm-up at a load the server can take, so the baseline includes sessions, pools and JIT.
  const warm = new ClosedLoopLoad({ url: server.url, concurrency: 8, body, tagPids: false }).start();
  await sleep(1_500);
  await warm.stop();
  const baseline = totalRss(processTree(server.child.pid!));

  const load = new ClosedLoopLoad({ url: server.url, concurrency: CONCURRENCY, body, timeoutMs: 30_000, tagPids: false }).start();
  let peak = baseline;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1_000) {
    await sleep(250);
    peak = Math.max(peak, totalRss(processTree(server.child.pid!)));
  }
  const counts = await load.stop();

  const refusals = [...(counts.latencies.get(429) ?? []), ...(counts.latencies.get(503) ?? [])];
  const accepted = counts.latencies.get(200) ?? [];
  reportFigures('overload', {
    concurrency: CONCURRENCY,
    per_worker_limit: PER_WORKER,
    sent: counts.sent,
    statuses: statusSummary(counts.statuses),
    failed: counts.failures.length,
    failures: failureSummary(counts.failures),
    p50_refusal_ms: percentile(refusals, 50),
    p99_refusal_ms: percentile(refusals, 99),
    p50_ok_ms: percentile(accepted, 50),
    p99_ok_ms: percentile(accepted, 99),
    rss_baseline_mib: baseline / MiB,
    rss_peak_mib: peak / MiB,
  });

  expect(counts.failures).toEqual([]);
  expect([...counts.statuses.keys()].filter((status) => ![200, 429, 503].includes(status))).toEqual([]);
  expect(counts.statuses.get(200)).toBeGreaterThan(0);
  expect(counts.statuses.get(429)).toBeGreaterThan(0);
  expect(counts.statuses.get(503)).toBeGreaterThan(0);
  expect(counts.withoutRetryAfter).toBe(0);
  expect(percentile(refusals, 99)).toBeLessThan(REFUSAL_P99_MS);
  expect((peak - baseline) / MiB).toBeLessThan(MEMORY_BOUND_MIB);
});
