/**
 * A recursive-descent parser for the protobuf text format (config.pbtxt). It produces a
 * generic tree and knows nothing about ModelConfig: whether a field is repeated, a map or
 * an enum is decided later by the schema step (`pbtxt-to-json.ts`), exactly as protobuf's
 * own parser consults the descriptor. So `dims: 4` and `dims: [4]` parse to different
 * trees here and to the same array there.
 *
 * Grammar (what protobuf's TextFormat accepts for our purposes):
 *   message := field* ; field := NAME ( ':' scalar | ':'? block | ':'? list ) [',' | ';']
 *   block   := '{' message '}' | '<' message '>' ; list := '[' (item (',' item)*)? ']'
 *   item    := scalar | block ; scalar := STRING+ | '-'? NUMBER | '-'? IDENT
 */

import { modelConfigLimits, overLimit } from './config-limits';
import { type Position, type Token, syntaxError, tokenize } from './pbtxt-tokenizer';

export type { Position } from './pbtxt-tokenizer';

export interface PbtxtString {
  kind: 'string';
  value: string;
  pos: Position;
}

export interface PbtxtNumber {
  kind: 'number';
  /** The value as a double (may be ±Infinity or NaN for `inf`/`nan`). */
  value: number;
  /** Exact value when the literal is an integer (decimal, hex or octal), else undefined. */
  integer: bigint | undefined;
  /** The literal as written, sign included. */
  text: string;
  pos: Position;
}

export interface PbtxtBool {
  kind: 'bool';
  value: boolean;
  pos: Position;
}

/** A bare name: an enum value such as TYPE_FP32 or KIND_GPU (or `t`/`f`, `inf`, `nan`). */
export interface PbtxtIdentifier {
  kind: 'identifier';
  value: string;
  pos: Position;
}

export interface PbtxtMessage {
  kind: 'message';
  fields: PbtxtField[];
  pos: Position;
}

/** `[a, b]` syntax; equivalent to repeating the field once per item. */
export interface PbtxtList {
  kind: 'list';
  items: Array<PbtxtScalar | PbtxtMessage>;
  pos: Position;
}

export type PbtxtScalar = PbtxtString | PbtxtNumber | PbtxtBool | PbtxtIdentifier;
export type PbtxtValue = PbtxtScalar | PbtxtMessage | PbtxtList;

export interface PbtxtField {
  name: string;
  value: PbtxtValue;
  pos: Position;
}

const CLOSER: Record<string, string> = { '{': '}', '<': '>' };
const BOOLS: Record<string, boolean> = { true: true, True: true, false: false, False: false };

export interface ParsePbtxtOptions {
  /** Deepest message nesting accepted (the root is level 1); default: the config_depth limit. */
  maxDepth?: number;
}

/**
 * Parses protobuf text format into a tree whose root is a message at line 1, column 1.
 * Throws ModelConfigError("line L:C: ...") on the first syntax error, and for messages nested
 * deeper than `maxDepth`: the parser and every walk of its tree recurse once per level.
 */
export function parsePbtxt(text: string, options: ParsePbtxtOptions = {}): PbtxtMessage {
  return new Parser(tokenize(text), options.maxDepth ?? modelConfigLimits().config_depth).parseRoot();
}

class Parser {
  private index = 0;
  private depth = 1;

  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  parseRoot(): PbtxtMessage {
    const fields = this.parseFields(undefined);
    return { kind: 'message', fields, pos: { line: 1, column: 1 } };
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private isSymbol(text: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.text === text;
  }

  private fail(token: Token, expected: string): never {
    throw syntaxError(token.pos, `expected ${expected}, found ${describe(token)}`);
  }

  /** Fields up to `closer` (consumed) or, at the top level, end of input. */
  private parseFields(closer: string | undefined): PbtxtField[] {
    const fields: PbtxtField[] = [];
    for (;;) {
      const token = this.peek();
      if (closer !== undefined && token.kind === 'symbol' && token.text === closer) {
        this.next();
        return fields;
      }
      if (token.kind === 'eof') {
        if (closer === undefined) return fields;
        this.fail(token, `'${closer}'`);
      }
      fields.push(this.parseField());
      if (this.isSymbol(',') || this.isSymbol(';')) this.next();
    }
  }

  private parseField(): PbtxtField {
    const nameToken = this.next();
    if (nameToken.kind !== 'identifier') this.fail(nameToken, 'a field name');
    const name = nameToken.text;
    const hasColon = this.isSymbol(':');
    if (hasColon) this.next();
    const token = this.peek();
    let value: PbtxtValue;
    if (token.kind === 'symbol' && (token.text === '{' || token.text === '<')) {
      value = this.parseBlock();
    } else if (token.kind === 'symbol' && token.text === '[') {
      value = this.parseList();
    } else if (!hasColon) {
      this.fail(token, `':' or '{' after field name '${name}'`);
    } else {
      value = this.parseScalar(`a value for field '${name}'`);
    }
    return { name, value, pos: nameToken.pos };
  }

  private parseBlock(): PbtxtMessage {
    const open = this.next();
    if (++this.depth > this.maxDepth) {
      throw syntaxError(open.pos, `message nesting depth ${overLimit(this.depth, 'config_depth', this.maxDepth)}`);
    }
    const fields = this.parseFields(CLOSER[open.text]);
    this.depth--;
    return { kind: 'message', fields, pos: open.pos };
  }

  private parseList(): PbtxtList {
    const open = this.next();
    const items: PbtxtList['items'] = [];
    if (this.isSymbol(']')) {
      this.next();
      return { kind: 'list', items, pos: open.pos };
    }
    for (;;) {
      const token = this.peek();
      if (token.kind === 'symbol' && (token.text === '{' || token.text === '<')) items.push(this.parseBlock());
      else items.push(this.parseScalar('a list element'));
      const sep = this.next();
      if (sep.kind === 'symbol' && sep.text === ']') return { kind: 'list', items, pos: open.pos };
      if (!(sep.kind === 'symbol' && sep.text === ',')) this.fail(sep, "',' or ']' in list");
    }
  }

  private parseScalar(what: string): PbtxtScalar {
    const token = this.next();
    if (token.kind === 'string') {
      // Adjacent literals concatenate, as in C: "abc" 'def' == "abcdef".
      let value = token.value as string;
      while (this.peek().kind === 'string') value += this.next().value as string;
      return { kind: 'string', value, pos: token.pos };
    }
    if (token.kind === 'symbol' && token.text === '-') {
      const operand = this.next();
      if (operand.kind === 'number') return numberLiteral(operand, true, token.pos);
      if (operand.kind === 'identifier' && isSpecialFloat(operand.text)) return specialFloat(operand, true, token.pos);
      this.fail(operand, "a number after '-'");
    }
    if (token.kind === 'number') return numberLiteral(token, false, token.pos);
    if (token.kind === 'identifier') {
      if (token.text in BOOLS) return { kind: 'bool', value: BOOLS[token.text], pos: token.pos };
      if (isSpecialFloat(token.text)) return specialFloat(token, false, token.pos);
      return { kind: 'identifier', value: token.text, pos: token.pos };
    }
    this.fail(token, what);
  }
}

function describe(token: Token): string {
  if (token.kind === 'eof') return 'end of input';
  if (token.kind === 'symbol') return `'${token.text}'`;
  return token.text;
}

function isSpecialFloat(name: string): boolean {
  return /^(inf|infinity|nan)$/i.test(name);
}

function specialFloat(token: Token, negative: boolean, pos: Position): PbtxtNumber {
  const value = /^nan$/i.test(token.text) ? NaN : Infinity;
  return { kind: 'number', value: negative ? -value : value, integer: undefined, text: (negative ? '-' : '') + token.text, pos };
}

function numberLiteral(token: Token, negative: boolean, pos: Position): PbtxtNumber {
  const raw = token.text;
  const sign = negative ? '-' : '';
  let integer: bigint | undefined;
  if (/^0[xX]/.test(raw)) {
    integer = BigInt(raw);
  } else if (/^0[0-9]+$/.test(raw)) {
    if (!/^0[0-7]+$/.test(raw)) throw syntaxError(token.pos, `invalid number "${raw}": a leading zero means octal`);
    integer = BigInt('0o' + raw.slice(1));
  } else if (/^[0-9]+$/.test(raw)) {
    integer = BigInt(raw);
  }
  if (integer !== undefined) {
    if (negative) integer = -integer;
    return { kind: 'number', value: Number(integer), integer, text: sign + raw, pos };
  }
  const value = Number(raw.replace(/[fF]$/, ''));
  return { kind: 'number', value: negative ? -value : value, integer: undefined, text: sign + raw, pos };
}
