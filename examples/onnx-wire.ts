/**
 * Reading and re-assembling protobuf wire format, for the examples that edit an exported
 * ONNX model in place (image/onnx-batch-dim.ts, audio/onnx-constant-input.ts): a message is
 * split into its fields, each kept as the bytes it came in, so a field an edit does not
 * touch (the weights, the nodes) is copied byte for byte into the new model.
 */
import { WireType } from '../src/onnx/protobuf-writer';

/** Output assembled as a list of chunks: unchanged fields are views into the input. */
export class Chunks {
  private readonly parts: Uint8Array[] = [];
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }
  /** A length-delimited field. */
  bytes(number: number, payload: Uint8Array): this {
    this.parts.push(encodeVarint(number * 8 + WireType.LENGTH_DELIMITED), encodeVarint(payload.length), payload);
    return this;
  }
  finish(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export function encodeVarint(value: number): Uint8Array {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Uint8Array.from(out);
}

export interface Field {
  number: number;
  wireType: number;
  /** The whole field, tag included, to copy it unchanged. */
  raw: Uint8Array;
  /** A length-delimited field's payload; for others, empty. */
  payload: Uint8Array;
}

/** The fields of one message, in order; `who` starts the message of any error. */
export function readFields(bytes: Uint8Array, who: string): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw new Error(`${who}: truncated protobuf varint`);
      const byte = bytes[pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  };
  while (pos < bytes.length) {
    const start = pos;
    const tag = varint();
    const [number, wireType] = [Math.floor(tag / 8), tag % 8];
    let payload: Uint8Array = new Uint8Array(0);
    switch (wireType) {
      case WireType.VARINT:
        varint();
        break;
      case WireType.FIXED64:
        pos += 8;
        break;
      case WireType.FIXED32:
        pos += 4;
        break;
      case WireType.LENGTH_DELIMITED: {
        const length = varint();
        payload = bytes.subarray(pos, pos + length);
        pos += length;
        break;
      }
      default:
        throw new Error(`${who}: unsupported protobuf wire type ${wireType}`);
    }
    if (pos > bytes.length) throw new Error(`${who}: truncated protobuf field`);
    fields.push({ number, wireType, raw: bytes.subarray(start, pos), payload });
  }
  return fields;
}

/** A ValueInfoProto's name (field 1). */
export function valueInfoName(valueInfo: Uint8Array, who: string): string {
  const field = readFields(valueInfo, who).find((f) => f.number === 1);
  return field === undefined ? '' : new TextDecoder().decode(field.payload);
}
