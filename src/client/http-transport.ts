/**
 * The client's only contact with the network: a pool of keep-alive connections to the
 * server's origin, undici's (the default) or the lean one of src/http1/http1-pool.ts (option
 * `transport: 'lean'`). Either way requests are not pipelined, so each connection carries
 * one request at a time and a slow inference holds back nothing but itself; the pool hands
 * each queued request to the first connection that frees up (no head-of-line blocking
 * across calls).
 */
import { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError } from '../errors';
import { ResolvedClientOptions } from './client-options';
import { AbortPoller, signalFor, type AbortState } from '../util/abort-state';
import { Http1Pool, type Http1Request } from '../http1/http1-pool';
import { undiciKeepAlivePool } from '../http1/undici-keep-alive-pool';
import { toTransportError } from './transport-error';

/** Query parameters: repeated keys for arrays, form-encoded (space as '+'), as tritonclient does. */
export type QueryParams = Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>;

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path below the base path, starting with '/v2'. */
  path: string;
  query?: QueryParams;
  headers?: Record<string, string>;
  /** A buffer, or pieces written back to back without being concatenated. */
  body?: Buffer | readonly Buffer[];
  bodyLength?: number;
  contentType?: string;
  /** An AbortSignal, or a polled abort state (src/util/abort-state.ts). */
  signal?: AbortSignal | AbortState;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// undici: above this size a multi-part body is streamed piece by piece; below it one copy is
// cheaper than several socket writes. (The lean pool corks the socket: one writev either way.)
const CONCAT_LIMIT = 64 * 1024;

export function queryString(query: QueryParams | undefined): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function mergeHeaders(...sources: Array<Record<string, string> | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const source of sources) {
    if (source === undefined) continue;
    if (typeof source !== 'object' || source === null) throw new InvalidArgumentError("option 'headers' must be an object");
    for (const [name, value] of Object.entries(source)) {
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding') {
        throw new InvalidArgumentError("option 'headers': 'Transfer-Encoding' is set by the client and cannot be given");
      }
      out[lower] = String(value);
    }
  }
  return out;
}

/** What either pool is asked to do: one request on a pooled connection (headers complete). */
interface ConnectionPool {
  exchange(request: Http1Request): Promise<HttpResponse>;
  close(): Promise<void>;
}

function undiciPool(options: ResolvedClientOptions): ConnectionPool {
  const pool = undiciKeepAlivePool(options.origin, {
    connections: options.concurrency,
    connectTimeoutMs: options.connectionTimeout,
    responseTimeoutMs: options.networkTimeout,
  });
  // undici wants a real AbortSignal: a polled state gets one that follows it.
  const abortPoller = new AbortPoller();
  return {
    async exchange({ method, path, headers, body, signal: state }) {
      let payload = body;
      if (payload !== undefined && !Buffer.isBuffer(payload)) {
        // undici writes an iterable body chunk by chunk (a socket write each) under the
        // content-length given; for a small body one copy is cheaper.
        const length = Number(headers['content-length']);
        if (length <= CONCAT_LIMIT) payload = Buffer.concat(payload as Buffer[], length);
      }
      const { signal, release } = signalFor(state, abortPoller);
      try {
        const res = await pool.request({ method, path, headers, body: payload as Buffer | undefined, signal }); // undici takes iterables too; its typings omit them
        // arrayBuffer() gathers the body in one piece, without an async iterator's promise per chunk.
        const received = Buffer.from(await res.body.arrayBuffer());
        return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: received };
      } finally {
        release();
      }
    },
    async close() {
      abortPoller.stop();
      if (!pool.closed && !pool.destroyed) await pool.close();
    },
  };
}

function leanPool(options: ResolvedClientOptions): ConnectionPool {
  const pool = new Http1Pool({
    origin: options.origin,
    connections: options.concurrency,
    connectTimeoutMs: options.connectionTimeout,
    responseTimeoutMs: options.networkTimeout,
  });
  return { exchange: (exchange) => pool.request(exchange), close: () => pool.close() };
}

export class HttpTransport {
  private readonly pool: ConnectionPool;

  constructor(private readonly options: ResolvedClientOptions) {
    this.pool = options.transport === 'lean' ? leanPool(options) : undiciPool(options);
  }

  /** Full URL of a path, for messages. */
  describe(method: string, path: string): string {
    return `${method} ${this.options.origin}${this.options.basePath}${path}`;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const path = `${this.options.basePath}${req.path}${queryString(req.query)}`;
    const own: Record<string, string> = {};
    let body: Buffer | readonly Buffer[] | undefined;
    if (req.body !== undefined) {
      const pieces = Buffer.isBuffer(req.body) ? [req.body] : (req.body as readonly Buffer[]);
      const length = req.bodyLength ?? pieces.reduce((n, p) => n + p.length, 0);
      own['content-length'] = String(length);
      if (req.contentType !== undefined) own['content-type'] = req.contentType;
      body = pieces.length === 1 ? pieces[0] : pieces;
    }
    const headers = mergeHeaders(this.options.headers, req.headers, own);
    try {
      return await this.pool.exchange({ method: req.method, path, headers, body, signal: req.signal });
    } catch (err) {
      // Built only here: the message context (the target URL, the options) costs a request nothing.
      throw toTransportError(err, { ...this.options, target: this.describe(req.method, req.path), signal: req.signal });
    }
  }

  /** Waits for in-flight requests, then closes every connection. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
