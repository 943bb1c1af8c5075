/**
 * A minimal protobuf wire-format encoder: just what ONNX models need (varint, fixed32/64,
 * length-delimited and packed repeated fields). Written by hand so the project can make
 * its own test and example models without a protobuf library.
 *
 * Fields are written in the order the caller writes them, so the same calls always give
 * the same bytes. Nested messages are appended as chunk lists, not copied, so a model
 * with tens of megabytes of weights is assembled once, in `finish()`.
 */

/** Protobuf wire types (the low three bits of a field's tag). */
export const WireType = {
  VARINT: 0,
  FIXED64: 1,
  LENGTH_DELIMITED: 2,
  FIXED32: 5,
} as const;

const UINT64_LIMIT = 1n << 64n;
const INT64_MIN = -(1n << 63n);

export class ProtobufWriter {
  /** Finished chunks, in order; `pending` holds the small writes since the last flush. */
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private flushedLength = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.flushedLength + this.pending.length;
  }

  /** int32, int64, uint32, uint64, bool or enum field. Negative values take ten bytes, as protobuf's int64 does. */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WireType.VARINT);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  /** float field (fixed32, little-endian IEEE 754). */
  float(field: number, value: number): this {
    this.tag(field, WireType.FIXED32);
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, value, true);
    this.rawBytes(new Uint8Array(view.buffer));
    return this;
  }

  /** double field (fixed64, little-endian IEEE 754). */
  double(field: number, value: number): this {
    this.tag(field, WireType.FIXED64);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value, true);
    this.rawBytes(new Uint8Array(view.buffer));
    return this;
  }

  /** fixed32 field (unsigned). */
  fixed32(field: number, value: number): this {
    this.tag(field, WireType.FIXED32);
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, value >>> 0, true);
    this.rawBytes(new Uint8Array(view.buffer));
    return this;
  }

  /** fixed64 field (unsigned). */
  fixed64(field: number, value: bigint | number): this {
    this.tag(field, WireType.FIXED64);
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    this.rawBytes(new Uint8Array(view.buffer));
    return this;
  }

  /** string field, UTF-8 encoded. */
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** bytes field. The bytes are referenced, not copied, until `finish()`. */
  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LENGTH_DELIMITED);
    this.rawVarint(value.byteLength);
    this.rawBytes(value);
    return this;
  }

  /** Embedded message field. `message` must not be written to afterwards. */
  message(field: number, message: ProtobufWriter): this {
    this.tag(field, WireType.LENGTH_DELIMITED);
    this.rawVarint(message.length);
    message.flush();
    this.flush();
    for (const chunk of message.chunks) this.pushChunk(chunk);
    return this;
  }

  /** Packed repeated varints (int32, int64, ...). Nothing is written for an empty list, as protobuf does. */
  packedVarints(field: number, values: ReadonlyArray<number | bigint>): this {
    if (values.length === 0) return this;
    const body = new ProtobufWriter();
    for (const v of values) body.rawVarint(v);
    return this.message(field, body);
  }

  /** Packed repeated floats (fixed32). */
  packedFloats(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const view = new DataView(new ArrayBuffer(values.length * 4));
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
    return this.bytes(field, new Uint8Array(view.buffer));
  }

  /** Packed repeated doubles (fixed64). */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const view = new DataView(new ArrayBuffer(values.length * 8));
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i], true);
    return this.bytes(field, new Uint8Array(view.buffer));
  }

  /** All bytes written, in one array. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushedLength);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }

  private tag(field: number, wireType: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new RangeError(`protobuf field number ${field} is out of range`);
    }
    // field * 8 instead of << 3: field numbers up to 2^29 - 1 overflow a 32-bit shift.
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint value ${value} is not a safe integer`);
      if (value >= 0) {
        // Division, not shifts: shifts truncate to 32 bits.
        while (value >= 0x80) {
          this.pending.push((value % 0x80) | 0x80);
          value = Math.floor(value / 0x80);
        }
        this.pending.push(value);
        return;
      }
      value = BigInt(value);
    }
    if (value < INT64_MIN || value >= UINT64_LIMIT) throw new RangeError(`varint value ${value} does not fit in 64 bits`);
    // Negative int64 values are written as their 64-bit two's complement (ten bytes).
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private rawBytes(bytes: Uint8Array): void {
    // Small values join the pending scratch; large ones become their own chunk (no copy).
    if (bytes.byteLength <= 64) {
      for (let i = 0; i < bytes.byteLength; i++) this.pending.push(bytes[i]);
      return;
    }
    this.flush();
    this.pushChunk(bytes);
  }

  private pushChunk(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.flushedLength += chunk.byteLength;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.pushChunk(Uint8Array.from(this.pending));
    this.pending = [];
  }
}
