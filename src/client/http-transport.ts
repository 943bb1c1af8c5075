/**
 * The client's only contact with the network: one undici Pool of keep-alive connections to
 * the server's origin. Requests are not pipelined, so each connection carries one request at
 * a time and a slow inference holds back nothing but itself; the pool hands each queued
 * request to the first connection that frees up (no head-of-line blocking across calls).
 */
import { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { InvalidArgumentError } from '../errors';
import { ResolvedClientOptions } from './client-options';
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
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// Above this size a multi-part body is streamed piece by piece; below it one copy is cheaper
// than several socket writes.
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

export class HttpTransport {
  private readonly pool: Pool;

  constructor(private readonly options: ResolvedClientOptions) {
    this.pool = new Pool(options.origin, {
      connections: options.concurrency,
      pipelining: 1,
      connectTimeout: options.connectionTimeout,
      headersTimeout: options.networkTimeout,
      bodyTimeout: options.networkTimeout,
    });
  }

  /** Full URL of a path, for messages. */
  describe(method: string, path: string): string {
    return `${method} ${this.options.origin}${this.options.basePath}${path}`;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const path = `${this.options.basePath}${req.path}${queryString(req.query)}`;
    const own: Record<string, string> = {};
    let body: Buffer | Iterable<Buffer> | undefined;
    if (req.body !== undefined) {
      const pieces = Buffer.isBuffer(req.body) ? [req.body] : (req.body as readonly Buffer[]);
      const length = req.bodyLength ?? pieces.reduce((n, p) => n + p.length, 0);
      own['content-length'] = String(length);
      if (req.contentType !== undefined) own['content-type'] = req.contentType;
      // undici writes an iterable body chunk by chunk under the content-length given above.
      body = pieces.length === 1 ? pieces[0] : length <= CONCAT_LIMIT ? Buffer.concat(pieces as Buffer[], length) : pieces;
    }
    const headers = mergeHeaders(this.options.headers, req.headers, own);
    try {
      const res = await this.pool.request({
        method: req.method,
        path,
        headers,
        body: body as Buffer | undefined, // undici also takes iterables; its typings omit them
        signal: req.signal,
      });
      // arrayBuffer() gathers the body in one piece, without an async iterator's promise per chunk.
      const received = Buffer.from(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: received };
    } catch (err) {
      // Built only here: the message context (the target URL, the options) costs a request nothing.
      throw toTransportError(err, { ...this.options, target: this.describe(req.method, req.path), signal: req.signal });
    }
  }

  /** Waits for in-flight requests, then closes every connection. */
  async close(): Promise<void> {
    if (!this.pool.closed && !this.pool.destroyed) await this.pool.close();
  }
}
