/**
 * Request wire bytes, checked before protobufjs decodes them. Decoding is where a hostile
 * message costs most: protobufjs turns each element of a repeated field into a JavaScript
 * value (a Buffer per bytes_contents entry, a Long and then a string per int64, an object
 * per map entry), so 64 MiB of two-byte empty entries becomes tens of millions of objects,
 * seconds of blocked event loop and gigabytes of heap before any handler can look at a
 * shape. These walks read only tags and lengths, stop as soon as a bound is passed, and
 * allocate nothing but the few strings they name in messages, so a refusal costs far less
 * than the decode it prevents. ModelInferRequest is walked in full (checkModelInferWire);
 * the other RPCs' requests only have their fields counted (checkRequestWire). *
 * Bounds (per request): MAX_CONTENTS_ELEMENTS typed-contents elements (every *_contents
 * field of every input together, bytes_contents included: send large tensors in
 * raw_input_contents, as Triton's clients do; raw BYTES elements are bounded in
 * grpc-infer-request.ts), MAX_WIRE_FIELDS fields besides contents elements (inputs, outputs,
 * parameters, raw_input_contents, shape dimensions, unknown fields), and no input's
 * contents may hold more elements than its shape needs.
 */
import { InvalidArgumentError } from '../../errors';

/**
 * Typed-contents elements per request (all inputs, all *_contents fields). protobufjs makes a
 * value per element (an int64 costs a Long and a string, then a BigInt here): the bound is
 * where the costliest, int64, still holds the event loop only briefly on a 2-core machine
 * (bench/README.md, "Measurements behind design choices").
 */
export const MAX_CONTENTS_ELEMENTS = 65_536;
/** Fields per request other than contents elements. */
export const MAX_WIRE_FIELDS = 65_536;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** InferTensorContents field numbers → element encoding when packed. */
const CONTENTS_FIELDS: Readonly<Record<number, { name: string; packedSize: number | 'varint' | undefined }>> = {
  1: { name: 'bool_contents', packedSize: 'varint' },
  2: { name: 'int_contents', packedSize: 'varint' },
  3: { name: 'int64_contents', packedSize: 'varint' },
  4: { name: 'uint_contents', packedSize: 'varint' },
  5: { name: 'uint64_contents', packedSize: 'varint' },
  6: { name: 'fp32_contents', packedSize: 4 },
  7: { name: 'fp64_contents', packedSize: 8 },
  8: { name: 'bytes_contents', packedSize: undefined },
};

class WireError extends Error {}

/**
 * What a deserializer hands on instead of a message it refused to decode. A deserializer
 * that throws makes grpc-js answer INTERNAL with no details (and end a stream), so the
 * refusal travels to the handler, which throws it (ModelInfer) or answers it on the
 * stream (ModelStreamInfer).
 */
export class RefusedMessage {
  constructor(
    readonly error: InvalidArgumentError,
    /** The request's id when it could be read from the wire ('' if not): a stream answers with it. */
    readonly id = '',
  ) {}
}

/** Top-level fields wireRequestId looks at: encoders write id (field 3) third, after the model's name and version. */
const ID_SCAN_FIELDS = 16;

/**
 * A ModelInferRequest's id (field 3) from its wire bytes without decoding the rest, or ''
 * when it is not among the first few fields or the bytes are malformed. Used to answer a
 * refused stream message with its request's id, as Triton does for any failed request.
 */
export function wireRequestId(buf: Uint8Array): string {
  const c = new Cursor(buf, 0, buf.byteLength);
  try {
    for (let i = 0; i < ID_SCAN_FIELDS && !c.done; i++) {
      const tag = c.varint();
      const span = c.skip(tag & 7);
      if (tag === ((3 << 3) | WIRE_LENGTH_DELIMITED)) return c.text(span, 1024);
    }
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
  }
  return '';
}

/** A cursor over protobuf wire bytes: tags, lengths and skips, nothing decoded. */
class Cursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number (exact below 2^53; larger values only ever exceed a bound). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** Skips a field's value; returns [start, end) of a length-delimited one. */
  skip(wireType: number): [number, number] {
    const start = this.pos;
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        break;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_LENGTH_DELIMITED: {
        const len = this.varint();
        const from = this.pos;
        this.pos += len;
        if (this.pos > this.end) throw new WireError('length-delimited field runs past its message');
        return [from, this.pos];
      }
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError('field runs past its message');
    return [start, this.pos];
  }

  text([from, to]: [number, number], max = 128): string {
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + from, Math.min(to - from, max)).toString('utf8');
    return to - from > max ? `${s}...` : s;
  }
}

/** Budgets shared by the whole request. */
interface Budget {
  fields: number;
  contents: number;
}

function countField(budget: Budget): void {
  if (++budget.fields > MAX_WIRE_FIELDS) {
    throw new InvalidArgumentError(
      `ModelInferRequest has more than ${MAX_WIRE_FIELDS} fields (inputs, outputs, parameters, raw_input_contents, shape dimensions together); ${MAX_WIRE_FIELDS} is the limit`,
    );
  }
}

/** Number of varints in buf[from, to): bytes without the continuation bit. */
function countVarints(buf: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (buf[i]! < 0x80) n++;
  return n;
}

/** Walks one InferInputTensor: its shape, and its contents' element counts against the bounds. */
function checkInput(c: Cursor, index: number, budget: Budget): void {
  let name = '';
  const counts = new Map<number, number>();
  // elementCount's rule: the product of the dimensions, 1 for a scalar (no dimensions).
  let shapeCount = 1;
  // Contents are counted after the walk, so the name is known wherever it came on the wire.
  const what = (): string => (name === '' ? `inputs[${index}]` : `input '${name}'`);
  const addElements = (field: number, n: number): void => {
    counts.set(field, (counts.get(field) ?? 0) + n);
    budget.contents += n;
    if (budget.contents > MAX_CONTENTS_ELEMENTS) {
      throw new InvalidArgumentError(
        `${what()}: contents.${CONTENTS_FIELDS[field]!.name} brings the request's typed contents past the limit of ${MAX_CONTENTS_ELEMENTS} elements; send large tensors in raw_input_contents`,
      );
    }
  };
  const contentsRanges: [number, number][] = [];
  while (!c.done) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    countField(budget);
    if (field === 1 && wireType === WIRE_LENGTH_DELIMITED) {
      name = c.text(c.skip(wireType));
    } else if (field === 3 && wireType === WIRE_VARINT) {
      shapeCount *= c.varint();
    } else if (field === 3 && wireType === WIRE_LENGTH_DELIMITED) {
      const [from, to] = c.skip(wireType);
      const dims = new Cursor(c.buf, from, to);
      while (!dims.done) {
        countField(budget);
        shapeCount *= dims.varint();
      }
    } else if (field === 5 && wireType === WIRE_LENGTH_DELIMITED) {
      contentsRanges.push(c.skip(wireType));
    } else {
      c.skip(wireType);
    }
  }
  for (const [from, to] of contentsRanges) {
    const contents = new Cursor(c.buf, from, to);
    while (!contents.done) {
      const tag = contents.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      const spec = CONTENTS_FIELDS[field];
      if (spec === undefined) {
        countField(budget);
        contents.skip(wireType);
      } else if (wireType === WIRE_LENGTH_DELIMITED && spec.packedSize !== undefined) {
        const [start, end] = contents.skip(wireType);
        const len = end - start;
        if (spec.packedSize === 'varint') {
          // At most 10 bytes a varint: when even that many elements is over the budget, refuse unread.
          addElements(field, Math.ceil(len / 10));
          addElements(field, Math.max(0, countVarints(c.buf, start, end) - Math.ceil(len / 10)));
        } else {
          addElements(field, Math.floor(len / spec.packedSize));
        }
      } else {
        contents.skip(wireType);
        addElements(field, 1);
      }
      // Stop at the first element past what the shape needs.
      if ((counts.get(field) ?? 0) > shapeCount) {
        throw new InvalidArgumentError(
          `${what()}: contents.${spec?.name ?? `field ${field}`} holds more than the ${shapeCount} elements the shape needs`,
        );
      }
    }
  }
}

/** Walks a message whose fields only count toward the field budget (outputs). */
function checkFlat(c: Cursor, budget: Budget): void {
  while (!c.done) {
    const tag = c.varint();
    countField(budget);
    c.skip(tag & 7);
  }
}

/**
 * The other RPCs' requests: their only repeated fields are maps (parameters), whose entries
 * are top-level fields, so counting those bounds what protobufjs would build.
 */
export function checkRequestWire(buf: Uint8Array): InvalidArgumentError | undefined {
  const budget: Budget = { fields: 0, contents: 0 };
  const c = new Cursor(buf, 0, buf.byteLength);
  try {
    while (!c.done) {
      const tag = c.varint();
      if (++budget.fields > MAX_WIRE_FIELDS) {
        return new InvalidArgumentError(`request has more than ${MAX_WIRE_FIELDS} fields (map entries each count one); ${MAX_WIRE_FIELDS} is the limit`);
      }
      c.skip(tag & 7);
    }
  } catch (err) {
    if (err instanceof WireError) return undefined;
    throw err;
  }
  return undefined;
}

/**
 * The InvalidArgumentError a message deserves before it is decoded, or undefined when
 * protobufjs may decode it. Malformed wire data is left to protobufjs, which reports it.
 */
export function checkModelInferWire(buf: Uint8Array): InvalidArgumentError | undefined {
  const budget: Budget = { fields: 0, contents: 0 };
  const c = new Cursor(buf, 0, buf.byteLength);
  let inputIndex = 0;
  try {
    while (!c.done) {
      const tag = c.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      countField(budget);
      if (wireType === WIRE_LENGTH_DELIMITED && (field === 5 || field === 6)) {
        const [from, to] = c.skip(wireType);
        if (field === 5) checkInput(new Cursor(buf, from, to), inputIndex++, budget);
        else checkFlat(new Cursor(buf, from, to), budget);
      } else {
        c.skip(wireType);
      }
    }
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    if (err instanceof WireError) return undefined;
    throw err;
  }
  return undefined;
}
