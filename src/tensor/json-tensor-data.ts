/**
 * Tensor contents in KServe v2 JSON: `data` is a row-major array, flat or nested, of
 * booleans (BOOL), numbers (integers and floats) or strings (BYTES, UTF-8).
 */
import { InvalidArgumentError } from '../errors';
import { DataType, INTEGER_RANGES, NumericTypedArray, TensorData, allocateTypedArray, dataTypeInfo } from './datatypes';
import { EMPTY_BYTES, describe, hasLoneSurrogate } from './json-byte-reader';
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBFloat16Bits, float32ToFloat16Bits } from './half-float';


/**
 * Flattens nested arrays into `out`, row-major; anything that is not an array is an element.
 * Iterative, so data nested deeper than the call stack allows (from a server, or a caller)
 * flattens instead of throwing a RangeError.
 */
export function flattenNested(value: unknown, out: unknown[], limit = Infinity): void {
  if (!Array.isArray(value)) {
    out.push(value);
    return;
  }
  const arrays: unknown[][] = [value];
  const positions: number[] = [0];
  while (arrays.length > 0) {
    const top = arrays.length - 1;
    const array = arrays[top]!;
    const i = positions[top]!;
    if (i === array.length) {
      arrays.pop();
      positions.pop();
      continue;
    }
    positions[top] = i + 1;
    // .at(), not array[i]: this one read sees arrays of arrays and arrays of numbers, and V8
    // optimizes such an indexed read into converting the caller's unboxed number arrays to
    // boxed elements (a heap number per element, on every call).
    const item: unknown = array.at(i);
    if (Array.isArray(item)) {
      arrays.push(item);
      positions.push(0);
    } else {
      out.push(item);
      // Past `limit` the answer is "too many": no need to copy the rest of a hostile array.
      if (out.length > limit) return;
    }
  }
}


/**
 * Decodes JSON `data` into typed contents, checking that there are exactly `count`
 * elements and that each fits the datatype. `what` names the tensor in messages.
 */
export function tensorDataFromJson(datatype: DataType, count: number, data: unknown, what: string): TensorData {
  if (!Array.isArray(data)) {
    throw new InvalidArgumentError(`${what}: 'data' must be an array, got ${describe(data)}`);
  }
  const flat: unknown[] = [];
  flattenNested(data, flat, count);
  if (flat.length > count) {
    throw new InvalidArgumentError(`${what}: 'data' holds more than the ${count} elements the shape needs`);
  }
  if (flat.length !== count) {
    throw new InvalidArgumentError(`${what}: 'data' holds ${flat.length} elements but the shape needs ${count}`);
  }
  const bad = (i: number, expected: string): never => {
    throw new InvalidArgumentError(`${what}: element ${i} of 'data' must be ${expected} for ${datatype}, got ${describe(flat[i])}`);
  };
  if (datatype === 'BYTES') {
    // Zero-length elements share one array: a million "" would otherwise be a million objects.
    return flat.map((v, i) => {
      if (typeof v !== 'string') return bad(i, 'a string');
      if (v === '') return EMPTY_BYTES;
      if (hasLoneSurrogate(v)) {
        throw new InvalidArgumentError(`${what}: element ${i} of 'data' holds a lone UTF-16 surrogate, which UTF-8 cannot carry (it would reach the model as U+FFFD); send well-formed text`);
      }
      return Buffer.from(v, 'utf8');
    });
  }
  const out = allocateTypedArray(datatype, count);
  if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) {
      const v = flat[i];
      out[i] = typeof v === 'boolean' ? (v ? 1 : 0) : bad(i, 'true or false');
    }
    return out;
  }
  const info = dataTypeInfo(datatype);
  if (info.isFloat) {
    const toBits = datatype === 'FP16' ? float32ToFloat16Bits : datatype === 'BF16' ? float32ToBFloat16Bits : undefined;
    for (let i = 0; i < count; i++) {
      const v = flat[i];
      if (typeof v !== 'number') bad(i, 'a number');
      out[i] = toBits ? toBits(v as number) : (v as number);
    }
    return out;
  }
  const [min, max] = INTEGER_RANGES[datatype]!;
  for (let i = 0; i < count; i++) {
    const v = flat[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(i, `an integer in [${min}, ${max}]`);
    out[i] = info.isBigInt ? BigInt(v as number) : (v as number);
  }
  return out;
}

/**
 * The JSON text of a flat `data` array. Built as text rather than through JSON.stringify
 * so 64-bit integers print exactly and half floats print as numbers.
 */
export function tensorDataJsonText(datatype: DataType, data: TensorData): string {
  if (datatype === 'BYTES') {
    return JSON.stringify((data as Uint8Array[]).map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('utf8')));
  }
  const arr = data as NumericTypedArray;
  if (datatype === 'BOOL') {
    const parts = new Array<string>(arr.length);
    for (let i = 0; i < arr.length; i++) parts[i] = arr[i] ? 'true' : 'false';
    return `[${parts.join(',')}]`;
  }
  if (datatype === 'FP16' || datatype === 'BF16') {
    const toFloat = datatype === 'FP16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
    return JSON.stringify(Array.from(arr as Uint16Array, toFloat));
  }
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    return `[${Array.from(arr, (v) => v.toString()).join(',')}]`;
  }
  // JSON.stringify writes NaN/Infinity as null, which is what JSON can carry.
  return JSON.stringify(Array.from(arr as Float32Array));
}

/** Parsed JSON elements of a tensor (for callers that want values, not text). */
export function tensorDataToJsonValues(datatype: DataType, data: TensorData): unknown[] {
  return JSON.parse(tensorDataJsonText(datatype, data)) as unknown[];
}
