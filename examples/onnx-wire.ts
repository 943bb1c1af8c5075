/**
 * Reading and re-assembling protobuf wire format, for the examples that edit an exported
 * ONNX model in place (image/onnx-batch-dim.ts, audio/onnx-constant-input.ts): a message is
 * split into its fields, each kept as the bytes it came in, so a field an edit does not
 * touch (the weights, the nodes) is copied byte for byte into the new model.
 */
import * as protobuf from 'protobufjs';

/** Protobuf wire types (the low three bits of a field's tag). */
export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;

/** Output assembled as a list of chunks: unchanged fields are views into the input. */
export class Chunks {
  private readonly parts: Uint8Array[] = [];
  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    return this;
  }
  /** A length-delimited field: its tag and length (protobufjs writes them), then the payload as it is. */
  bytes(number: number, payload: Uint8Array): this {
    this.parts.push(protobuf.Writer.create().uint32(number * 8 + WireType.LENGTH_DELIMITED).uint32(payload.length).finish(), payload);
    return this;
  }
  finish(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

export interface Field {
  number: number;
  wireType: number;
  /** The whole field, tag included, to copy it unchanged. */
  raw: Uint8Array;
  /** A length-delimited field's payload; for others, empty. */
  payload: Uint8Array;
}

/** The fields of one message, in order, read with protobufjs's Reader; `who` starts the message of any error. */
export function readFields(bytes: Uint8Array, who: string): Field[] {
  const fields: Field[] = [];
  const reader = protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      const [number, wireType] = [tag >>> 3, tag & 7];
      let payload: Uint8Array = new Uint8Array(0);
      if (wireType === WireType.LENGTH_DELIMITED) {
        const length = reader.uint32();
        if (reader.pos + length > reader.len) throw new RangeError('a length-delimited field runs past the end');
        payload = bytes.subarray(reader.pos, reader.pos + length);
        reader.pos += length;
      } else {
        reader.skipType(wireType);
      }
      fields.push({ number, wireType, raw: bytes.subarray(start, reader.pos), payload });
    }
  } catch (err) {
    throw new Error(`${who}: malformed protobuf (${(err as Error).message})`, { cause: err });
  }
  return fields;
}

/** A ValueInfoProto's name (field 1). */
export function valueInfoName(valueInfo: Uint8Array, who: string): string {
  const field = readFields(valueInfo, who).find((f) => f.number === 1);
  return field === undefined ? '' : new TextDecoder().decode(field.payload);
}
