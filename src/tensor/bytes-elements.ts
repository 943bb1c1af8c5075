/**
 * BYTES tensors on the wire (binary extension) and in raw_input_contents: each element is a
 * 4-byte little-endian length followed by that many bytes, elements back to back.
 */
import { InvalidArgumentError, MalformedRequestError } from '../errors';

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
 * BYTES elements one request may carry (all its BYTES inputs together). Each element becomes
 * its own object here and a string in onnxruntime, so the count, not the byte size, is what
 * a request of many tiny elements costs; servers refuse a request over it before decoding.
 */
export const MAX_BYTES_ELEMENTS = 131_072;

/** What a request's BYTES inputs have claimed of MAX_BYTES_ELEMENTS so far. */
export interface BytesElementBudget {
  bytesElements: number;
}

/**
 * Claims a BYTES input's elements, from its declared shape and before any is decoded;
 * refuses the input that brings the request past MAX_BYTES_ELEMENTS. HTTP and gRPC alike.
 */
export function claimBytesElements(budget: BytesElementBudget, shape: readonly number[] | undefined, count: number, what: string): void {
  budget.bytesElements += count;
  if (budget.bytesElements > MAX_BYTES_ELEMENTS) {
    const holds = shape === undefined ? `its ${count} BYTES elements bring` : `shape [${shape.join(',')}] holds ${count} BYTES elements, which brings`;
    throw new InvalidArgumentError(`${what}: ${holds} the request past the limit of ${MAX_BYTES_ELEMENTS} BYTES elements`);
  }
}

/** Every zero-length element shares this view: a flood of them costs an array slot each. */
const EMPTY_ELEMENT = Buffer.alloc(0);

/**
 * Splits length-prefixed elements. `expectedCount`, when given, must match exactly: a
 * count that disagrees with the tensor's shape is the caller's error, not ours to guess.
 * With a count, the work is bounded by it: data too short to hold that many 4-byte
 * prefixes is refused unread, and decoding stops at the first element past the count.
 * Elements are views into `bytes` (no copy).
 */
export function decodeBytesElements(bytes: Uint8Array, expectedCount: number | undefined, what: string): Uint8Array[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (expectedCount !== undefined && expectedCount * 4 > view.length) {
    throw new MalformedRequestError(
      `${what}: BYTES data of ${view.length} bytes cannot hold the ${expectedCount} elements the shape needs (4 bytes of length prefix each)`,
    );
  }
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < view.length) {
    if (elements.length === expectedCount) {
      throw new MalformedRequestError(`${what}: BYTES data holds more than the ${expectedCount} elements the shape needs`);
    }
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
    elements.push(len === 0 ? EMPTY_ELEMENT : view.subarray(offset, offset + len));
    offset += len;
  }
  if (expectedCount !== undefined && elements.length !== expectedCount) {
    throw new MalformedRequestError(
      `${what}: BYTES data holds ${elements.length} elements but the shape needs ${expectedCount}`,
    );
  }
  return elements;
}
