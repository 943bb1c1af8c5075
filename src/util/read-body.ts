import type { IncomingMessage } from 'node:http';
import { MalformedRequestError, PayloadTooLargeError } from '../errors';

/**
 * Reads a request body into one Buffer by hand (no body-parser middleware: see "Measurements
 * behind design choices" in bench/README.md). Refuses with PayloadTooLargeError before reading when Content-Length is
 * over `limit`, and as soon as the bytes received pass it otherwise; the rest of the body
 * is then discarded, not buffered.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // With a Content-Length (Node's parser holds the body to it), chunks are copied into one
    // buffer as they come, so a large body is in memory once, not twice (chunks + concat).
    const expected = declared === undefined ? NaN : Number(declared);
    const whole = Number.isSafeInteger(expected) && expected > 64 * 1024 ? Buffer.allocUnsafe(expected) : undefined;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      if (whole !== undefined && size + chunk.length <= whole.length) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        reject(tooLarge(limit));
      }
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      if (whole !== undefined && chunks.length === 0) resolve(whole.subarray(0, size));
      else if (whole !== undefined) resolve(Buffer.concat([whole.subarray(0, size - chunks.reduce((a, c) => a + c.length, 0)), ...chunks], size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new MalformedRequestError(`failed to read the request body: ${err.message}`, { cause: err }));
    });
  });
}

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`Request body exceeds the limit of ${limit} bytes`);
}
