/**
 * The engine's HTTP server: plain node:http and a table of routes. No framework on this
 * path: /infer is the hot path, and express's per-request machinery outweighs the work of a
 * small request itself (bench/README.md, "Measurements behind design choices").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnavailableError } from '../../errors';
import { SERVER_STARTING_MESSAGE } from '../../tensor/inference-wire';
import type { Logger } from '../../logger';
import { kserveErrorReply } from './error-status';
import { Reply, RouteContext, matchRoute } from './engine-routes';

export interface EngineHttpServer {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, waits for requests in progress, closes idle keep-alive sockets. */
  close(): Promise<void>;
}

/**
 * After an early answer (413, a refused header) the client may still be sending the body.
 * Closing the socket with its bytes unread would make the kernel send a reset, and a client
 * still writing would see ECONNRESET or EPIPE instead of the answer. So the rest is read and
 * dropped (node's parser keeps the connection in step, for keep-alive), up to
 * DISCARD_MAX_BYTES and DISCARD_MAX_MS: past either the connection is cut, so a client
 * cannot make the server read for ever.
 */
const DISCARD_MAX_BYTES = 256 * 1024 * 1024;
const DISCARD_MAX_MS = 10_000;

function discardRest(req: http.IncomingMessage): void {
  let discarded = 0;
  const timer = setTimeout(() => req.socket.destroy(), DISCARD_MAX_MS);
  timer.unref();
  const done = (): void => clearTimeout(timer);
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_MAX_BYTES) {
      done();
      req.socket.destroy();
    }
  });
  req.once('end', done);
  req.once('close', done);
  req.resume();
}

function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = { ...reply.headers };
  if (reply.parts) {
    headers['content-length'] = reply.byteLength ?? reply.parts.reduce((n, p) => n + p.length, 0);
    res.writeHead(reply.status, headers);
    for (const p of reply.parts) res.write(p);
    res.end();
    return;
  }
  if (reply.json !== undefined) {
    const body = Buffer.from(JSON.stringify(reply.json), 'utf8');
    headers['content-type'] = 'application/json';
    headers['content-length'] = body.length;
    res.writeHead(reply.status, headers);
    res.end(body);
    return;
  }
  headers['content-length'] = 0;
  res.writeHead(reply.status, headers);
  res.end();
}

export async function startEngineHttpServer(
  ctx: RouteContext,
  options: { host: string; port: number; logger: Logger },
): Promise<EngineHttpServer> {
  const { logger } = options;
  const server = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let status = 500;
    try {
      // The port listens before the start-up models are loaded, and a restarted engine is
      // found on its old port at once: until they are, a request gets 503 (retry), not a 400
      // "unknown model" that would tell its client to give up. Health answers throughout.
      if (ctx.isStarted?.() === false && !pathname.startsWith('/v2/health')) {
        throw new UnavailableError(SERVER_STARTING_MESSAGE);
      }
      const { handler, params } = matchRoute(req.method ?? 'GET', pathname);
      const reply = await handler(ctx, req, params);
      status = reply.status;
      send(res, reply);
    } catch (err) {
      const { status: s, body } = kserveErrorReply(err);
      status = s;
      if (s >= 500 && !(err as { code?: string }).code?.startsWith('SCORELINE_')) {
        logger.error(`${req.method} ${pathname}: ${(err as Error).stack ?? String(err)}`);
      }
      // An answer before the body has all come (413, early errors): the rest is read and
      // dropped, so the connection stays in step for the client's next request.
      if (!res.headersSent) send(res, { status: s, json: body });
      else res.destroy();
      if (!req.complete) discardRest(req);
    }
    logger.verbose(
      `${req.method} ${pathname} ${status} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(2)} ms`,
    );
  });
  // Expect: anything but 100-continue: Node's default answer has no body; Triton's errors do.
  server.on('checkExpectation', (_req, res: http.ServerResponse) => send(res, { status: 417, json: { error: 'only Expect: 100-continue is supported' } }));
  // Slow or stalled clients must not hold sockets forever (headers and whole request).
  server.headersTimeout = 30_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    host: options.host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          clearInterval(reaper);
          resolve();
        });
        // Keep-alive sockets that go idle after their last response would otherwise hold
        // close() open until keepAliveTimeout; reap them as they go idle.
        server.closeIdleConnections();
        const reaper = setInterval(() => server.closeIdleConnections(), 50);
      }),
  };
}
