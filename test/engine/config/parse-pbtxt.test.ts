import { ModelConfigError } from '../../../src/errors';
import { type PbtxtMessage, type PbtxtValue, parsePbtxt } from '../../../src/engine/config/parse-pbtxt';

/** The tree without positions: messages as [name, value] pairs, identifiers as { id }. */
type Plain = string | number | boolean | bigint | { id: string } | { list: Plain[] } | Array<[string, Plain]>;

function plain(value: PbtxtValue | PbtxtMessage): Plain {
  switch (value.kind) {
    case 'message':
      return value.fields.map((f) => [f.name, plain(f.value)] as [string, Plain]);
    case 'list':
      return { list: value.items.map(plain) };
    case 'identifier':
      return { id: value.value };
    case 'number':
      return value.integer ?? value.value;
    default:
      return value.value;
  }
}

const parse = (text: string) => plain(parsePbtxt(text));

describe('parsePbtxt', () => {
  it.each<[string, string, Plain]>([
    ['an empty document', '', []],
    ['a document of only comments', '# nothing here\n  # at all\n', []],
    ['a string field', 'name: "add_sub"', [['name', 'add_sub']]],
    ['comments after values and on their own lines', '# header\nname: "a" # trailing\n# between\nplatform: "b"', [
      ['name', 'a'],
      ['platform', 'b'],
    ]],
    ['a nested message in braces', 'a { b: 1 }', [['a', [['b', 1n]]]]],
    ['a nested message in angle brackets', 'a < b: 1 >', [['a', [['b', 1n]]]]],
    ['a colon before a message', 'a: { b: 1 }', [['a', [['b', 1n]]]]],
    ['an empty message', 'all {}', [['all', []]]],
    ['deep nesting', 'a { b { c < d: 1 > } }', [['a', [['b', [['c', [['d', 1n]]]]]]]]],
    ['a scalar list', 'dims: [1, 2, 3]', [['dims', { list: [1n, 2n, 3n] }]]],
    ['an empty list', 'dims: []', [['dims', { list: [] }]]],
    ['a repeated key', 'dims: 1 dims: 2', [
      ['dims', 1n],
      ['dims', 2n],
    ]],
    ['a list of messages without a colon', 'input [ { name: "a" }, < name: "b" > ]', [
      ['input', { list: [[['name', 'a']], [['name', 'b']]] }],
    ]],
    ['enum identifiers', 'data_type: TYPE_FP32 kind: KIND_GPU', [
      ['data_type', { id: 'TYPE_FP32' }],
      ['kind', { id: 'KIND_GPU' }],
    ]],
    ['booleans in both spellings', 'a: true b: false c: True d: False', [
      ['a', true],
      ['b', false],
      ['c', true],
      ['d', false],
    ]],
    [', and ; as optional separators', 'a: 1, b: 2; c: 3 d { e: 4; },', [
      ['a', 1n],
      ['b', 2n],
      ['c', 3n],
      ['d', [['e', 4n]]],
    ]],
    ['fields spread over lines with odd spacing', 'a\n:\n  1\n\tb\t{\n}', [
      ['a', 1n],
      ['b', []],
    ]],
  ])('parses %s', (_name, text, expected) => {
    expect(parse(text)).toEqual(expected);
  });

  it.each<[string, string]>([
    ['"abc"', 'abc'],
    ["'abc'", 'abc'],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
    ['"a\\nb\\tc"', 'a\nb\tc'],
    ['"q\\"q\\\'q"', 'q"q\'q'],
    ['"back\\\\slash"', 'back\\slash'],
    ['"\\101\\102"', 'AB'],
    ['"\\0"', '\0'],
    ['"\\x41\\x4a"', 'AJ'],
    ['"\\x4"', '\x04'],
    ['"\\303\\251t\\xc3\\xa9"', 'été'],
    ['"\\u00e9\\U0001F600"', 'é😀'],
    ['"a" "b"', 'ab'],
    ['"a" \'b\' "c"', 'abc'],
    ['"日本"', '日本'],
    ['""', ''],
  ])('decodes the string %s', (literal, expected) => {
    expect(parse(`s: ${literal}`)).toEqual([['s', expected]]);
  });

  it.each<[string, number | bigint]>([
    ['42', 42n],
    ['-7', -7n],
    ['- 7', -7n],
    ['0', 0n],
    ['0x10', 16n],
    ['0XfF', 255n],
    ['-0x10', -16n],
    ['010', 8n],
    ['1.5', 1.5],
    ['-2.25', -2.25],
    ['.5', 0.5],
    ['1e-3', 0.001],
    ['-2.5E+2', -250],
    ['3e2', 300],
    ['1.5f', 1.5],
    ['2F', 2],
    ['inf', Infinity],
    ['-inf', -Infinity],
    ['-Infinity', -Infinity],
    ['9007199254740993', 9007199254740993n],
  ])('reads the number %s', (literal, expected) => {
    expect(parse(`n: ${literal}`)).toEqual([['n', expected]]);
  });

  it('reads nan as a number', () => {
    const field = parsePbtxt('n: nan').fields[0];
    expect(field.value.kind).toBe('number');
    expect(Number.isNaN((field.value as { value: number }).value)).toBe(true);
  });

  it('records 1-based line and column positions', () => {
    const tree = parsePbtxt('name: "a"\n  input {\n    dims: [ 4 ]\n  }');
    const input = tree.fields[1];
    expect(input.pos).toEqual({ line: 2, column: 3 });
    expect(input.value.pos).toEqual({ line: 2, column: 9 });
    const dims = (input.value as PbtxtMessage).fields[0];
    expect(dims.pos).toEqual({ line: 3, column: 5 });
    expect(dims.value.pos).toEqual({ line: 3, column: 11 });
  });

  it.each<[string, string, string]>([
    ['a scalar without a colon', 'name "x"', `line 1:6: expected ':' or '{' after field name 'name', found "x"`],
    ['an unclosed message', 'a { b: 1', "line 1:9: expected '}', found end of input"],
    ['mismatched brackets', 'a < b: 1 }', "line 1:10: expected a field name, found '}'"],
    ['a stray closing brace', 'a: 1 }', "line 1:6: expected a field name, found '}'"],
    ['a missing value', 'a: }', "line 1:4: expected a value for field 'a', found '}'"],
    ['a missing field name', ': 3', "line 1:1: expected a field name, found ':'"],
    ['an unterminated string', 's: "abc', 'line 1:4: unterminated string'],
    ['a string broken by a newline', 's: "ab\nc"', 'line 1:4: unterminated string'],
    ['an unknown escape', 's: "a\\qb"', 'line 1:6: invalid escape "\\q" in string'],
    ['a hex escape without digits', 's: "\\xg"', 'line 1:5: hex escape "\\x" has no digits'],
    ['an octal escape above 255', 's: "\\400"', 'line 1:5: octal escape "\\400" is larger than one byte'],
    ['a short unicode escape', 's: "\\u12"', 'line 1:5: invalid unicode escape "\\u12"'],
    ['letters glued to a number', 'n: 12abc', 'line 1:4: invalid number "12abc"'],
    ['a number with two points', 'n: 1.2.3', 'line 1:4: invalid number "1.2.3"'],
    ['an exponent without digits', 'n: 1e', 'line 1:4: invalid number "1e": exponent has no digits'],
    ['a hex prefix without digits', 'n: 0x', 'line 1:4: invalid hex number "0x"'],
    ['a non-octal digit after a leading zero', 'n: 09', 'line 1:4: invalid number "09": a leading zero means octal'],
    ['a code point above U+10FFFF', 's: "\\U00110000"', 'line 1:5: invalid unicode escape "\\U00110000"'],
    ['an unexpected character', 'x: @', 'line 1:4: unexpected character "@"'],
    ['a trailing comma in a list', 'dims: [1, 2,]', "line 1:13: expected a list element, found ']'"],
    ['list items without a comma', 'dims: [1 2]', "line 1:10: expected ',' or ']' in list, found 2"],
    ['an unclosed list', 'dims: [1, 2', "line 1:12: expected ',' or ']' in list, found end of input"],
    ['a list inside a list', 'dims: [[1]]', "line 1:8: expected a list element, found '['"],
    ['a minus before a name', 'a: -foo', "line 1:5: expected a number after '-', found foo"],
    ['an error on a later line', 'name: "x"\n  dims: [1,\n    @]', 'line 3:5: unexpected character "@"'],
  ])('rejects %s with its position', (_name, text, message) => {
    let error: unknown;
    try {
      parsePbtxt(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ModelConfigError);
    expect((error as ModelConfigError).code).toBe('SCORELINE_MODEL_CONFIG');
    expect((error as Error).message).toBe(message);
  });
});
