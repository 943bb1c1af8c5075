/**
 * The KServe v2 tensor datatypes and everything derived from them: element sizes, the
 * typed array that holds each one in memory, the model-config (`TYPE_*`) names and the
 * onnxruntime tensor type names. One table, so the client, the engine and the backend
 * can never disagree about a datatype.
 */

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'BF16',
] as const;

export type DataType = (typeof DATATYPES)[number];

export type NumericTypedArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/**
 * In-memory tensor contents. Numeric types use their typed array; BOOL is a Uint8Array of
 * 0/1; FP16 and BF16 are their raw 16-bit patterns in a Uint16Array (JavaScript has no
 * half floats on Node 20); BYTES is one Uint8Array per element.
 */
export type TensorData = NumericTypedArray | Uint8Array[];

/** A tensor with its name, as requests and responses carry them. */
export interface NamedTensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export interface DataTypeInfo {
  /** KServe name, e.g. FP32. */
  readonly datatype: DataType;
  /** model_config.proto DataType name, e.g. TYPE_FP32. */
  readonly configType: string;
  /** onnxruntime-node Tensor.Type, e.g. float32; undefined where ORT has none. */
  readonly onnxType: string | undefined;
  /** Bytes per element; 0 for BYTES (variable). */
  readonly byteSize: number;
  /** Holder for the elements; undefined for BYTES. */
  readonly arrayType: TypedArrayConstructor | undefined;
  /** Elements are bigint in JavaScript (64-bit integers). */
  readonly isBigInt: boolean;
  /** Elements are floating point in JSON (FP16/BF16 included). */
  readonly isFloat: boolean;
}

function info(
  datatype: DataType,
  configType: string,
  onnxType: string | undefined,
  byteSize: number,
  arrayType: TypedArrayConstructor | undefined,
  flags: { isBigInt?: boolean; isFloat?: boolean } = {},
): DataTypeInfo {
  return { datatype, configType, onnxType, byteSize, arrayType, isBigInt: !!flags.isBigInt, isFloat: !!flags.isFloat };
}

const TABLE: Record<DataType, DataTypeInfo> = {
  BOOL: info('BOOL', 'TYPE_BOOL', 'bool', 1, Uint8Array),
  UINT8: info('UINT8', 'TYPE_UINT8', 'uint8', 1, Uint8Array),
  UINT16: info('UINT16', 'TYPE_UINT16', 'uint16', 2, Uint16Array),
  UINT32: info('UINT32', 'TYPE_UINT32', 'uint32', 4, Uint32Array),
  UINT64: info('UINT64', 'TYPE_UINT64', 'uint64', 8, BigUint64Array, { isBigInt: true }),
  INT8: info('INT8', 'TYPE_INT8', 'int8', 1, Int8Array),
  INT16: info('INT16', 'TYPE_INT16', 'int16', 2, Int16Array),
  INT32: info('INT32', 'TYPE_INT32', 'int32', 4, Int32Array),
  INT64: info('INT64', 'TYPE_INT64', 'int64', 8, BigInt64Array, { isBigInt: true }),
  FP16: info('FP16', 'TYPE_FP16', 'float16', 2, Uint16Array, { isFloat: true }),
  FP32: info('FP32', 'TYPE_FP32', 'float32', 4, Float32Array, { isFloat: true }),
  FP64: info('FP64', 'TYPE_FP64', 'float64', 8, Float64Array, { isFloat: true }),
  BYTES: info('BYTES', 'TYPE_STRING', 'string', 0, undefined),
  BF16: info('BF16', 'TYPE_BF16', undefined, 2, Uint16Array, { isFloat: true }),
};

const BY_CONFIG_TYPE = new Map(Object.values(TABLE).map((i) => [i.configType, i]));
const BY_ONNX_TYPE = new Map(
  Object.values(TABLE)
    .filter((i) => i.onnxType !== undefined)
    .map((i) => [i.onnxType as string, i]),
);

export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(TABLE, value);
}

export function dataTypeInfo(datatype: DataType): DataTypeInfo {
  return TABLE[datatype];
}

/** `TYPE_FP32` → `FP32`; undefined for an unknown name (TYPE_INVALID included). */
export function dataTypeFromConfigType(configType: string): DataType | undefined {
  return BY_CONFIG_TYPE.get(configType)?.datatype;
}

/** `FP32` → `TYPE_FP32`. */
export function configTypeFromDataType(datatype: DataType): string {
  return TABLE[datatype].configType;
}

/** onnxruntime's `float32` → `FP32`; undefined for types KServe cannot carry. */
export function dataTypeFromOnnxType(onnxType: string): DataType | undefined {
  return BY_ONNX_TYPE.get(onnxType)?.datatype;
}

/** Product of the dims; 1 for a scalar (empty shape). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A typed array of `count` zeroed elements for a fixed-size datatype. */
export function allocateTypedArray(datatype: DataType, count: number): NumericTypedArray {
  const ctor = TABLE[datatype].arrayType;
  if (!ctor) throw new TypeError(`datatype ${datatype} has no fixed-size representation`);
  return new ctor(count);
}

/** The typed-array class that holds a datatype, for instanceof checks. */
export function typedArrayConstructor(datatype: DataType): TypedArrayConstructor | undefined {
  return TABLE[datatype].arrayType;
}

/**
 * The integers a JSON number may hold for each integer datatype: the type's range, cut to
 * the safe integers for the 64-bit types (a JSON number is a double; beyond 2^53 it is not exact).
 */
export const INTEGER_RANGES: Partial<Record<DataType, [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
