/**
 * Sends prepared HTTP requests through an undici Pool and reads each response to its last
 * byte. A response counts as complete only when its body has every byte its
 * content-length promised.
 */
import { Pool } from 'undici';
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
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  return 'network';
}

export function httpTransport(options: { origin: string; requests: readonly PreparedRequest[]; connections: number; timeoutMs: number }): Transport {
  const pool = new Pool(options.origin, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: { timeout: options.timeoutMs },
  });
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
