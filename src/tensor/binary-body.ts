/**
 * Framing of the binary tensor data extension: a JSON header of
 * `Inference-Header-Content-Length` bytes, then the binary tensors back to back in the
 * order their JSON entries list them (only those whose parameters carry `binary_data_size`).
 * Shared by the engine (decoding requests, encoding responses) and the client (the reverse).
 */
import { MalformedRequestError } from '../errors';

export interface SplitBody {
  /** Parsed JSON header. */
  json: unknown;
  /** Everything after the header. */
  binary: Buffer;
}

/**
 * Splits a body into its JSON header and binary part. `headerLength` is the raw header value
 * (undefined when absent: the whole body is JSON).
 */
export function splitInferenceBody(body: Buffer, headerLength: string | undefined): SplitBody {
  const jsonLength = inferenceJsonLength(body, headerLength);
  const text = body.toString('utf8', 0, jsonLength);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new MalformedRequestError(`failed to parse the request JSON: ${(err as Error).message}`, { cause: err });
  }
  return { json, binary: body.subarray(jsonLength) };
}

/** How many of the body's bytes are its JSON header (checks the header's value against the body). */
export function inferenceJsonLength(body: Buffer, headerLength: string | undefined): number {
  let jsonLength = body.length;
  if (headerLength !== undefined) {
    const n = /^\s*\d+\s*$/.test(headerLength) ? Number(headerLength) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new MalformedRequestError(`Inference-Header-Content-Length must be a non-negative integer, got '${headerLength}'`);
    }
    if (n > body.length) {
      throw new MalformedRequestError(
        `Inference-Header-Content-Length is ${n} but the body has only ${body.length} bytes`,
      );
    }
    jsonLength = n;
  }
  return jsonLength;
}

interface BinaryCarrier {
  name: string;
  parameters?: { binary_data_size?: unknown } & Record<string, unknown>;
}

/**
 * Hands each tensor that declares `binary_data_size` its slice of `binary`, in order.
 * The sizes must account for the binary part exactly: bytes left over or missing mean the
 * header and the body disagree, and guessing would hand a tensor someone else's bytes.
 */
export function sliceBinaryTensors(tensors: readonly BinaryCarrier[], binary: Buffer, kind: string): Map<string, Buffer> {
  const slices = new Map<string, Buffer>();
  let offset = 0;
  for (const t of tensors) {
    const size = t.parameters?.binary_data_size;
    if (size === undefined) continue;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new MalformedRequestError(`${kind} '${t.name}': binary_data_size must be a non-negative integer`);
    }
    if (offset + size > binary.length) {
      throw new MalformedRequestError(
        `${kind} '${t.name}': binary_data_size ${size} runs past the end of the body (${binary.length - offset} bytes left)`,
      );
    }
    slices.set(t.name, binary.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== binary.length) {
    throw new MalformedRequestError(
      `the body has ${binary.length - offset} bytes of binary data that no ${kind} claims with binary_data_size`,
    );
  }
  return slices;
}

/**
 * Builds a body from a JSON header and binary chunks. Returns the pieces (to write without
 * concatenating large tensors) and the header length to send.
 */
export function joinInferenceBody(json: string, chunks: readonly Uint8Array[]): { parts: Buffer[]; headerLength: number; byteLength: number } {
  const header = Buffer.from(json, 'utf8');
  const parts: Buffer[] = [header];
  let byteLength = header.length;
  for (const c of chunks) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    parts.push(b);
    byteLength += b.length;
  }
  return { parts, headerLength: header.length, byteLength };
}
