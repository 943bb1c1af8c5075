/**
 * The bytes of JSON's grammar, for the two byte-level readers: util/parse-json-bytes.ts
 * (/score bodies) and tensor/json-byte-reader.ts (the engine's infer requests). An object,
 * not a const enum: under isolatedModules a const enum is emitted as an object read at each
 * use anyway, and an object can be shared.
 */
export const JsonByte = {
  Tab: 0x09,
  LineFeed: 0x0a,
  Return: 0x0d,
  Space: 0x20,
  Quote: 0x22,
  Plus: 0x2b,
  Comma: 0x2c,
  Minus: 0x2d,
  Dot: 0x2e,
  Zero: 0x30,
  Nine: 0x39,
  Colon: 0x3a,
  UpperE: 0x45,
  OpenBracket: 0x5b,
  Backslash: 0x5c,
  CloseBracket: 0x5d,
  LowerE: 0x65,
  LowerF: 0x66,
  LowerN: 0x6e,
  LowerT: 0x74,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
} as const;
