/**
 * Scenario 6: slow clients. 50 connections trickle their headers and 50 trickle their
 * body (one byte every 200 ms, never finishing) against one worker. The server cuts them
 * with 408 at --headers-timeout-ms and --request-timeout-ms, and meanwhile a normal client
 * is served as fast as ever.
 */
import net from 'node:net';
import { reportFigures } from './helpers/figures';
import { FAULTY, startFaultServer, type FaultServer } from './helpers/fault-server';
import { ClosedLoopLoad, failureSummary, percentile, sleep, statusSummary } from './helpers/load';

const SLOW = 50;
const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Node checks its timeouts every second (the server sets connectionsCheckingInterval so). */
const CHECK_MARGIN_MS = 2_000;
const TRICKLE_MS = 200;

interface SlowResult {
  closedAfterMs: number;
  answer: string;
}

/** A connection that sends `head`, then one byte of `drip` every TRICKLE_MS until the server closes it. */
function slowClient(port: number, head: string, drip: string): Promise<SlowResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      let i = 0;
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(drip[i++ % drip.length]!);
      }, TRICKLE_MS);
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: performance.now() - started, answer });
    });
    // Never outlive the test, whatever the server does.
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer([
    '--entry-script', FAULTY,
    '--headers-timeout-ms', String(HEADERS_TIMEOUT_MS),
    '--request-timeout-ms', String(REQUEST_TIMEOUT_MS),
  ]);
});
afterAll(async () => {
  await server?.stop();
});

it('cuts slow headers and slow bodies with 408 at the timeouts while other clients are served', async () => {
  const load = new ClosedLoopLoad({ url: server.url, concurrency: 8, body: { action: 'pid' }, timeoutMs: 5_000 }).start();
  await sleep(500);
  const slowHeaders = Array.from({ length: SLOW }, (_, i) =>
    slowClient(server.port, `POST /score HTTP/1.1\r\nHost: localhost\r\nX-Slow-${i}: `, 'abcdefgh'),
  );
  const slowBodies = Array.from({ length: SLOW }, () =>
    slowClient(server.port, 'POST /score HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[', '1,'),
  );
  const [headers, bodies] = await Promise.all([Promise.all(slowHeaders), Promise.all(slowBodies)]);
  const counts = await load.stop();

  const cut = (results: SlowResult[], limitMs: number) => results.filter((r) => r.closedAfterMs < limitMs + CHECK_MARGIN_MS && /^HTTP\/1\.1 408 /.test(r.answer));
  const latencies = counts.latencies.get(200) ?? [];
  reportFigures('slow clients', {
    slow_headers: SLOW,
    slow_headers_cut_408: cut(headers, HEADERS_TIMEOUT_MS).length,
    slow_headers_max_ms: Math.max(...headers.map((r) => r.closedAfterMs)),
    slow_bodies: SLOW,
    slow_bodies_cut_408: cut(bodies, REQUEST_TIMEOUT_MS).length,
    slow_bodies_max_ms: Math.max(...bodies.map((r) => r.closedAfterMs)),
    others_sent: counts.sent,
    others_statuses: statusSummary(counts.statuses),
    others_failed: counts.failures.length,
    others_failures: failureSummary(counts.failures),
    others_p99_ms: percentile(latencies, 99),
  });

  expect(cut(headers, HEADERS_TIMEOUT_MS)).toHaveLength(SLOW);
  expect(cut(bodies, REQUEST_TIMEOUT_MS)).toHaveLength(SLOW);
  // The answer is the front end's JSON error, not Node's bare status line.
  expect(JSON.parse(headers[0]!.answer.split('\r\n\r\n')[1]!)).toEqual({ message: expect.stringMatching(/not received within the time/) });
  expect(counts.failures).toEqual([]);
  expect([...counts.statuses.keys()]).toEqual([200]);
  expect(percentile(latencies, 99)).toBeLessThan(500);
  // The worker served throughout: the same one answered before and after.
  expect(counts.pids).toHaveLength(1);
});
