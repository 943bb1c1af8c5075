/**
 * The lean transport (the client's `transport: 'lean'`, and perf's for http:): keep-alive
 * HTTP/1.1 connections over plain TCP, one request at a time on each (no pipelining),
 * requests beyond the pool's size waiting in FIFO order for the first connection that frees up.
 *
 * Why it exists: a scoring worker's engine calls are its own hot path. undici is general
 * and careful; for requests to an engine on the same machine its per-request work showed
 * in a worker's CPU profile (bench/README.md, "Measurements behind design choices"), and
 * since 7.30 it waits one event-loop turn before reusing
 * an idle connection (GHSA-35p6-xmwp-9g52), which a request sent from a setImmediate
 * callback (the client's merged calls) pays on every call. Here the request is written at
 * once; a connection that received unasked bytes while idle, or that the server closed,
 * is dropped when that happens (the socket's events), so nothing stale is reused.
 *
 * Kept narrow on purpose: http: only (TLS goes through undici), Content-Length, chunked and
 * read-until-close responses (http1-response-parser.ts). A reused connection the server
 * closed before sending a byte is retried once on another for GET (idempotent); any other
 * failure reaches the caller, as undici does.
 */
import { connect, type Socket } from 'node:net';
import { AbortPoller, isAbortSignal, throwIfAborted, type AbortState } from '../util/abort-state';
import { Http1ResponseParser, type Http1Response } from './http1-response-parser';
import { Http1PoolError } from '../errors';

export interface Http1PoolOptions {
  /** `http://host:port` */
  origin: string;
  /** Most connections open at once. */
  connections: number;
  /** Milliseconds to establish a connection. */
  connectTimeoutMs: number;
  /** Milliseconds without a byte from the server while a request waits for its response. */
  responseTimeoutMs: number;
}

export interface Http1Request {
  method: string;
  /** The request target: path and query. */
  path: string;
  /** Lower-case names; `host` is added. */
  headers: Record<string, string>;
  body?: Buffer | readonly Buffer[];
  /** An AbortSignal is listened to; any other abort state is polled (src/util/abort-state.ts). */
  signal?: AbortSignal | AbortState;
}

/** A complete response, and when its first byte arrived (performance.now(); load generators read it). */
export interface Http1Result extends Http1Response {
  firstByteMs: number;
}

// The pool's error codes are the registry's (src/errors.ts), with the statuses they stand for.
export { Http1PoolError, type Http1PoolErrorCode } from '../errors';

/** Without a `Keep-Alive: timeout=N` hint, an idle connection is reused for this long. */
const DEFAULT_KEEP_ALIVE_MS = 4000;
/** A hinted keep-alive is shortened by this much, so the server never closes first mid-request. */
const KEEP_ALIVE_MARGIN_MS = 1000;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
// eslint-disable-next-line no-control-regex -- control characters are what a request target must not hold
const BAD_TARGET = /[\s\0-\x1f\x7f]/;

interface Exchange {
  request: Http1Request;
  head: string;
  attempts: number;
  settled: boolean;
  firstByteMs: number;
  resolve(response: Http1Result): void;
  reject(err: unknown): void;
  onAbort: (() => void) | undefined;
  /** The poller's handle when the request's abort state is polled. */
  polled: ReturnType<AbortPoller['watch']> | undefined;
}

interface Connection {
  socket: Socket;
  connected: boolean;
  /** Requests it carried to completion; a fresh one has none. */
  served: number;
  active: Exchange | undefined;
  parser: Http1ResponseParser | undefined;
  reuseUntil: number;
  error: Error | undefined;
}

function requestHead(method: string, target: string, host: string, headers: Record<string, string>): string {
  if (!TOKEN.test(method)) throw new Http1PoolError('SCORELINE_HTTP1_INVALID_REQUEST', `invalid method ${JSON.stringify(method)}`);
  if (target === '' || BAD_TARGET.test(target)) throw new Http1PoolError('SCORELINE_HTTP1_INVALID_REQUEST', `invalid request target ${JSON.stringify(target)}`);
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (!TOKEN.test(name)) throw new Http1PoolError('SCORELINE_HTTP1_INVALID_REQUEST', `invalid header name ${JSON.stringify(name)}`);
    if (BAD_VALUE.test(value)) throw new Http1PoolError('SCORELINE_HTTP1_INVALID_REQUEST', `header '${name}' has a line break or NUL in its value`);
    if (name !== 'host') head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

export class Http1Pool {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly waiting: Exchange[] = [];
  private closing = false;
  private closed: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private readonly abortPoller = new AbortPoller();

  constructor(private readonly options: Http1PoolOptions) {
    const url = new URL(options.origin);
    if (url.protocol !== 'http:') throw new Http1PoolError('SCORELINE_HTTP1_INVALID_REQUEST', `the lean transport speaks plain HTTP only, not ${url.protocol}`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
  }

  /** Connections open now (tests and diagnostics read it). */
  get openConnections(): number {
    return this.all.size;
  }

  request(request: Http1Request): Promise<Http1Result> {
    return new Promise<Http1Result>((resolve, reject) => {
      if (this.closing) throw new Http1PoolError('SCORELINE_HTTP1_CLOSED', 'the client is closed');
      const signal = request.signal;
      throwIfAborted(signal);
      const exchange: Exchange = {
        request,
        head: requestHead(request.method, request.path, this.hostHeader, request.headers),
        attempts: 0,
        settled: false,
        firstByteMs: 0,
        resolve,
        reject,
        onAbort: undefined,
        polled: undefined,
      };
      if (isAbortSignal(signal)) {
        exchange.onAbort = () => this.abort(exchange, signal.reason);
        signal.addEventListener('abort', exchange.onAbort, { once: true });
      } else if (signal !== undefined) {
        exchange.polled = this.abortPoller.watch(signal, (reason) => this.abort(exchange, reason));
      }
      this.dispatch(exchange);
    });
  }

  /** Lets requests in flight and waiting finish, then closes every connection. New requests fail. */
  close(): Promise<void> {
    // One shutdown however many callers ask (a second drained-waiter would replace the first).
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    if (this.busy()) await new Promise<void>((resolve) => (this.drained = resolve));
    // Still in the set: its 'close' event (which removes it) is yet to come.
    const closing = [...this.all].map(({ socket }) => new Promise((resolve) => socket.once('close', resolve)));
    for (const connection of this.all) connection.socket.destroy();
    await Promise.all(closing);
  }

  private busy(): boolean {
    if (this.waiting.length > 0) return true;
    for (const connection of this.all) if (connection.active !== undefined) return true;
    return false;
  }

  private dispatch(exchange: Exchange): void {
    const now = performance.now();
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      const { socket } = connection;
      // A server's FIN ends the socket before its 'close' event removes it from the pool.
      if (connection.reuseUntil > now && !socket.destroyed && !socket.readableEnded && !socket.writableEnded) {
        this.send(connection, exchange);
        return;
      }
      socket.destroy(); // past its keep-alive (the server may be closing it), or closed by the server
    }
    if (this.all.size < this.options.connections) this.send(this.open(), exchange);
    else this.waiting.push(exchange);
  }

  private open(): Connection {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection: Connection = { socket, connected: false, served: 0, active: undefined, parser: undefined, reuseUntil: 0, error: undefined };
    this.all.add(connection);
    socket.setTimeout(this.options.connectTimeoutMs);
    socket.once('connect', () => {
      connection.connected = true;
      // Armed once, for good: re-arming per request costs two timer-list updates each. An
      // idle connection that reaches it has outlived its keep-alive anyway and is closed.
      socket.setTimeout(this.options.responseTimeoutMs);
    });
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('timeout', () => {
      if (!connection.connected) {
        socket.destroy(new Http1PoolError('SCORELINE_HTTP1_CONNECT_TIMEOUT', `connecting took longer than ${this.options.connectTimeoutMs} ms`));
      } else if (connection.active !== undefined) {
        socket.destroy(new Http1PoolError('SCORELINE_HTTP1_RESPONSE_TIMEOUT', `no response within ${this.options.responseTimeoutMs} ms`));
      } else {
        socket.destroy();
      }
    });
    socket.on('error', (err: Error) => (connection.error ??= err));
    socket.on('close', () => this.onClose(connection));
    return connection;
  }

  private send(connection: Connection, exchange: Exchange): void {
    connection.active = exchange;
    connection.parser = new Http1ResponseParser(exchange.request.method === 'HEAD');
    const { socket } = connection;
    socket.ref();
    socket.cork();
    socket.write(exchange.head, 'latin1');
    const body = exchange.request.body;
    if (body !== undefined) {
      if (Buffer.isBuffer(body)) socket.write(body);
      else for (const piece of body as readonly Buffer[]) socket.write(piece);
    }
    socket.uncork();
  }

  private onData(connection: Connection, chunk: Buffer): void {
    const exchange = connection.active;
    if (exchange === undefined) {
      // Bytes nobody asked for: whatever the server meant, this connection is not reusable.
      connection.socket.destroy();
      return;
    }
    if (exchange.firstByteMs === 0) exchange.firstByteMs = performance.now();
    let response: Http1Response | undefined;
    try {
      response = connection.parser!.feed(chunk);
    } catch (err) {
      connection.socket.destroy(err as Error);
      return;
    }
    if (response === undefined) return;
    this.finish(connection, exchange, response);
  }

  private finish(connection: Connection, exchange: Exchange, response: Http1Response): void {
    connection.active = undefined;
    connection.parser = undefined;
    connection.served++;
    const { socket } = connection;
    const next = response.keepAlive && !socket.destroyed ? this.waiting.shift() : undefined;
    if (next !== undefined) {
      this.send(connection, next);
    } else if (response.keepAlive && !socket.destroyed && !this.closing) {
      const hinted = response.keepAliveTimeoutSeconds;
      const keepMs = hinted === undefined ? DEFAULT_KEEP_ALIVE_MS : hinted * 1000 - KEEP_ALIVE_MARGIN_MS;
      connection.reuseUntil = performance.now() + keepMs;
      socket.unref(); // an idle connection does not keep the process alive
      this.idle.push(connection);
    } else {
      socket.destroy();
    }
    this.settle(exchange, undefined, response);
  }

  private onClose(connection: Connection): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const exchange = connection.active;
    connection.active = undefined;
    if (exchange !== undefined && !exchange.settled) {
      const parser = connection.parser!;
      if (connection.error === undefined) {
        try {
          // A body that runs until the server closes ends here.
          this.settle(exchange, undefined, parser.end());
          this.pumpAfterClose();
          return;
        } catch (err) {
          connection.error = err as Error;
        }
      }
      const idempotent = exchange.request.method === 'GET' || exchange.request.method === 'HEAD';
      const stale = connection.served > 0 && !parser.started && !(connection.error instanceof Http1PoolError);
      if (idempotent && stale && exchange.attempts === 0 && !this.closing) {
        exchange.attempts++;
        this.dispatch(exchange);
      } else {
        const cause = connection.error;
        const error =
          cause instanceof Http1PoolError || (cause as { code?: unknown } | undefined)?.code !== undefined
            ? cause
            : new Http1PoolError('SCORELINE_HTTP1_CONNECTION_LOST', cause?.message ?? 'the connection closed before a response', { cause });
        this.settle(exchange, error);
      }
    }
    this.pumpAfterClose();
  }

  /** A closed connection frees a slot: open one for the first waiting request. */
  private pumpAfterClose(): void {
    if (this.waiting.length > 0 && this.all.size < this.options.connections) this.send(this.open(), this.waiting.shift()!);
    this.notifyIfDrained();
  }

  private abort(exchange: Exchange, reason: unknown): void {
    if (exchange.settled) return;
    const queued = this.waiting.indexOf(exchange);
    if (queued !== -1) this.waiting.splice(queued, 1);
    for (const connection of this.all) {
      // The response would arrive on a connection nobody reads for it: drop the connection.
      if (connection.active === exchange) connection.socket.destroy();
    }
    this.settle(exchange, reason);
  }

  private settle(exchange: Exchange, error: unknown, response?: Http1Response): void {
    if (exchange.settled) return;
    exchange.settled = true;
    if (exchange.onAbort !== undefined) (exchange.request.signal as AbortSignal).removeEventListener('abort', exchange.onAbort);
    if (exchange.polled !== undefined) this.abortPoller.unwatch(exchange.polled);
    if (response !== undefined) exchange.resolve({ ...response, firstByteMs: exchange.firstByteMs });
    else exchange.reject(error);
    this.notifyIfDrained();
  }

  private notifyIfDrained(): void {
    if (this.drained !== undefined && !this.busy()) {
      const drained = this.drained;
      this.drained = undefined;
      drained();
    }
  }
}
