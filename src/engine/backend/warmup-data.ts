/**
 * The contents of a warmup execution's input tensors, built inside the model instance's
 * thread (never on the engine's I/O thread): `zero_data` and `random_data` samples may ask
 * for large tensors, and an allocation that fails there fails that model's load (a
 * rejected warmup task) instead of stalling or crashing the thread that serves every model.
 */
import { DataType, dataTypeInfo } from '../../tensor/datatypes';
import { float32ToBFloat16Bits, float32ToFloat16Bits } from '../../tensor/half-float';

/** Where a warmup input's values come from. */
export type WarmupFill =
  | { kind: 'zero' }
  /** Valid values of the type: no NaN bit patterns for floats, 0/1 for BOOL. */
  | { kind: 'random' }
  /** One row's raw little-endian bytes (from input_data_file), repeated for every row. */
  | { kind: 'row'; bytes: Uint8Array }
  /** One row's BYTES elements (from input_data_file), repeated for every row. */
  | { kind: 'elements'; elements: Uint8Array[] };

/**
 * The tensor data for `elements` values of `datatype`: a typed array for fixed-size types,
 * strings for BYTES (onnxruntime's string tensors; zero and random data are empty strings,
 * as Triton feeds BYTES inputs from its zero buffer).
 */
export function buildWarmupData(datatype: DataType, elements: number, fill: WarmupFill): ArrayBufferView | string[] {
  if (datatype === 'BYTES') {
    if (fill.kind !== 'elements') return new Array<string>(elements).fill('');
    const row = fill.elements.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('utf8'));
    assertWholeRows(row.length, elements);
    const out = new Array<string>(elements);
    for (let i = 0; i < elements; i++) out[i] = row[i % row.length]!;
    return out;
  }
  const info = dataTypeInfo(datatype);
  const ctor = info.arrayType!;
  const bytes = new Uint8Array(elements * info.byteSize);
  if (fill.kind === 'random') randomFill(datatype, bytes, elements);
  else if (fill.kind === 'row') {
    assertWholeRows(fill.bytes.length, bytes.length);
    for (let at = 0; at < bytes.length; at += fill.bytes.length) bytes.set(fill.bytes, at);
  } else if (fill.kind === 'elements') {
    throw new TypeError(`BYTES elements cannot fill a ${datatype} input`);
  }
  return new ctor(bytes.buffer);
}

/** A row repeats to fill the tensor, so the tensor must hold a whole number of rows. */
function assertWholeRows(rowLength: number, total: number): void {
  if (rowLength === 0 ? total !== 0 : total % rowLength !== 0) {
    throw new RangeError(`warmup data of ${total} is not a whole number of rows of ${rowLength}`);
  }
}

function randomFill(datatype: DataType, out: Uint8Array, count: number): void {
  if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) out[i] = Math.random() < 0.5 ? 0 : 1;
  } else if (datatype === 'FP32' || datatype === 'FP64') {
    const values = datatype === 'FP32' ? new Float32Array(out.buffer) : new Float64Array(out.buffer);
    for (let i = 0; i < count; i++) values[i] = Math.random() * 2 - 1;
  } else if (datatype === 'FP16' || datatype === 'BF16') {
    const bits = new Uint16Array(out.buffer);
    const encode = datatype === 'FP16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
    for (let i = 0; i < count; i++) bits[i] = encode(Math.random() * 2 - 1);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(Math.random() * 256);
  }
}
