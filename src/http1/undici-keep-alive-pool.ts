/**
 * An undici Pool as both the client and `scoreline perf` use it for what the lean pool
 * (http1-pool.ts) does not take (https:, and the client's default transport): keep-alive,
 * one request per connection at a time, the response timeout applied to headers and to each
 * body chunk. Here so the two configure it one way.
 */
import { Pool } from 'undici';

export function undiciKeepAlivePool(origin: string, options: { connections: number; connectTimeoutMs: number; responseTimeoutMs: number }): Pool {
  return new Pool(origin, {
    connections: options.connections,
    pipelining: 1,
    connectTimeout: options.connectTimeoutMs,
    headersTimeout: options.responseTimeoutMs,
    bodyTimeout: options.responseTimeoutMs,
  });
}
