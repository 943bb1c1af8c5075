/**
 * The lexical half of the protobuf text-format parser: turns config.pbtxt into tokens with
 * 1-based line:column positions. Strings are decoded here (escapes, octal and hex bytes,
 * UTF-8), so the parser only ever sees finished values.
 */

import { ModelConfigError } from '../../errors';

export interface Position {
  line: number;
  column: number;
}

export type TokenKind = 'identifier' | 'number' | 'string' | 'symbol' | 'eof';

export interface Token {
  kind: TokenKind;
  /** The source text of the token (for strings: including quotes). */
  text: string;
  /** Decoded contents of a string token. */
  value?: string;
  pos: Position;
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-']);

const SIMPLE_ESCAPES: Record<string, number> = {
  n: 0x0a,
  t: 0x09,
  r: 0x0d,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  v: 0x0b,
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  '?': 0x3f,
};

export function syntaxError(pos: Position, message: string): ModelConfigError {
  return new ModelConfigError(`line ${pos.line}:${pos.column}: ${message}`);
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHexDigit = (c: string): boolean => /^[0-9a-fA-F]$/.test(c);
const isIdentStart = (c: string): boolean => /^[A-Za-z_]$/.test(c);
const isIdentPart = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);

/** Splits text into tokens; the last token is always `eof`. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): Position => ({ line, column: i - lineStart + 1 });

  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const pos = here();
    if (isIdentStart(c)) {
      const start = i;
      while (i < text.length && isIdentPart(text[i])) i++;
      tokens.push({ kind: 'identifier', text: text.slice(start, i), pos });
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      const start = i;
      i = scanNumber(text, i, pos);
      tokens.push({ kind: 'number', text: text.slice(start, i), pos });
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i;
      const { end, value } = scanString(text, i, (index) => ({ line, column: index - lineStart + 1 }));
      i = end;
      tokens.push({ kind: 'string', text: text.slice(start, i), value, pos });
      continue;
    }
    if (SYMBOLS.has(c)) {
      i++;
      tokens.push({ kind: 'symbol', text: c, pos });
      continue;
    }
    throw syntaxError(pos, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'eof', text: '', pos: here() });
  return tokens;
}

/** Returns the index just after the number literal that starts at `start`. */
function scanNumber(text: string, start: number, pos: Position): number {
  let i = start;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    const digitsStart = i;
    while (i < text.length && isHexDigit(text[i])) i++;
    if (i === digitsStart) throw syntaxError(pos, `invalid hex number "${text.slice(digitsStart - 2, i)}"`);
  } else {
    while (i < text.length && isDigit(text[i])) i++;
    if (text[i] === '.') {
      i++;
      while (i < text.length && isDigit(text[i])) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      const expStart = i;
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      const digitsStart = i;
      while (i < text.length && isDigit(text[i])) i++;
      if (i === digitsStart) throw syntaxError(pos, `invalid number "${text.slice(expStart - 1, i)}": exponent has no digits`);
    }
    if (text[i] === 'f' || text[i] === 'F') i++;
  }
  // "12abc" is one malformed token, not a number followed by an identifier.
  if (i < text.length && (isIdentPart(text[i]) || text[i] === '.')) {
    let end = i;
    while (end < text.length && (isIdentPart(text[end]) || text[end] === '.')) end++;
    throw syntaxError(pos, `invalid number "${text.slice(start, end)}"`);
  }
  return i;
}

/** Scans a quoted string starting at `i` (the quote); returns the end index and decoded value. */
function scanString(text: string, i: number, posAt: (index: number) => Position): { end: number; value: string } {
  const pos = posAt(i);
  const quote = text[i];
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  i++;
  for (;;) {
    if (i >= text.length || text[i] === '\n') throw syntaxError(pos, 'unterminated string');
    const c = text[i];
    if (c === quote) {
      i++;
      break;
    }
    if (c !== '\\') {
      // Copy a whole code point so surrogate pairs encode correctly.
      const cp = text.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      for (const b of encoder.encode(ch)) bytes.push(b);
      i += ch.length;
      continue;
    }
    const escPos = posAt(i);
    const e = text[i + 1] ?? '';
    if (e in SIMPLE_ESCAPES) {
      bytes.push(SIMPLE_ESCAPES[e]);
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let j = i + 1;
      let n = 0;
      while (j < i + 4 && text[j] >= '0' && text[j] <= '7') n = n * 8 + Number(text[j++]);
      if (n > 255) throw syntaxError(escPos, `octal escape "${text.slice(i, j)}" is larger than one byte`);
      bytes.push(n);
      i = j;
    } else if (e === 'x' || e === 'X') {
      let j = i + 2;
      while (j < i + 4 && isHexDigit(text[j] ?? '')) j++;
      if (j === i + 2) throw syntaxError(escPos, `hex escape "${text.slice(i, j)}" has no digits`);
      bytes.push(parseInt(text.slice(i + 2, j), 16));
      i = j;
    } else if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const hex = (/^[0-9a-fA-F]*/.exec(text.slice(i + 2, i + 2 + len)) as RegExpExecArray)[0];
      if (hex.length !== len || parseInt(hex, 16) > 0x10ffff) {
        throw syntaxError(escPos, `invalid unicode escape "\\${e}${hex}"`);
      }
      for (const b of encoder.encode(String.fromCodePoint(parseInt(hex, 16)))) bytes.push(b);
      i += 2 + len;
    } else {
      throw syntaxError(escPos, `invalid escape "\\${e}" in string`);
    }
  }
  return { end: i, value: new TextDecoder().decode(new Uint8Array(bytes)) };
}
