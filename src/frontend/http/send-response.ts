/**
 * Writing responses: JSON values, error replies and web `Response`s a module returns. Each
 * writes status and headers in one writeHead and the body in one end() where it can: the
 * cheapest path through node:http.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ErrorReply } from './error-status';

export type HeaderMap = Record<string, string | string[]>;

const JSON_TYPE = 'application/json';

export function sendText(res: ServerResponse, status: number, headers: HeaderMap, text: string, type = 'text/plain; charset=utf-8'): void {
  headers['content-type'] = type;
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(status, headers);
  res.end(text);
}

/** A run() result as JSON: a string as a JSON string, undefined (or anything JSON drops) as `{}`. */
export function sendJson(res: ServerResponse, status: number, headers: HeaderMap, value: unknown): void {
  sendText(res, status, headers, JSON.stringify(value) ?? '{}', JSON_TYPE);
}

export function sendError(res: ServerResponse, headers: HeaderMap, reply: ErrorReply): void {
  Object.assign(headers, reply.headers);
  headers['x-ms-run-function-failed'] = reply.runFunctionFailed ? 'True' : 'False';
  sendJson(res, reply.status, headers, reply.body);
}

/**
 * A web Response, as the module built it, plus the server's own headers (ids, CORS,
 * timing). Bodies stream, so a module can answer with server-sent events or large files.
 */
export async function sendWebResponse(res: ServerResponse, headers: HeaderMap, response: Response): Promise<void> {
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (response.status >= 500) headers['x-ms-run-function-failed'] = 'True';
  else headers['x-ms-run-function-failed'] ??= 'False';
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), res);
}

/** A web Response from this realm or another (a module may bring its own undici). */
export function isWebResponse(value: unknown): value is Response {
  if (value instanceof Response) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { status?: unknown; headers?: { forEach?: unknown }; arrayBuffer?: unknown };
  return typeof candidate.status === 'number' && typeof candidate.headers?.forEach === 'function' && typeof candidate.arrayBuffer === 'function' && 'body' in candidate;
}
