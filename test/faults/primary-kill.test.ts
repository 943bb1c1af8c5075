/**
 * Scenario: the primary of `scoreline serve` killed with SIGKILL under load (concurrency 16
 * on /score through scoring/score.ts and the embedded engine). No handler of the primary
 * runs, so nothing it does on exit can help: the workers notice their IPC channel closing
 * and the engine (started with --exit-on-stdin-close) notices its stdin pipe closing. Every
 * process of the tree is gone within 2 s, and a new server starts on the same ports (the
 * front end's and the engine's three), which it could not while an orphaned engine held them.
 */
import { reportFigures } from './helpers/figures';
import { startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, sleep, statusSummary, until } from './helpers/load';
import { ON_LINUX, commandLine, processTree, runningSince } from './helpers/process-tree';
import { MLP_FEATURES, mlpRepository, scoreBody, type Repository } from './helpers/repositories';
import { freePort } from '../frontend/helpers/serve-process';

const CONCURRENCY = 16;
/** The guarantee. */
const GONE_LIMIT_MS = 2_000;
/** How long the test watches before giving up (beyond the limit, to report how late a slow run was). */
const WATCH_MS = 15_000;
const POLL_MS = 5;

interface Member {
  pid: number;
  role: 'primary' | 'worker' | 'engine';
  since: string;
  /** ms after the kill when it was first seen gone. */
  goneMs?: number;
}

let repository: Repository;
beforeAll(async () => {
  repository = await mlpRepository();
});
afterAll(async () => {
  await repository?.remove();
});

(ON_LINUX ? it : it.skip)('takes the workers and the engine with it within 2 s, and frees the ports for the next start', async () => {
  const [port, http, metrics, grpc] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = ['--model-repository', repository.dir, '--worker-count', '2', '--engine-http-port', String(http), '--engine-metrics-port', String(metrics), '--engine-grpc-port', String(grpc)];
  let first: FaultServer | undefined;
  let second: FaultServer | undefined;
  let load: ClosedLoopLoad | undefined;
  let tree: Member[] = [];
  try {
    first = await startFaultServer(args, { port });
    // Refused connections after the kill are retried every 50 ms, not hammered, so the load does not slow the exits it watches.
    load = new ClosedLoopLoad({ url: first.url, concurrency: CONCURRENCY, body: scoreBody('mlp', MLP_FEATURES), timeoutMs: 5_000, tagPids: false, pauseAfterFailureMs: 50 }).start();
    await until(() => load!.ok() > 200, 30_000, '200 answers');

    const primary = first.child.pid!;
    const engine = first.enginePid();
    tree = processTree(primary).map(({ pid }) => ({
      pid,
      role: pid === primary ? 'primary' : pid === engine ? 'engine' : 'worker',
      since: runningSince(pid)!,
    }));
    expect(tree.filter((m) => m.role === 'worker')).toHaveLength(2);
    expect(tree.filter((m) => m.role === 'engine')).toHaveLength(1);

    const killedAt = performance.now();
    first.child.kill('SIGKILL');
    // Poll, do not sleep a fixed time: the figure is when each process was first seen gone.
    while (tree.some((m) => m.goneMs === undefined) && performance.now() - killedAt < WATCH_MS) {
      for (const member of tree) if (member.goneMs === undefined && runningSince(member.pid) !== member.since) member.goneMs = performance.now() - killedAt;
      await sleep(POLL_MS);
    }
    const counts = await load.stop();
    // The workers share the primary's stdout and stderr, so their last words reach the log still.
    const farewells = (): number => first!.log().match(/serve worker \d+: the primary went away/g)?.length ?? 0;
    await until(() => farewells() === 2, 5_000, "both workers' log line").catch(() => undefined);
    const left = tree.filter((m) => m.goneMs === undefined);
    const allGoneMs = Math.max(...tree.map((m) => m.goneMs ?? Infinity));

    const goneOf = (role: Member['role']): number => Math.max(...tree.filter((m) => m.role === role).map((m) => m.goneMs ?? Infinity));
    reportFigures('primary SIGKILL', {
      concurrency: CONCURRENCY,
      sent: counts.sent,
      statuses: statusSummary(counts.statuses),
      failed: counts.failures.length,
      failures: failureSummary(counts.failures),
      workers_gone_ms: goneOf('worker'),
      engine_gone_ms: goneOf('engine'),
      all_gone_ms: allGoneMs,
    });

    // The same ports: the engine's are only free if the old engine let them go.
    let restartFailure: string | undefined;
    /** Statuses and error codes the new server's first answers gave. */
    let outcomes: string[] = [];
    try {
      second = await startFaultServer(args, { port });
      const after = new ClosedLoopLoad({ url: second.url, concurrency: 1, body: scoreBody('mlp', MLP_FEATURES), timeoutMs: 5_000, tagPids: false }).start();
      try {
        await until(() => after.answered() > 0 || after.counts.failures.length > 0, 10_000, 'an answer from the new server');
      } finally {
        const afterCounts = await after.stop();
        outcomes = [...[...afterCounts.statuses.keys()].map(String), ...afterCounts.failures.map((f) => f.code)];
      }
    } catch (err) {
      restartFailure = (err as Error).message.split('\n').slice(0, 4).join('\n');
    }

    expect(left.map((m) => `${m.role} ${m.pid}: ${commandLine(m.pid)}`)).toEqual([]);
    expect(allGoneMs).toBeLessThan(GONE_LIMIT_MS);
    expect(farewells()).toBe(2);
    expect(restartFailure).toBeUndefined();
    expect(outcomes).toEqual(['200']);
  } finally {
    await load?.stop();
    // A failed run must not leave an orphan holding ports for the tests after it: kill what
    // is left of the tree this test started, each by its pid, if it is still the same process.
    for (const member of tree) if (runningSince(member.pid) === member.since) process.kill(member.pid, 'SIGKILL');
    await first?.stop('SIGKILL');
    await second?.stop();
  }
}, 120_000);
