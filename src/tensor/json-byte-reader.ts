/**
 * A JSON reader over the bytes of a request body, for the engine's HTTP requests: values
 * come out as JSON.parse would build them, except tensor `data` arrays, which are read
 * straight into the typed array of their declared shape.
 *
 * Why not JSON.parse: a 64 MiB body of `"data":[0,0,0,…]` became a 32-million-element JS
 * array, then a flattened copy of it, then the typed array: about 2 GiB for a request that
 * was then refused because the shape asked for four elements. Here an element beyond the
 * shape's count is refused before it is read, so a refused request costs at most what the
 * accepted one would have, and the only allocation a `data` array makes is its tensor.
 *
 * Everything outside `data` arrays (names, shapes, parameters, requested outputs) is built
 * as plain values within a budget of MAX_PLAIN_VALUES, so no part of a body can grow into a
 * million small objects either. Errors are the decoder's: MalformedRequestError for text
 * that is not JSON (with the byte offset), InvalidArgumentError for JSON that breaks a limit
 * or does not fit the tensor. Strings decode as UTF-8 with replacement characters for
 * invalid sequences, as Buffer.toString('utf8') (and so the JSON.parse path) did.
 */
import { InvalidArgumentError, MalformedRequestError } from '../errors';
import { DataType, INTEGER_RANGES, NumericTypedArray, TensorData, allocateTypedArray, dataTypeInfo } from './datatypes';
import { claimBytesElements, type BytesElementBudget } from './bytes-elements';
import { float32ToBFloat16Bits, float32ToFloat16Bits } from './half-float';
import { JsonByte } from '../util/json-byte-codes';

/** Array and object nesting a body may have (tensor ranks are far below it). */
export const MAX_JSON_DEPTH = 64;
/**
 * Values (containers, keys' values and array items) a request may have outside its `data`
 * arrays: a few per input and output in any real request; a million `{"name":"OUT"}` is not one.
 */
export const MAX_PLAIN_VALUES = 65_536;
/**
 * What one BYTES element costs in memory beyond its bytes (a Uint8Array view object and its
 * slot in the element array), counted against the max input size like a fixed-size type's
 * bytes: a body of a million short strings would otherwise grow the engine 20 times its size.
 */
export const BYTES_ELEMENT_FOOTPRINT = 64;

/** stringBytes()'s answer for a string whose escapes leave a lone surrogate (refused by its caller). */
const LONE_SURROGATE = new Uint8Array(0);

/** Whether `text` holds a UTF-16 surrogate without its partner: Buffer.from would write U+FFFD for it. */
export function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/** Shared by every zero-length BYTES element: they cost a slot, not an object each. */
export const EMPTY_BYTES = new Uint8Array(0);

/** 10^0 … 10^22: every power of ten a double holds exactly (Clinger's fast path). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const B = JsonByte;
/** How a `data` array's elements are read and stored. */
const enum Kind {
  Float,
  Half,
  Integer,
  BigInteger,
  Bool,
  Bytes,
}

/** What the decoded inputs of one request may take in memory, in all (see tensorData()). */
export interface DecodeBudget extends BytesElementBudget {
  /** The max input size, for messages. */
  readonly limit: number;
  /** What is left of it. */
  bytes: number;
}

export class JsonByteReader {
  pos: number;
  /** readNumber()'s value, in a field so number loops store unboxed doubles. */
  private number = 0.5;
  private plainValues = 0;
  /** numberRow(): no flat run of numbers starts before this offset. */
  private notRunUntil = -1;

  private readonly bytes: Buffer;
  private readonly end: number;

  /** Reads bytes[start, end): a view, so nothing past `end` (a binary part) is ever read. */
  constructor(bytes: Buffer, start: number, end: number) {
    this.bytes = bytes.subarray(0, end);
    this.end = end;
    this.pos = start;
  }

  /** The byte at the current position after white space (undefined at the end). */
  peek(): number | undefined {
    this.skipSpace();
    return this.pos < this.end ? this.bytes[this.pos] : undefined;
  }

  atEnd(): boolean {
    return this.peek() === undefined;
  }

  fail(what: string): never {
    const at = this.pos < this.end ? `'${String.fromCharCode(this.bytes[this.pos]!)}'` : 'the end';
    throw new MalformedRequestError(`failed to parse the request JSON: ${what}, found ${at} at byte ${this.pos}`);
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** Reads `{`, then calls `member` for each key with the reader on its value; reads `}`. */
  object(member: (key: string) => void): void {
    this.countPlain();
    this.expect(B.OpenBrace, "'{'");
    if (this.peek() === B.CloseBrace) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.peek() !== B.Quote) this.fail('expected a string key');
      const key = this.string();
      this.expect(B.Colon, "':'");
      member(key);
      const c = this.peek();
      this.pos++;
      if (c === B.Comma) continue;
      if (c === B.CloseBrace) return;
      this.pos--;
      this.fail("expected ',' or '}'");
    }
  }

  /** Reads `[`, then calls `item` for each element with the reader on it; reads `]`. */
  array(item: (index: number) => void): void {
    this.countPlain();
    this.expect(B.OpenBracket, "'['");
    if (this.peek() === B.CloseBracket) {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      item(i);
      const c = this.peek();
      this.pos++;
      if (c === B.Comma) continue;
      if (c === B.CloseBracket) return;
      this.pos--;
      this.fail("expected ',' or ']'");
    }
  }

  /** Any value, built as JSON.parse builds it, counted against MAX_PLAIN_VALUES. */
  value(depth = 1): unknown {
    if (depth > MAX_JSON_DEPTH) {
      throw new InvalidArgumentError(`the request JSON is nested more than ${MAX_JSON_DEPTH} arrays and objects deep`);
    }
    const c = this.peek();
    if (c === B.OpenBrace) {
      const out: Record<string, unknown> = {};
      this.object((key) => {
        const v = this.value(depth + 1);
        // A plain assignment to '__proto__' would set the prototype; JSON.parse makes a property.
        if (key === '__proto__') Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
        else out[key] = v;
      });
      return out;
    }
    if (c === B.OpenBracket) {
      const out: unknown[] = [];
      this.array(() => out.push(this.value(depth + 1)));
      return out;
    }
    this.countPlain();
    return this.scalar();
  }

  /** Skips one value without building it (checking its syntax and depth); returns where it started. */
  skip(): number {
    this.skipSpace();
    const start = this.pos;
    const closers: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c === B.OpenBracket || c === B.OpenBrace) {
        if (closers.length >= MAX_JSON_DEPTH) {
          throw new InvalidArgumentError(`the request JSON is nested more than ${MAX_JSON_DEPTH} arrays and objects deep`);
        }
        this.pos++;
        const close = c === B.OpenBracket ? B.CloseBracket : B.CloseBrace;
        if (this.peek() === close) {
          this.pos++;
        } else {
          closers.push(close);
          if (close === B.CloseBrace) this.skipKey();
          continue;
        }
      } else if (c === B.Quote) {
        this.pos = this.stringEnd() + 1;
      } else {
        this.scalar();
      }
      for (;;) {
        if (closers.length === 0) return start;
        const d = this.peek();
        const close = closers[closers.length - 1];
        this.pos++;
        if (d === B.Comma) {
          if (close === B.CloseBrace) this.skipKey();
          break;
        }
        if (d === close) {
          closers.pop();
          continue;
        }
        this.pos--;
        this.fail(`expected ',' or '${String.fromCharCode(close!)}'`);
      }
    }
  }

  private skipKey(): void {
    if (this.peek() !== B.Quote) this.fail('expected a string key');
    this.pos = this.stringEnd() + 1;
    this.expect(B.Colon, "':'");
  }

  /**
   * A tensor's `data`: a JSON array, flat or nested, whose elements (row-major) must be
   * exactly `count` of `datatype`. Before allocating anything, refuses a shape whose
   * elements could not fit in the bytes left (each takes at least two: a digit and a comma)
   * or whose size in memory is more than `budget.bytes` (the request's decoded inputs share
   * one budget, the max input size), so a refused request costs less than an accepted one.
   * Refuses an element beyond `count` before reading it. `what` names the tensor.
   */
  tensorData(datatype: DataType, count: number, budget: DecodeBudget, what: string): TensorData {
    if (this.peek() !== B.OpenBracket) {
      const v = this.value();
      throw new InvalidArgumentError(`${what}: 'data' must be an array, got ${describe(v)}`);
    }
    const room = Math.floor((this.end - this.pos) / 2);
    if (count > room) {
      throw new InvalidArgumentError(
        `${what}: 'data' cannot hold the ${count} elements the shape needs: only ${this.end - this.pos} bytes of JSON are left`,
      );
    }
    if (datatype === 'BYTES') claimBytesElements(budget, undefined, count, what);
    const info = dataTypeInfo(datatype);
    const elementBytes = datatype === 'BYTES' ? BYTES_ELEMENT_FOOTPRINT : info.byteSize;
    const size = count * elementBytes;
    if (size > budget.bytes) {
      throw new InvalidArgumentError(
        `${what}: the shape's ${count} ${datatype} elements take ${size} bytes in memory, more than the ` +
          `${budget.bytes} bytes left of the max input size of ${budget.limit} (--http-max-input-size)`,
      );
    }
    budget.bytes -= size;
    const kind =
      datatype === 'BYTES'
        ? Kind.Bytes
        : datatype === 'BOOL'
          ? Kind.Bool
          : datatype === 'FP16' || datatype === 'BF16'
            ? Kind.Half
            : info.isFloat
              ? Kind.Float
              : info.isBigInt
                ? Kind.BigInteger
                : Kind.Integer;
    const strings: Uint8Array[] | undefined = kind === Kind.Bytes ? new Array<Uint8Array>(count) : undefined;
    const numbers = kind === Kind.Bytes ? undefined : allocateTypedArray(datatype, count);
    const toHalf = datatype === 'FP16' ? float32ToFloat16Bits : float32ToBFloat16Bits;
    const [min, max] = INTEGER_RANGES[datatype] ?? [0, 0];
    const bytes = this.bytes;
    let n = 0;
    let depth = 0;
    for (;;) {
      let c = this.peek();
      if (c === B.OpenBracket) {
        if (++depth > MAX_JSON_DEPTH) throw new InvalidArgumentError(`${what}: 'data' is nested more than ${MAX_JSON_DEPTH} arrays deep`);
        this.pos++;
        if (this.peek() !== B.CloseBracket) continue;
        this.pos++;
        depth--;
      } else {
        if (n === count) throw new InvalidArgumentError(`${what}: 'data' holds more than the ${count} elements the shape needs`);
        const at = this.pos;
        switch (kind) {
          case Kind.Bytes:
            if (c !== B.Quote) this.badElement(at, n, 'a string', datatype, what);
            strings![n] = this.stringBytes();
            if (strings![n] === LONE_SURROGATE) {
              throw new InvalidArgumentError(`${what}: element ${n} of 'data' escapes a lone UTF-16 surrogate, which UTF-8 cannot carry (it would reach the model as U+FFFD); send well-formed text`);
            }
            break;
          case Kind.Bool:
            if (c === B.LowerT && this.word('true')) numbers![n] = 1;
            else if (c === B.LowerF && this.word('false')) numbers![n] = 0;
            else this.badElement(at, n, 'true or false', datatype, what);
            break;
          default: {
            if (c !== B.Minus && (c === undefined || c < B.Zero || c > B.Nine)) {
              this.badElement(at, n, kind === Kind.Float || kind === Kind.Half ? 'a number' : `an integer in [${min}, ${max}]`, datatype, what);
            }
            if (!this.readNumber()) {
              // Off the fast path (full-precision doubles, as Python prints floats): the rest
              // of this row goes to JSON.parse in one piece, which reads those faster.
              this.pos = at;
              n = this.numberRow(n, count, numbers!, datatype, what);
              break;
            }
            const v = this.number;
            if (kind === Kind.Float) numbers![n] = v;
            else if (kind === Kind.Half) numbers![n] = toHalf(v);
            else {
              if (!Number.isInteger(v) || v < min || v > max) this.badElement(at, n, `an integer in [${min}, ${max}]`, datatype, what);
              numbers![n] = kind === Kind.BigInteger ? BigInt(v) : v;
            }
            n++;
          }
        }
        if (kind === Kind.Bytes || kind === Kind.Bool) n++;
      }
      // After a value (an element or a closed array): the next one, or closing brackets.
      while (depth > 0) {
        c = bytes[this.pos];
        if (c !== B.Comma && c !== B.CloseBracket) c = this.peek();
        this.pos++;
        if (c === B.Comma) break;
        if (c === B.CloseBracket) {
          depth--;
          continue;
        }
        this.pos--;
        this.fail("expected ',' or ']'");
      }
      if (depth === 0) {
        if (n !== count) throw new InvalidArgumentError(`${what}: 'data' holds ${n} elements but the shape needs ${count}`);
        return strings ?? numbers!;
      }
    }
  }

  /**
   * The elements from `pos` to the end of the innermost array, read by JSON.parse when they
   * are a flat run (no brackets, braces or strings), else just the element at `pos`. The
   * run's commas are counted first, so a run longer than the shape's count left is refused
   * before it is parsed. Returns the new element count; leaves `pos` at the run's end.
   */
  private numberRow(n: number, count: number, numbers: NumericTypedArray, datatype: DataType, what: string): number {
    const bytes = this.bytes;
    const start = this.pos;
    let commas = 0;
    let i = start;
    // Not a flat run up to `notRunUntil` (found by an earlier scan): read one element, so
    // that a row of slow numbers ending in something else is scanned once, not once each.
    if (start < this.notRunUntil) i = this.notRunUntil;
    else {
      for (; i < this.end; i++) {
        const c = bytes[i];
        if (c === B.CloseBracket) break;
        if (c === B.Comma) commas++;
        else if (c === B.OpenBracket || c === B.OpenBrace || c === B.Quote) break;
      }
    }
    let values: unknown[];
    if (start >= this.notRunUntil && bytes[i] === B.CloseBracket) {
      if (n + commas + 1 > count) throw new InvalidArgumentError(`${what}: 'data' holds more than the ${count} elements the shape needs`);
      try {
        values = JSON.parse(`[${bytes.toString('latin1', start, i)}]`) as unknown[];
      } catch (err) {
        return this.fail(`${(err as Error).message} in 'data'`);
      }
      this.pos = i;
    } else {
      this.notRunUntil = i;
      this.readNumber();
      values = [Number(bytes.toString('latin1', start, this.pos))];
    }
    const info = dataTypeInfo(datatype);
    const toHalf = datatype === 'FP16' ? float32ToFloat16Bits : datatype === 'BF16' ? float32ToBFloat16Bits : undefined;
    const [min, max] = INTEGER_RANGES[datatype] ?? [-Infinity, Infinity];
    for (let j = 0; j < values.length; j++, n++) {
      const v = values[j];
      if (typeof v !== 'number') {
        throw new InvalidArgumentError(
          `${what}: element ${n} of 'data' must be ${info.isFloat ? 'a number' : `an integer in [${min}, ${max}]`} for ${datatype}, got ${describe(v)}`,
        );
      }
      if (info.isFloat) numbers[n] = toHalf ? toHalf(v) : v;
      else if (!Number.isInteger(v) || v < min || v > max) {
        throw new InvalidArgumentError(`${what}: element ${n} of 'data' must be an integer in [${min}, ${max}] for ${datatype}, got ${describe(v)}`);
      } else numbers[n] = info.isBigInt ? BigInt(v) : v;
    }
    return n;
  }

  /** An element of the wrong kind: refused with what it is, as the JSON.parse path described it. */
  private badElement(at: number, index: number, expected: string, datatype: DataType, what: string): never {
    this.pos = at;
    const v = this.value();
    throw new InvalidArgumentError(`${what}: element ${index} of 'data' must be ${expected} for ${datatype}, got ${describe(v)}`);
  }

  private countPlain(): void {
    if (++this.plainValues > MAX_PLAIN_VALUES) {
      throw new InvalidArgumentError(`the request JSON holds more than ${MAX_PLAIN_VALUES} values outside tensor 'data' arrays`);
    }
  }

  private scalar(): unknown {
    const c = this.peek();
    if (c === B.Quote) return this.string();
    if (c === B.Minus || (c !== undefined && c >= B.Zero && c <= B.Nine)) {
      const start = this.pos;
      return this.readNumber() ? this.number : Number(this.bytes.toString('latin1', start, this.pos));
    }
    if (c === B.LowerT && this.word('true')) return true;
    if (c === B.LowerF && this.word('false')) return false;
    if (c === B.LowerN && this.word('null')) return null;
    return this.fail('expected a value');
  }

  private word(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      if (this.bytes[this.pos + i] !== text.charCodeAt(i)) return false;
    }
    this.pos += text.length;
    return true;
  }

  /** The index of the closing quote of the string at `pos`; sets stringFlags (bit 0: escapes, bit 1: non-ASCII). */
  private stringEnd(): number {
    const bytes = this.bytes;
    const end = this.end;
    let i = this.pos + 1;
    let flags = 0;
    for (;;) {
      if (i >= end) {
        this.pos = i;
        this.fail('unterminated string');
      }
      const c = bytes[i]!;
      if (c === B.Quote) break;
      if (c < B.Space) {
        this.pos = i;
        this.fail('a control character in a string');
      }
      if (c === B.Backslash) {
        flags |= 1;
        i += 2;
        continue;
      }
      if (c >= 0x80) flags |= 2;
      i++;
    }
    this.stringFlags = flags;
    return i;
  }

  private stringFlags = 0;

  string(): string {
    const start = this.pos;
    const close = this.stringEnd();
    this.pos = close + 1;
    if (this.stringFlags & 1) return this.escaped(start, close + 1);
    return this.bytes.toString(this.stringFlags & 2 ? 'utf8' : 'latin1', start + 1, close);
  }

  /** A BYTES element: the string's UTF-8 bytes, copied (zero-length ones share one). */
  private stringBytes(): Uint8Array {
    const start = this.pos;
    const close = this.stringEnd();
    this.pos = close + 1;
    if (close === start + 1) return EMPTY_BYTES;
    if (this.stringFlags & 1) {
      const text = this.escaped(start, close + 1);
      return hasLoneSurrogate(text) ? LONE_SURROGATE : Buffer.from(text, 'utf8');
    }
    // Non-ASCII goes through a string so invalid UTF-8 becomes U+FFFD, as it did before.
    if (this.stringFlags & 2) return Buffer.from(this.bytes.toString('utf8', start + 1, close), 'utf8');
    return Buffer.from(this.bytes.subarray(start + 1, close));
  }

  /** A string with escapes: JSON.parse of just its own text decides (and checks the escapes). */
  private escaped(start: number, end: number): string {
    try {
      return JSON.parse(this.bytes.toString('utf8', start, end)) as string;
    } catch (err) {
      this.pos = start;
      return this.fail(`an invalid escape in a string (${(err as Error).message})`);
    }
  }

  /**
   * Reads a JSON number (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), leaving `pos` after
   * it. Up to 15 significant digits with a small exponent is exactly digits × or ÷ 10^e (one
   * correctly rounded operation): that goes to `this.number` and it returns true. Anything
   * else returns false, for the caller to hand the text to JSON.parse or Number(), which read
   * the JSON number grammar alike.
   */
  private readNumber(): boolean {
    const bytes = this.bytes;
    const start = this.pos;
    let i = start;
    let c = bytes[i];
    const negative = c === B.Minus;
    if (negative) c = bytes[++i];
    if (c === undefined || c < B.Zero || c > B.Nine) {
      this.pos = i;
      this.fail('expected a digit');
    }
    let digits = 0;
    let significant = 0;
    if (c === B.Zero) {
      c = bytes[++i];
    } else {
      do {
        digits = digits * 10 + (c - B.Zero);
        significant++;
        c = bytes[++i];
      } while (c !== undefined && c >= B.Zero && c <= B.Nine);
    }
    let exponent = 0;
    if (c === B.Dot) {
      c = bytes[++i];
      if (c === undefined || c < B.Zero || c > B.Nine) {
        this.pos = i;
        this.fail('expected a digit after the decimal point');
      }
      const fractionStart = i;
      do {
        digits = digits * 10 + (c - B.Zero);
        if (digits !== 0) significant++;
        c = bytes[++i];
      } while (c !== undefined && c >= B.Zero && c <= B.Nine);
      exponent = fractionStart - i;
    }
    let exact = true;
    if (c === B.LowerE || c === B.UpperE) {
      c = bytes[++i];
      const negativeExponent = c === B.Minus;
      if (negativeExponent || c === B.Plus) c = bytes[++i];
      if (c === undefined || c < B.Zero || c > B.Nine) {
        this.pos = i;
        this.fail('expected a digit in the exponent');
      }
      let written = 0;
      do {
        if (written < 100_000) written = written * 10 + (c - B.Zero);
        c = bytes[++i];
      } while (c !== undefined && c >= B.Zero && c <= B.Nine);
      exponent += negativeExponent ? -written : written;
    }
    // A leading zero followed by digits ("01") is not JSON.
    if (c !== undefined && c >= B.Zero && c <= B.Nine) {
      this.pos = i;
      this.fail('a number with a leading zero');
    }
    if (significant > 15) exact = false;
    let magnitude: number;
    if (!exact) magnitude = NaN;
    else if (exponent === 0 || digits === 0) magnitude = digits;
    else if (exponent < 0 && exponent >= -22) magnitude = digits / POWERS_OF_TEN[-exponent]!;
    else if (exponent > 0 && exponent <= 22) magnitude = digits * POWERS_OF_TEN[exponent]!;
    else magnitude = NaN;
    this.pos = i;
    if (magnitude !== magnitude) return false;
    this.number = negative ? -magnitude : magnitude;
    return true;
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    const end = this.end;
    let p = this.pos;
    while (p < end) {
      const c = bytes[p];
      if (c !== B.Space && c !== B.LineFeed && c !== B.Return && c !== B.Tab) break;
      p++;
    }
    this.pos = p;
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'string' ? `string "${v.length > 20 ? v.slice(0, 20) + '…' : v}"` : `${typeof v} ${String(v)}`;
}
