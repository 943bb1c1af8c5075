/**
 * Scenario 3: SIGTERM under load (concurrency 64 over kept-alive connections, 2 ms per
 * request, so at any instant some connections sit between two requests). No request the
 * server accepted fails, including those clients had just written onto kept-alive
 * connections; new connections are refused once the drain starts; the server exits 0
 * within the grace period.
 *
 * The load's clients are the probes: each answer during the drain says Connection: close,
 * so each client's next request opens a new connection, which must be refused.
 */
import { reportFigures } from './helpers/figures';
import { FAULTY, startFaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, statusSummary, until } from './helpers/load';

const CONCURRENCY = 64;
const GRACE_MS = 10_000;

it('finishes every accepted request, refuses new connections, and exits 0 within the grace period', async () => {
  const server = await startFaultServer(['--entry-script', FAULTY, '--worker-count', '2', '--grace-period-ms', String(GRACE_MS)]);
  const load = new ClosedLoopLoad({
    url: server.url,
    concurrency: CONCURRENCY,
    body: { action: 'sleep', ms: 2 },
    timeoutMs: 15_000,
    pauseAfterFailureMs: 10,
    requestIdPrefix: 'f-load-',
  }).start();
  try {
    await until(() => load.counts.pids.length === 2 && load.ok() > 300, 20_000, 'both workers to answer');
    const inFlight = load.counts.sent - load.answered() - load.counts.failures.length;
    const okBefore = load.ok();
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    const exitMs = performance.now() - signalledAt;
    const counts = await load.stop();

    // A failure on a new connection of a request the app never logged was refused: the
    // connection was refused, or reset by the listening socket closing in that instant.
    // A failure on a kept-alive connection, or of a request the app logged, lost a request
    // the server had accepted.
    const failedInFlight = counts.failures.filter((f) => f.reused || server.loggedStatus(f.requestId!) !== undefined);
    const refused = counts.failures.filter((f) => !failedInFlight.includes(f));
    const firstRefusal = Math.min(...refused.filter((f) => f.code === 'ECONNREFUSED').map((f) => f.at));
    // Once one connection was refused the listening socket is closed: a connection opened later must be refused too.
    const freshAnsweredAfterRefusal = counts.freshAnsweredStartedAt.filter((at) => at > firstRefusal);
    reportFigures('SIGTERM drain', {
      concurrency: CONCURRENCY,
      in_flight_at_signal: inFlight,
      completed_after_signal: load.ok() - okBefore,
      statuses: statusSummary(counts.statuses),
      failed_in_flight: failedInFlight.length,
      refused_new: refused.length,
      refused: failureSummary(refused),
      refused_after_ms: firstRefusal - signalledAt,
      opened_after_refusal_and_answered: freshAnsweredAfterRefusal.length,
      exit_code: exit.code ?? String(exit.signal),
      exit_ms: exitMs,
    });

    expect(failedInFlight).toEqual([]);
    expect([...counts.statuses.keys()]).toEqual([200]);
    expect(load.ok() - okBefore).toBeGreaterThanOrEqual(inFlight);
    expect(refused.length).toBeGreaterThan(0);
    expect(freshAnsweredAfterRefusal).toEqual([]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(GRACE_MS);
  } finally {
    await load.stop();
    await server.stop('SIGKILL');
  }
});
