/**
 * ModelInferRequest messages written byte by byte, for the hostile-input tests: floods no
 * well-behaved encoder would build quickly (tens of millions of empty bytes_contents
 * entries), shaped exactly as the protocol's wire format says.
 */

export const varint = (value: number | bigint): Buffer => {
  const out: number[] = [];
  let n = BigInt(value);
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
};

/** A length-delimited field (wire type 2). */
export const lengthDelimited = (field: number, payload: Buffer): Buffer => Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);

const text = (field: number, s: string): Buffer => lengthDelimited(field, Buffer.from(s));

/** InferInputTensor: name (1), datatype (2), shape (3, packed), contents (5, already encoded). */
export function wireInput(name: string, datatype: string, shape: number[], contents?: Buffer): Buffer {
  return Buffer.concat([text(1, name), text(2, datatype), lengthDelimited(3, Buffer.concat(shape.map(varint))), ...(contents ? [lengthDelimited(5, contents)] : [])]);
}

/** ModelInferRequest: model_name (1), inputs (5), raw_input_contents (7). */
export function wireInferRequest(model: string, inputs: Buffer[], raw: Buffer[] = []): Buffer {
  return Buffer.concat([text(1, model), ...inputs.map((i) => lengthDelimited(5, i)), ...raw.map((r) => lengthDelimited(7, r))]);
}

/** InferTensorContents with `count` empty bytes_contents entries (field 8): two bytes each. */
export function emptyBytesContents(count: number): Buffer {
  const out = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) out[2 * i] = (8 << 3) | 2;
  return out;
}

/** InferTensorContents with `count` copies of `value` in int64_contents (field 3, packed). */
export function int64Contents(count: number, value: bigint): Buffer {
  const v = varint(value);
  const packed = Buffer.alloc(count * v.length);
  for (let i = 0; i < count; i++) v.copy(packed, i * v.length);
  return lengthDelimited(3, packed);
}
