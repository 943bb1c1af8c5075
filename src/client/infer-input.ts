/**
 * One input tensor of an inference request: tritonclient.http's InferInput. `setData` takes
 * the typed array of the datatype (or a plain array it converts) and, as tritonclient does,
 * sends it as binary data after the JSON header unless `binaryData: false` asks for JSON.
 */
import { InvalidArgumentError } from '../errors';
import {
  DATATYPES,
  DataType,
  NumericTypedArray,
  TensorData,
  allocateTypedArray,
  dataTypeInfo,
  elementCount,
  flattenNested,
  float32ToBFloat16Bits,
  float32ToFloat16Bits,
  isDataType,
  rawByteLength,
  tensorDataFromJson,
  tensorDataJsonText,
  tensorDataToRaw,
} from '../tensor';

/** What `setData` accepts: the datatype's typed array, a (nested) plain array, or BYTES elements. */
export type InferInputData =
  | NumericTypedArray
  | readonly unknown[] // numbers, booleans, bigints, strings, Uint8Arrays, nested arrays of them
  | readonly string[]
  | readonly Uint8Array[];

export interface SetDataOptions {
  /** Send the tensor as binary data after the JSON header (default) or inside the JSON. */
  binaryData?: boolean;
}

/** The wire form of this input, ready for the request builder. */
export interface SerializedInput {
  /** JSON text of the input object (data included when sent as JSON). */
  json: string;
  /** Bytes that follow the JSON header, when sent as binary. */
  binary: Uint8Array | undefined;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function checkShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidArgumentError(`${what}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

export class InferInput {
  readonly name: string;
  readonly datatype: DataType;
  private _shape: number[];
  private data: TensorData | undefined;
  private binary = true;

  constructor(name: string, shape: readonly number[], datatype: DataType) {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(`InferInput: name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    if (!isDataType(datatype)) {
      throw new InvalidArgumentError(`input '${name}': datatype must be one of ${DATATYPES.join(', ')}, got ${JSON.stringify(datatype)}`);
    }
    this.name = name;
    this.datatype = datatype;
    this._shape = checkShape(shape, `input '${name}'`);
  }

  get shape(): number[] {
    return [...this._shape];
  }

  /** Changes the shape (tritonclient's set_shape); data already set must still fit it when sent. */
  setShape(shape: readonly number[]): this {
    this._shape = checkShape(shape, `input '${this.name}'`);
    return this;
  }

  /**
   * Sets the tensor contents, row-major. Per datatype:
   * - numeric: the matching typed array (Float32Array for FP32, BigInt64Array for INT64, ...)
   *   or a plain (possibly nested) array of numbers; INT64/UINT64 also take bigints;
   * - BOOL: a Uint8Array of 0/1 or an array of booleans;
   * - FP16/BF16: a Uint16Array of 16-bit patterns, or a Float32Array / array of numbers to round;
   * - BYTES: strings (sent as UTF-8) and/or Uint8Arrays (Buffers), one per element.
   */
  setData(data: InferInputData, options: SetDataOptions = {}): this {
    const binaryData = options.binaryData ?? true;
    if (typeof binaryData !== 'boolean') {
      throw new InvalidArgumentError(`input '${this.name}': option 'binaryData' must be a boolean`);
    }
    if (!binaryData && this.datatype === 'BF16') {
      // As tritonclient: JSON has no BF16 representation that servers agree on.
      throw new InvalidArgumentError(`input '${this.name}': BF16 inputs must be sent as binary data; set binaryData: true`);
    }
    const contents = this.toTensorData(data);
    if (!binaryData && this.datatype === 'BYTES') {
      (contents as Uint8Array[]).forEach((e, i) => {
        try {
          utf8Strict.decode(e);
        } catch {
          throw new InvalidArgumentError(
            `input '${this.name}': element ${i} is not valid UTF-8 and JSON cannot carry it; use binaryData: true to send bytes`,
          );
        }
      });
    }
    this.data = contents;
    this.binary = binaryData;
    return this;
  }

  /** @internal The contents as set (undefined before setData), for merging concurrent calls. */
  get contents(): TensorData | undefined {
    return this.data;
  }

  /** @internal Whether the contents go as binary data after the JSON header. */
  get sentAsBinary(): boolean {
    return this.binary;
  }

  /** Number of bytes this input adds after the JSON header (0 when sent as JSON or unset). */
  get binaryByteLength(): number {
    return this.data !== undefined && this.binary ? rawByteLength(this.datatype, this.data) : 0;
  }

  /** @internal Wire form; checks that the data fits the current shape. */
  serialize(): SerializedInput {
    const what = `input '${this.name}'`;
    if (this.data === undefined) throw new InvalidArgumentError(`${what} has no data; call setData() before infer()`);
    const expected = elementCount(this._shape);
    if (this.data.length !== expected) {
      throw new InvalidArgumentError(`${what}: data has ${this.data.length} elements but shape [${this._shape}] needs ${expected}`);
    }
    const head = `{"name":${JSON.stringify(this.name)},"shape":${JSON.stringify(this._shape)},"datatype":"${this.datatype}"`;
    if (this.binary) {
      const binary = tensorDataToRaw(this.datatype, this.data);
      return { json: `${head},"parameters":{"binary_data_size":${binary.byteLength}}}`, binary };
    }
    return { json: `${head},"data":${tensorDataJsonText(this.datatype, this.data)}}`, binary: undefined };
  }

  private toTensorData(data: unknown): TensorData {
    const what = `input '${this.name}'`;
    const datatype = this.datatype;
    const info = dataTypeInfo(datatype);
    if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
      if (datatype === 'BYTES') {
        throw new InvalidArgumentError(`${what}: BYTES data must be an array of strings or Uint8Arrays, one per element`);
      }
      if (data instanceof info.arrayType!) return data as NumericTypedArray;
      if ((datatype === 'FP16' || datatype === 'BF16') && data instanceof Float32Array) {
        const toBits = datatype === 'FP16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
        return Uint16Array.from(data, toBits);
      }
      const extra = datatype === 'FP16' || datatype === 'BF16' ? ' of 16-bit patterns, or a Float32Array' : '';
      throw new InvalidArgumentError(`${what}: got ${data.constructor.name} for ${datatype}; expected ${info.arrayType!.name}${extra}`);
    }
    if (!Array.isArray(data)) {
      throw new InvalidArgumentError(`${what}: data must be a typed array or an array, got ${data === null ? 'null' : typeof data}`);
    }
    const flat: unknown[] = [];
    flattenNested(data, flat);
    if (datatype === 'BYTES') {
      return flat.map((v, i) => {
        if (typeof v === 'string') return Buffer.from(v, 'utf8');
        if (v instanceof Uint8Array) return v;
        throw new InvalidArgumentError(`${what}: BYTES element ${i} must be a string or a Uint8Array, got ${typeof v}`);
      });
    }
    if (info.isBigInt && flat.some((v) => typeof v === 'bigint')) return this.bigIntData(flat);
    // Plain values follow the JSON rules (ranges, integers, booleans for BOOL); reuse them.
    return tensorDataFromJson(datatype, flat.length, flat, what);
  }

  private bigIntData(flat: unknown[]): NumericTypedArray {
    const out = allocateTypedArray(this.datatype, flat.length) as BigInt64Array | BigUint64Array;
    const [min, max] = this.datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    flat.forEach((v, i) => {
      const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
      if (b === undefined || b < min || b > max) {
        throw new InvalidArgumentError(
          `input '${this.name}': element ${i} must be an integer in [${min}, ${max}] for ${this.datatype}, got ${String(v)}`,
        );
      }
      out[i] = b;
    });
    return out;
  }
}
