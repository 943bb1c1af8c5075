/**
 * HTTP content codings on the engine, as Triton's HTTP server and tritonclient.http use them:
 * a request body may come `Content-Encoding: gzip` or `deflate` (tritonclient's
 * `request_compression_algorithm`), and an inference response is compressed when the
 * request's `Accept-Encoding` asks for gzip or deflate (`response_compression_algorithm`).
 * `deflate` is the zlib format (RFC 1950), which is what HTTP means by it and what
 * tritonclient sends; a raw deflate stream, which some clients send instead, is accepted too.
 *
 * The body limit (--http-max-input-size) holds for the decompressed size as well: zlib stops
 * at the limit (`maxOutputLength`), so a small body that inflates to gigabytes costs at most
 * the limit in memory and gets 413. Decompression runs on libuv's thread pool, off the event
 * loop.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { InvalidArgumentError, PayloadTooLargeError } from '../../errors';

export type ContentCoding = 'gzip' | 'deflate';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** The request body as sent before its `Content-Encoding` (absent or identity: as is). */
export async function decodeContentEncoding(body: Buffer, header: string | string[] | undefined, limit: number): Promise<Buffer> {
  const coding = (Array.isArray(header) ? header.join(',') : header ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return body;
  if (coding !== 'gzip' && coding !== 'x-gzip' && coding !== 'deflate') {
    throw new InvalidArgumentError(`unsupported Content-Encoding '${coding}' (supported: gzip, deflate, identity)`);
  }
  const options = { maxOutputLength: limit };
  try {
    if (coding === 'deflate') {
      // zlib format first (RFC 1950); a raw stream fails its header check at once.
      return await inflate(body, options).catch((err: NodeJS.ErrnoException) =>
        err.code === 'Z_DATA_ERROR' ? inflateRaw(body, options) : Promise.reject(err),
      );
    }
    return await gunzip(body, options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes once decompressed (Content-Encoding: ${coding})`);
    }
    throw new InvalidArgumentError(`the request body is not valid ${coding === 'deflate' ? 'deflate' : 'gzip'} data (Content-Encoding: ${coding})`, { cause: err });
  }
}

/**
 * The coding to answer with for an `Accept-Encoding` header: gzip or deflate by their q
 * values (gzip on a tie, `*` standing for both), none when neither is acceptable.
 */
export function chooseResponseCoding(header: string | string[] | undefined): ContentCoding | undefined {
  if (header === undefined) return undefined;
  const weights = new Map<string, number>();
  for (const item of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [name, ...params] = item.trim().toLowerCase().split(';');
    if (!name) continue;
    let q = 1;
    for (const param of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param);
      if (m) q = Number(m[1]);
    }
    if (Number.isFinite(q)) weights.set(name, q);
  }
  const weight = (name: ContentCoding): number => weights.get(name) ?? weights.get('*') ?? 0;
  const best = weight('gzip') >= weight('deflate') ? 'gzip' : 'deflate';
  return weight(best) > 0 ? best : undefined;
}

/** Compresses a response body given as parts; returns the one compressed buffer. */
export function encodeContent(parts: readonly Buffer[], coding: ContentCoding): Promise<Buffer> {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return coding === 'gzip' ? gzip(body) : deflate(body);
}
