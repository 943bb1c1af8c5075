/**
 * Joining requests into one batch along the first dimension, and splitting a batched
 * output back into per-request pieces. Pure functions: the scheduler has already made sure
 * that every request in a batch has the same non-batch dims (their shape keys match).
 */
import { DataType, NumericTypedArray, TensorData, allocateTypedArray } from '../../tensor/datatypes';

/** Concatenates per-request contents of one input into a fresh, whole buffer. */
export function concatRows(datatype: DataType, parts: readonly TensorData[]): TensorData {
  if (datatype === 'BYTES') return (parts as Uint8Array[][]).flat();
  let total = 0;
  for (const p of parts) total += (p as NumericTypedArray).length;
  const out = allocateTypedArray(datatype, total);
  let offset = 0;
  for (const p of parts) {
    (out as Float32Array).set(p as Float32Array, offset);
    offset += (p as NumericTypedArray).length;
  }
  return out;
}

/**
 * Splits a batched output of shape [sum(rows), ...rest] into one piece per request,
 * in order. Pieces are views of `data` (no copy), which stays owned by the response.
 */
export function splitRows(
  datatype: DataType,
  data: TensorData,
  shape: readonly number[],
  rowsPerRequest: readonly number[],
): Array<{ shape: number[]; data: TensorData }> {
  const totalRows = shape[0] ?? 0;
  const wanted = rowsPerRequest.reduce((a, b) => a + b, 0);
  if (totalRows !== wanted) {
    throw new Error(`batched output has ${totalRows} rows but the batch holds ${wanted}`);
  }
  const rest = shape.slice(1);
  const rowSize = rest.reduce((a, b) => a * b, 1);
  const pieces: Array<{ shape: number[]; data: TensorData }> = [];
  let row = 0;
  for (const rows of rowsPerRequest) {
    const start = row * rowSize;
    const end = (row + rows) * rowSize;
    const piece = datatype === 'BYTES' ? (data as Uint8Array[]).slice(start, end) : (data as NumericTypedArray).subarray(start, end);
    pieces.push({ shape: [rows, ...rest], data: piece });
    row += rows;
  }
  return pieces;
}
