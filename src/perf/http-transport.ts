/**
 * Sends prepared HTTP requests and reads each response to its last byte: over the client's
 * lean keep-alive pool (src/http1/http1-pool.ts) for http: origins, over an undici Pool for
 * https:. A response counts as complete only when its body has every byte its framing
 * promised. The generator shares the machine with the server it measures, so its own CPU
 * per request matters: the lean pool spends about half of undici's with its body iterator.
 */
import { Http1Pool } from '../http1/http1-pool';
import { undiciKeepAlivePool } from '../http1/undici-keep-alive-pool';
import { isTimeoutCode } from '../http1/timeout-codes';
import type { Outcome, Transport } from './transport';

export interface PreparedRequest {
  method: 'GET' | 'POST';
  /** Path and query, e.g. /v2/models/m/infer. */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

function failureBucket(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  if (isTimeoutCode(code)) return 'timeout';
  if (code === 'SCORELINE_HTTP1_INCOMPLETE') return 'incomplete';
  return 'network';
}

interface HttpTransportOptions {
  origin: string;
  requests: readonly PreparedRequest[];
  connections: number;
  timeoutMs: number;
}

export function httpTransport(options: HttpTransportOptions): Transport {
  return options.origin.startsWith('http:') ? leanTransport(options) : undiciTransport(options);
}

function leanTransport(options: HttpTransportOptions): Transport {
  const pool = new Http1Pool({ origin: options.origin, connections: options.connections, connectTimeoutMs: options.timeoutMs, responseTimeoutMs: options.timeoutMs });
  // Built once: the pool writes headers as given, so the body's length goes in here (undici adds it itself).
  const requests = options.requests.map(({ method, path, headers, body }) => {
    const own: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) own[name.toLowerCase()] = value;
    const bytes = body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (bytes !== undefined) own['content-length'] = String(bytes.length);
    return { method, path, headers: own, body: bytes };
  });
  return {
    async send(index: number): Promise<Outcome> {
      const request = requests[index % requests.length]!;
      try {
        const res = await pool.request(request);
        if (res.status < 200 || res.status >= 300) return { ok: false, bucket: String(res.status), connectionFailed: false };
        return { ok: true, firstByteMs: res.firstByteMs };
      } catch (err) {
        return { ok: false, bucket: failureBucket(err), connectionFailed: true };
      }
    },
    close: () => pool.close(),
  };
}

function undiciTransport(options: HttpTransportOptions): Transport {
  const pool = undiciKeepAlivePool(options.origin, { connections: options.connections, connectTimeoutMs: options.timeoutMs, responseTimeoutMs: options.timeoutMs });
  const { requests } = options;
  return {
    async send(index: number): Promise<Outcome> {
      const request = requests[index % requests.length]!;
      try {
        const res = await pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body });
        const firstByteMs = performance.now();
        let bytes = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) bytes += chunk.length;
        const declared = res.headers['content-length'];
        if (declared !== undefined && Number(declared) !== bytes) return { ok: false, bucket: 'incomplete', connectionFailed: false };
        if (res.statusCode < 200 || res.statusCode >= 300) return { ok: false, bucket: String(res.statusCode), connectionFailed: false };
        return { ok: true, firstByteMs };
      } catch (err) {
        return { ok: false, bucket: failureBucket(err), connectionFailed: true };
      }
    },
    close: () => pool.close(),
  };
}
