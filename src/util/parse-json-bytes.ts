/**
 * `JSON.parse` for a UTF-8 request body, faster on what scoring requests are made of:
 * arrays of decimal numbers.
 *
 * Why: V8 converts each JSON number with its general string-to-double routine; most of a
 * `{"data": [[512 features]]}` body's parse is spent in the numbers, and on the MLP
 * benchmark that parse is a large share of a worker's time. A number
 * with at most 15 significant digits and a decimal exponent within ±22 is exactly
 * `digits × 10^e` or `digits / 10^-e` (both operands exact doubles, and one IEEE operation
 * rounds correctly: Clinger's fast path), which a byte loop computes in nanoseconds.
 *
 * The contract is JSON.parse's, exactly: `readJsonFast(b)` returns what
 * `JSON.parse(b.toString('utf8'))` returns, or UNHANDLED, and UNHANDLED for whatever
 * JSON.parse would refuse; the caller then parses the text itself. The fast reader takes
 * the shapes of scoring requests: objects, arrays of numbers, of strings or of
 * arrays, strings without escapes, true, false and null. It hands the text to JSON.parse
 * (which then decides) on anything else: an escape, a `__proto__` key, nesting past
 * MAX_DEPTH, a number outside the fast path, an array of objects or one mixing numbers
 * with other values, a syntax error; and on documents V8 reads faster: more than
 * MAX_STRINGS strings (V8 builds many-keyed objects faster than property assignment), or
 * a first numeric array whose first INTEGER_PROBE numbers (all, if fewer) are integers. A
 * hand-over costs the work done until then, so the rules that decide it apply early in
 * typical documents.
 *
 * What it gains and on which documents: bench/README.md, "Measurements behind design choices".
 */
import { JsonByte } from './json-byte-codes';

/** Nesting the fast reader follows before handing the text to JSON.parse (no deep recursion here). */
const MAX_DEPTH = 64;
/** Strings (keys included) the fast reader reads before handing the text to JSON.parse. */
const MAX_STRINGS = 32;
/** Integers at the start of the first numeric array that send the document to JSON.parse. */
const INTEGER_PROBE = 8;
/** 10^0 … 10^22: every power of ten a double holds exactly. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
const MAX_EXACT_POWER = POWERS_OF_TEN.length - 1;
/** Significant digits whose integer is below 2^53, so it is exact in a double. */
const MAX_EXACT_DIGITS = 15;

const Byte = JsonByte;
/**
 * What the fast reader returns when it hands the text to JSON.parse. A returned sentinel,
 * not a throw: a throw costs as much as parsing a small body (bench/README.md, "Measurements
 * behind design choices").
 */
export const UNHANDLED: unique symbol = Symbol('unhandled');
type Unhandled = typeof UNHANDLED;

/** readNumber() results. */
const enum NumberRead {
  Unhandled,
  Integer,
  Decimal,
}

/**
 * The document's value, exactly as JSON.parse(bytes.toString('utf8')) gives it, or
 * UNHANDLED: then the caller parses the text (UNHANDLED for every text JSON.parse refuses).
 */
export function readJsonFast(bytes: Buffer): unknown {
  return new FastJsonReader(bytes).document();
}

function isDigit(c: number | undefined): c is number {
  return c !== undefined && c >= Byte.Zero && c <= Byte.Nine;
}

class FastJsonReader {
  private pos = 0;
  private depth = 0;
  private stringCount = 0;
  /** The first numeric array showed a decimal within INTEGER_PROBE numbers. */
  private decided = false;
  /** readNumber()'s number. */
  private lastNumber = 0.5;

  constructor(private readonly bytes: Buffer) {}

  document(): unknown {
    const value = this.value();
    this.skipSpace();
    return this.pos === this.bytes.length ? value : UNHANDLED;
  }

  private value(): unknown {
    this.skipSpace();
    const c = this.bytes[this.pos];
    if (c === Byte.OpenBracket) return this.array();
    if (c === Byte.OpenBrace) return this.object();
    if (c === Byte.Quote) return this.string();
    if (c === Byte.Minus || isDigit(c)) return this.readNumber() === NumberRead.Unhandled ? UNHANDLED : this.lastNumber;
    if (c === Byte.LowerT) return this.literal('true', true);
    if (c === Byte.LowerF) return this.literal('false', false);
    if (c === Byte.LowerN) return this.literal('null', null);
    return UNHANDLED;
  }

  private array(): unknown[] | Unhandled {
    if (++this.depth > MAX_DEPTH) return UNHANDLED;
    this.pos++;
    this.skipSpace();
    const c = this.bytes[this.pos];
    let items: unknown[] | Unhandled;
    if (c === Byte.CloseBracket) {
      this.pos++;
      items = [];
    } else if (c === Byte.OpenBracket) {
      items = this.elements(Byte.OpenBracket, () => this.array());
    } else if (c === Byte.Quote) {
      items = this.elements(Byte.Quote, () => this.string());
    } else {
      items = this.numbers();
    }
    this.depth--;
    return items;
  }

  /** The elements of an array that starts with a number: all numbers, kept unboxed. */
  private numbers(): number[] | Unhandled {
    let read = this.readNumber();
    if (read === NumberRead.Unhandled) return UNHANDLED;
    // V8's parser reads integers faster (small integers skip the double conversion): a
    // document whose first numbers are all integers (token ids, class indices) is left to
    // it. Decided once, on the first numeric array, so no later array wastes the work done.
    let probing = !this.decided;
    if (read === NumberRead.Decimal) this.decided = true;
    const items: number[] = [this.lastNumber];
    const bytes = this.bytes;
    for (;;) {
      if (probing && this.decided) probing = false;
      let c = bytes[this.pos];
      if (c !== Byte.Comma && c !== Byte.CloseBracket) {
        this.skipSpace();
        c = bytes[this.pos];
      }
      this.pos++;
      if (c === Byte.CloseBracket) return probing ? UNHANDLED : items;
      if (c !== Byte.Comma) return UNHANDLED;
      // The usual separators ("," and ", ") without a call.
      let next = bytes[this.pos];
      if (next === Byte.Space) next = bytes[++this.pos];
      if (next !== undefined && next <= Byte.Space) this.skipSpace();
      read = this.readNumber();
      if (read === NumberRead.Unhandled) return UNHANDLED;
      items.push(this.lastNumber);
      if (probing) {
        if (read === NumberRead.Decimal) this.decided = true;
        else if (items.length === INTEGER_PROBE) return UNHANDLED;
      }
    }
  }

  /**
   * The elements of an array whose elements all open with `opener`: strings (output names, a
   * few texts) or arrays (a tensor's outer dimensions), each read by `read`.
   */
  private elements(opener: number, read: () => unknown): unknown[] | Unhandled {
    const items: unknown[] = [];
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.pos] !== opener) return UNHANDLED;
      const item = read();
      if (item === UNHANDLED) return UNHANDLED;
      items.push(item);
      this.skipSpace();
      const c = this.bytes[this.pos++];
      if (c === Byte.Comma) continue;
      if (c === Byte.CloseBracket) return items;
      return UNHANDLED;
    }
  }

  private object(): Record<string, unknown> | Unhandled {
    if (++this.depth > MAX_DEPTH) return UNHANDLED;
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.bytes[this.pos] === Byte.CloseBrace) {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.bytes[this.pos] !== Byte.Quote) return UNHANDLED;
      const key = this.string();
      // Assigning '__proto__' would set the prototype; JSON.parse makes an own property.
      if (key === UNHANDLED || key === '__proto__') return UNHANDLED;
      this.skipSpace();
      if (this.bytes[this.pos++] !== Byte.Colon) return UNHANDLED;
      const value = this.value();
      if (value === UNHANDLED) return UNHANDLED;
      out[key] = value;
      this.skipSpace();
      const c = this.bytes[this.pos++];
      if (c === Byte.Comma) continue;
      if (c === Byte.CloseBrace) break;
      return UNHANDLED;
    }
    this.depth--;
    return out;
  }

  /** A string without escapes or control characters (the body is known to be UTF-8). */
  private string(): string | Unhandled {
    if (++this.stringCount > MAX_STRINGS) return UNHANDLED;
    const bytes = this.bytes;
    const start = ++this.pos;
    let ascii = true;
    for (;;) {
      const c = bytes[this.pos];
      if (c === undefined || c === Byte.Backslash || c < Byte.Space) return UNHANDLED;
      if (c === Byte.Quote) break;
      if (c >= 0x80) ascii = false;
      this.pos++;
    }
    const text = bytes.toString(ascii ? 'latin1' : 'utf8', start, this.pos);
    this.pos++;
    return text;
  }

  /**
   * Reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? into `this.lastNumber` when the fast
   * path computes it exactly. The number goes through a field, not the return value, so
   * that the loop in numbers() stores unboxed doubles instead of allocating a heap number
   * per element.
   */
  private readNumber(): NumberRead {
    const bytes = this.bytes;
    let i = this.pos;
    let c = bytes[i];
    const negative = c === Byte.Minus;
    if (negative) c = bytes[++i];
    if (!isDigit(c)) return NumberRead.Unhandled;
    let digits = 0;
    let significant = 0;
    if (c === Byte.Zero) {
      c = bytes[++i];
      if (isDigit(c)) return NumberRead.Unhandled;
    } else {
      do {
        digits = digits * 10 + (c - Byte.Zero);
        significant++;
        c = bytes[++i];
      } while (isDigit(c));
    }
    let exponent = 0;
    const decimal = c === Byte.Dot || c === Byte.LowerE || c === Byte.UpperE;
    if (c === Byte.Dot) {
      c = bytes[++i];
      if (!isDigit(c)) return NumberRead.Unhandled;
      const fractionStart = i;
      do {
        digits = digits * 10 + (c - Byte.Zero);
        if (digits !== 0) significant++;
        c = bytes[++i];
      } while (isDigit(c));
      exponent = fractionStart - i;
    }
    if (c === Byte.LowerE || c === Byte.UpperE) {
      c = bytes[++i];
      const negativeExponent = c === Byte.Minus;
      if (negativeExponent || c === Byte.Plus) c = bytes[++i];
      if (!isDigit(c)) return NumberRead.Unhandled;
      let written = 0;
      do {
        written = written * 10 + (c - Byte.Zero);
        if (written > 1000) return NumberRead.Unhandled;
        c = bytes[++i];
      } while (isDigit(c));
      exponent += negativeExponent ? -written : written;
    }
    if (significant > MAX_EXACT_DIGITS) return NumberRead.Unhandled;
    let magnitude: number;
    if (exponent === 0 || digits === 0) magnitude = digits;
    else if (exponent < 0 && exponent >= -MAX_EXACT_POWER) magnitude = digits / POWERS_OF_TEN[-exponent]!;
    else if (exponent > 0 && exponent <= MAX_EXACT_POWER) magnitude = digits * POWERS_OF_TEN[exponent]!;
    else return NumberRead.Unhandled;
    this.pos = i;
    this.lastNumber = negative ? -magnitude : magnitude;
    return decimal ? NumberRead.Decimal : NumberRead.Integer;
  }

  private literal(word: string, value: boolean | null): boolean | null | Unhandled {
    for (let i = 0; i < word.length; i++) {
      if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return UNHANDLED;
    }
    this.pos += word.length;
    return value;
  }

  private skipSpace(): void {
    const bytes = this.bytes;
    for (;;) {
      const c = bytes[this.pos];
      if (c !== Byte.Space && c !== Byte.LineFeed && c !== Byte.Return && c !== Byte.Tab) return;
      this.pos++;
    }
  }
}
