/**
 * The fast JSON reader must be JSON.parse exactly: the same value (numbers bit for bit, -0
 * included, keys in the same order) or UNHANDLED, and UNHANDLED wherever JSON.parse throws;
 * and `bodyInput`, which uses it, must give JSON.parse's value or, where JSON.parse throws,
 * the text. fast-check drives both with JSON documents, number spellings that stress the
 * decimal fast path, and broken text.
 */
import fc from 'fast-check';
import { bodyInput } from '../../src/frontend/http/score-input';
import { UNHANDLED, readJsonFast } from '../../src/util/parse-json-bytes';

/** Deep equality as JSON.parse's results need it: Object.is for numbers, key order counts. */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b as object);
  if (keysA.length !== keysB.length || keysA.some((k, i) => k !== keysB[i])) return false;
  return keysA.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

type Outcome = { value: unknown } | { error: string };

function outcome(parse: () => unknown): Outcome {
  try {
    return { value: parse() };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

function expectSameAsJsonParse(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const decoded = bytes.toString('utf8');
  const expected = outcome(() => JSON.parse(decoded));
  const fast = readJsonFast(bytes);
  const body = bodyInput(bytes);
  if ('error' in expected) {
    expect(fast).toBe(UNHANDLED);
    expect(body).toBe(decoded);
    return;
  }
  if (fast !== UNHANDLED && !sameJson(fast, expected.value)) {
    throw new Error(`the fast reader differs from JSON.parse on ${JSON.stringify(text.slice(0, 300))}`);
  }
  if (!sameJson(body, expected.value)) {
    throw new Error(`bodyInput differs from JSON.parse on ${JSON.stringify(text.slice(0, 300))}`);
  }
}

/** A decimal number's JSON spelling: sign, integer digits, fraction, exponent. */
const decimalText = fc
  .record({
    negative: fc.boolean(),
    integer: fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,19}$/)),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,25}$/), { nil: undefined }),
    exponent: fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })), { nil: undefined }),
  })
  .map(({ negative, integer, fraction, exponent }) =>
    `${negative ? '-' : ''}${integer}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : `${exponent[0]}${exponent[1]}${exponent[2]}`}`,
  );

/** Doubles as programs print them: shortest round-trip, fixed decimals, precision, exponent. */
const printedDouble = fc
  .tuple(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 21 }))
  .chain(([x, decimals, precision]) =>
    fc.constantFrom(String(x), x.toFixed(decimals), x.toPrecision(precision), x.toExponential(decimals), String(Math.fround(x))),
  )
  .filter((text) => !/[a-df-z]/i.test(text));

describe('the fast reader and bodyInput: the same result as JSON.parse', () => {
  test('arbitrary JSON documents, compact and indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, 2, '\t'), (value, indent) => {
        expectSameAsJsonParse(JSON.stringify(value, null, indent));
      }),
      { numRuns: 500 },
    );
  });

  test('number spellings inside a tensor-shaped body', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(decimalText, printedDouble), { minLength: 1, maxLength: 40 }), fc.constantFrom(',', ', ', ' ,\n '), (numbers, separator) => {
        expectSameAsJsonParse(`{"data": [[${numbers.join(separator)}]]}`);
        expectSameAsJsonParse(`[${numbers.join(separator)}]`);
        for (const n of numbers) expectSameAsJsonParse(n);
      }),
      { numRuns: 1000 },
    );
  });

  test('broken and near-JSON text: handed on, and the text is the input', () => {
    const nearJson = fc
      .tuple(fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), fc.nat(), fc.string({ maxLength: 3 }))
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + (at % 2));
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), nearJson), (text) => expectSameAsJsonParse(text)),
      { numRuns: 1000 },
    );
  });

  test.each([
    ['negative zero', '[-0.0, -0, 0.0, -0e5]'],
    ['a __proto__ key is an own property, not the prototype', '{"__proto__": {"polluted": 1.5}, "a": 0.5}'],
    ['duplicate keys: the last value, the first position', '{"a": 0.5, "b": 1.5, "a": 2.5}'],
    ['integer-like keys come first', '{"b": 0.5, "2": 1.5, "1": 2.5}'],
    ['escapes and non-ASCII text', '{"text": "caf\\u00e9 \\"q\\" \\n", "raw": "日本語 café"}'],
    ['integers, booleans, null and mixed arrays', '{"ids": [101, 2023, 102], "ok": true, "no": false, "none": null, "mixed": [0.5, "x", 1]}'],
    ['more digits than a double holds', '[0.12345678901234567890123, 123456789012345678901234567890.5, 1.7976931348623157e308, 5e-324]'],
    ['exponents at and past the exact range', '[1e22, 1e23, 1.5e-22, 1.5e-23, 1e400, 1e-400]'],
    ['deep nesting', `${'['.repeat(2000)}0.5${']'.repeat(2000)}`],
    ['surrounding whitespace', ' \r\n\t{"data": [ [ 0.5 , 0.25 ] ] } \n'],
    ['a byte-order mark', '\ufeff{"data": [0.5]}'],
    ['a trailing comma', '{"data": [0.5, 0.25,]}'],
    ['a leading zero', '[0.5, 01.5]'],
    ['a bare dot', '[0.5, 1.]'],
    ['NaN', '[0.5, NaN]'],
    ['an empty body', ''],
  ])('%s', (_name, text) => {
    expectSameAsJsonParse(text);
  });
});

describe('the fast reader (internals)', () => {
  test('reads the scoring bodies it exists for without handing them on', () => {
    const row = Array.from({ length: 512 }, (_, i) => Math.round(Math.sin(i) * 1e4) / 1e4);
    const bodies = [
      JSON.stringify({ data: [row] }),
      JSON.stringify({ data: [row, row], model: 'mlp', outputs: ['probabilities'] }),
      JSON.stringify({ inputs: { features: [[0.5, -1.25e-3, 3.0]] } }, null, 2),
      JSON.stringify({ data: [[[0.5, 0.25], [1.5, 2.5]]], classification: 3 }),
    ];
    for (const body of bodies) {
      const value = readJsonFast(Buffer.from(body));
      expect(value).not.toBe(UNHANDLED);
      expect(sameJson(value, JSON.parse(body))).toBe(true);
    }
  });

  test.each([
    ['an escape in a string', '{"text": "a\\nb"}'],
    ['a __proto__ key', '{"__proto__": 1.5}'],
    ['an array of integers (V8 reads those faster)', '[1, 2, 3]'],
    ['an array of objects', '[{"a": 0.5}]'],
    ['a number past the exact fast path', '[0.5, 0.12345678901234567]'],
    ['many strings', JSON.stringify(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 0.5])))],
    ['invalid JSON', '{"data": [0.5,]}'],
  ])('hands on %s', (_name, text) => {
    expect(readJsonFast(Buffer.from(text))).toBe(UNHANDLED);
  });
});
