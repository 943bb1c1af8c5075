import type { IncomingMessage } from 'node:http';
import { MalformedRequestError, PayloadTooLargeError } from '../../errors';

/**
 * Reads a request body into one Buffer, refusing (413) before reading when Content-Length
 * is over `limit` and as soon as the bytes received pass it otherwise.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      reject(new PayloadTooLargeError(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(new MalformedRequestError(`failed to read the request body: ${err.message}`, { cause: err }));
      }
    });
  });
}
