/**
 * Tensor contents as raw little-endian bytes: the binary tensor data extension and gRPC's
 * raw_*_contents both carry tensors this way. The machines we run on are little-endian,
 * so typed arrays are views of the same bytes.
 */
import { MalformedRequestError } from '../errors';
import { decodeBytesElements, encodeBytesElements } from './bytes-elements';
import { DataType, NumericTypedArray, TensorData, dataTypeInfo } from './datatypes';

/**
 * Interprets `bytes` as `count` elements of `datatype`. Numeric data is viewed in place when
 * it is aligned for its element size and copied otherwise (a Buffer slice of a request body
 * may start at any offset). `what` names the tensor in error messages.
 */
export function tensorDataFromRaw(datatype: DataType, count: number, bytes: Uint8Array, what: string): TensorData {
  const info = dataTypeInfo(datatype);
  if (datatype === 'BYTES') return decodeBytesElements(bytes, count, what);
  const ctor = info.arrayType!;
  const expected = count * info.byteSize;
  if (bytes.byteLength !== expected) {
    throw new MalformedRequestError(
      `${what}: expected ${expected} bytes of binary data for ${count} ${datatype} elements, got ${bytes.byteLength}`,
    );
  }
  if (bytes.byteOffset % info.byteSize === 0) {
    return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count);
  }
  const copy = new Uint8Array(expected);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, count);
}

/** The raw bytes of tensor contents (a view, not a copy, for numeric data). */
export function tensorDataToRaw(datatype: DataType, data: TensorData): Uint8Array {
  if (datatype === 'BYTES') return encodeBytesElements(data as Uint8Array[]);
  const arr = data as NumericTypedArray;
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Byte length tensorDataToRaw would produce, without producing it. */
export function rawByteLength(datatype: DataType, data: TensorData): number {
  if (datatype === 'BYTES') {
    let n = 0;
    for (const e of data as Uint8Array[]) n += 4 + e.byteLength;
    return n;
  }
  return (data as NumericTypedArray).byteLength;
}
