/**
 * BYTES tensors on the wire (binary extension) and in raw_input_contents: each element is a
 * 4-byte little-endian length followed by that many bytes, elements back to back.
 */
import { MalformedRequestError } from '../errors';

export function encodeBytesElements(elements: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const e of elements) {
    out.writeUInt32LE(e.byteLength, offset);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}

/**
 * Splits length-prefixed elements. `expectedCount`, when given, must match exactly: a
 * count that disagrees with the tensor's shape is the caller's error, not ours to guess.
 * Elements are views into `bytes` (no copy).
 */
export function decodeBytesElements(bytes: Uint8Array, expectedCount: number | undefined, what: string): Uint8Array[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < view.length) {
    if (offset + 4 > view.length) {
      throw new MalformedRequestError(`${what}: BYTES data ends inside an element's 4-byte length prefix`);
    }
    const len = view.readUInt32LE(offset);
    offset += 4;
    if (offset + len > view.length) {
      throw new MalformedRequestError(
        `${what}: BYTES element ${elements.length} declares ${len} bytes but only ${view.length - offset} remain`,
      );
    }
    elements.push(view.subarray(offset, offset + len));
    offset += len;
  }
  if (expectedCount !== undefined && elements.length !== expectedCount) {
    throw new MalformedRequestError(
      `${what}: BYTES data holds ${elements.length} elements but the shape needs ${expectedCount}`,
    );
  }
  return elements;
}
