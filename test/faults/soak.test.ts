/**
 * Scenario 5: soak. Concurrency 128 on /score (scoring/score.ts and the engine, 2 workers)
 * for FAULTS_SOAK_SECONDS after a warm-up: no unexpected error, the resident memory of the
 * whole server grows less than 10% after the warm-up, and its open file descriptors stay
 * where they were.
 *
 * The warm-up is counted in requests, not seconds: the processes' heaps grow until they have
 * served some tens of thousands of requests and then hold (60 s soaks grow ~1 %), and a busy
 * machine (CI, the rest of the suite beside it) serves fewer per second, so a warm-up of a few
 * seconds there left heap growth to be counted as a leak. Memory is sampled every 500 ms;
 * "after the warm-up" and "at the end" are the medians of the first and the last 2 s of
 * samples, so one sample taken just before a garbage collection does not decide the figure.
 *
 * FAULTS_SOAK_SECONDS defaults to 60 under `npm run test:faults` and to 10 otherwise (the
 * soak is part of `npm test`, which must stay quick on CI).
 */
import { reportFigures } from './helpers/figures';
import { ENGINE_PORTS, startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, percentile, sleep, statusSummary } from './helpers/load';
import { MiB, ON_LINUX, processTree, totalFds, totalRss, type ProcessFigures } from './helpers/process-tree';
import { MLP_FEATURES, mlpRepository, scoreBody, type Repository } from './helpers/repositories';

const CONCURRENCY = 128;
const SECONDS = Number(process.env.FAULTS_SOAK_SECONDS ?? (process.env.npm_lifecycle_event === 'test:faults' ? 60 : 10));
/** Requests served before memory is measured, and the least and most time the warm-up takes. */
const WARM_UP_REQUESTS = 80_000;
const WARM_UP_MIN_SECONDS = 4;
const WARM_UP_MAX_SECONDS = 40;
const RSS_GROWTH_LIMIT = 0.1;
const WORKERS = 2;
/**
 * Each worker's engine client opens connections on demand, up to this many, and the engine
 * holds the other end: descriptors that may appear after the warm-up without a leak. Kept
 * small so the bound stays tight (a leak per request would show as thousands): with merged
 * engine calls a worker rarely has more requests at the engine than this.
 */
const ENGINE_CONNECTIONS = 8;
const FD_SLACK = 2 * WORKERS * ENGINE_CONNECTIONS + 8;
const SAMPLE_MS = 500;
const WINDOW_SAMPLES = 4;

let repository: Repository;
let server: FaultServer;
beforeAll(async () => {
  repository = await mlpRepository();
  server = await startFaultServer(['--model-repository', repository.dir, '--worker-count', String(WORKERS), '--engine-connections', String(ENGINE_CONNECTIONS), ...ENGINE_PORTS]);
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await repository?.remove();
});

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function describeTree(tree: readonly ProcessFigures[]): string {
  return tree.map((p) => `${p.pid}:${Math.round(p.rssBytes / MiB)}MiB/${p.fds}fd`).join(',');
}

(ON_LINUX ? it : it.skip)(
  `serves concurrency ${CONCURRENCY} for FAULTS_SOAK_SECONDS (${SECONDS} s) without errors, memory growth or descriptor leaks`,
  async () => {
    const load = new ClosedLoopLoad({ url: server.url, concurrency: CONCURRENCY, body: scoreBody('mlp', MLP_FEATURES), timeoutMs: 10_000, tagPids: false }).start();
    try {
      const warmUpStarted = performance.now();
      const warmUpSeconds = (): number => (performance.now() - warmUpStarted) / 1_000;
      while (warmUpSeconds() < WARM_UP_MIN_SECONDS || (load.counts.sent < WARM_UP_REQUESTS && warmUpSeconds() < WARM_UP_MAX_SECONDS)) await sleep(250);
      const warm = processTree(server.child.pid!);
      const sentAtWarm = load.counts.sent;
      const samples: number[] = [];
      const started = performance.now();
      while (performance.now() - started < SECONDS * 1_000) {
        samples.push(totalRss(processTree(server.child.pid!)));
        await sleep(SAMPLE_MS);
      }
      const end = processTree(server.child.pid!);
      const elapsed = (performance.now() - started) / 1_000;
      const counts = await load.stop();

      const rssWarm = median(samples.slice(0, WINDOW_SAMPLES));
      const rssEnd = median(samples.slice(-WINDOW_SAMPLES));
      const growth = rssEnd / rssWarm - 1;
      reportFigures('soak', {
        concurrency: CONCURRENCY,
        seconds: SECONDS,
        sent: counts.sent,
        warm_up_sent: sentAtWarm,
        rate_per_s: Math.round((counts.sent - sentAtWarm) / elapsed),
        statuses: statusSummary(counts.statuses),
        failed: counts.failures.length,
        failures: failureSummary(counts.failures),
        p99_ms: percentile(counts.latencies.get(200) ?? [], 99),
        rss_warm_mib: rssWarm / MiB,
        rss_end_mib: rssEnd / MiB,
        rss_peak_mib: Math.max(...samples) / MiB,
        rss_growth_pct: growth * 100,
        fds_warm: totalFds(warm),
        fds_end: totalFds(end),
      });
      if (counts.failures.length > 0) console.error(`[faults] soak: the server's log:\n${server.dump().slice(-8000)}`);
      if (growth >= RSS_GROWTH_LIMIT) console.error(`[faults] soak processes: warm ${describeTree(warm)} end ${describeTree(end)}`);

      expect(counts.failures).toEqual([]);
      expect([...counts.statuses.keys()]).toEqual([200]);
      expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
      expect(end.map((p) => p.pid)).toEqual(warm.map((p) => p.pid));
      expect(totalFds(end)).toBeLessThanOrEqual(totalFds(warm) + FD_SLACK);
    } finally {
      await load.stop();
    }
  },
  (WARM_UP_MAX_SECONDS + SECONDS + 60) * 1_000,
);
