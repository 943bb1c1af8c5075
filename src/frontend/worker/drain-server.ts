/**
 * A worker's graceful stop (SIGTERM, recycling): stop accepting connections, answer what
 * is in flight, close every kept-alive connection without losing a request, and resolve.
 *
 * Why not `server.close()` alone: since Node.js 19 it also closes idle keep-alive
 * connections at once, and "idle" on the server's side can mean that the client has just
 * written its next request onto that connection: closing it loses that request (the
 * client sees a reset for a request it sent). Instead:
 *   1. the listening handle closes (net.Server's close: new connections go to other
 *      workers, or are refused when every worker drains);
 *   2. every response from now on says `Connection: close` (the app's draining flag), so
 *      each busy connection closes after at most one more exchange;
 *   3. connections still open after IDLE_CLOSE_MS have been quiet that long and are closed
 *      (a client that sends exactly then loses that request, as with any keep-alive timeout);
 *   4. once nothing is in flight, or the grace period is over, the rest are closed.
 */
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';

/** How long connections may stay open for the client's next request before they are closed. */
export const IDLE_CLOSE_MS = 1_000;
const POLL_MS = 20;

export interface Drainable {
  /** Sets the draining flag (responses say Connection: close); resolves when nothing is in flight. */
  drain(): Promise<void>;
}

/** Resolves true when every request finished within `graceMs`, false when time ran out. */
export async function drainServer(server: Server, app: Drainable, graceMs: number): Promise<boolean> {
  const deadline = performance.now() + graceMs;
  NetServer.prototype.close.call(server);
  void app.drain();
  await until(async () => (await openConnections(server)) === 0, Math.min(IDLE_CLOSE_MS, graceMs));
  server.closeIdleConnections();
  // drain() again: requests may have come in on open connections since the first call.
  const drained = app.drain().then(() => true);
  const late = new Promise<false>((resolve) => setTimeout(resolve, Math.max(0, deadline - performance.now()), false).unref());
  const clean = await Promise.race([drained, late]);
  // Answers in flight end with Connection: close; let them reach the socket before closing.
  if (clean) await until(async () => (await openConnections(server)) === 0, Math.min(250, Math.max(0, deadline - performance.now())));
  server.closeAllConnections();
  return clean;
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, count) => resolve(err ? 0 : count)));
}

function until(predicate: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  return new Promise((resolve) => {
    const check = async (): Promise<void> => {
      if ((await predicate()) || performance.now() >= deadline) resolve();
      else setTimeout(check, POLL_MS);
    };
    void check();
  });
}
