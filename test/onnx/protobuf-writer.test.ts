import { ProtobufWriter } from '../../src/onnx/protobuf-writer';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ProtobufWriter', () => {
  it.each<[string, number | bigint | boolean, string]>([
    ['zero', 0, '0800'],
    ['one', 1, '0801'],
    ['true', true, '0801'],
    ['300 (two bytes)', 300, '08ac02'],
    ['2^31 (beyond a 32-bit shift)', 2 ** 31, '088080808008'],
    ['2^53 - 1 (largest safe number)', Number.MAX_SAFE_INTEGER, '08ffffffffffffff0f'],
    ['2^63 - 1 as bigint', (1n << 63n) - 1n, '08ffffffffffffffff7f'],
    ['-1 (ten-byte two\'s complement)', -1, '08ffffffffffffffffff01'],
    ['-1 as bigint', -1n, '08ffffffffffffffffff01'],
    ['2^64 - 1 as uint64', (1n << 64n) - 1n, '08ffffffffffffffffff01'],
  ])('writes varint field 1 = %s', (_, value, expected) => {
    expect(hex(new ProtobufWriter().varint(1, value).finish())).toBe(expected);
  });

  it.each([
    [1, 0, '0800'],
    [15, 0, '7800'],
    [16, 0, '800100'],
    [20, 7, 'a00107'],
  ])('writes the tag of field %i as a varint of field << 3 | wire type', (field, value, expected) => {
    expect(hex(new ProtobufWriter().varint(field, value).finish())).toBe(expected);
  });

  it('writes floats and doubles little-endian with wire types 5 and 1', () => {
    expect(hex(new ProtobufWriter().float(2, 1).finish())).toBe('150000803f');
    expect(hex(new ProtobufWriter().double(10, -2).finish())).toBe('51' + '00000000000000c0');
    expect(hex(new ProtobufWriter().fixed32(3, 0xdeadbeef).finish())).toBe('1defbeadde');
    expect(hex(new ProtobufWriter().fixed64(3, 1n).finish())).toBe('190100000000000000');
  });

  it('writes strings as UTF-8 with a length prefix', () => {
    expect(hex(new ProtobufWriter().string(2, 'hé').finish())).toBe('1203' + '68c3a9');
    expect(hex(new ProtobufWriter().string(2, '').finish())).toBe('1200');
  });

  it('writes large bytes fields with a multi-byte length and the bytes unchanged', () => {
    const payload = new Uint8Array(300).map((_, i) => i & 0xff);
    const out = new ProtobufWriter().bytes(9, payload).finish();
    expect(hex(out.subarray(0, 3))).toBe('4aac02');
    expect(out.subarray(3)).toEqual(payload);
  });

  it('nests messages with their length, keeping the order of writes', () => {
    const inner = new ProtobufWriter().varint(1, 150).string(2, 'ab');
    const outer = new ProtobufWriter().varint(1, 1).message(3, inner).varint(4, 2);
    expect(hex(outer.finish())).toBe('0801' + '1a07' + '089601' + '12026162' + '2002');
  });

  it('counts the length of nested messages that hold large chunks', () => {
    const inner = new ProtobufWriter().bytes(1, new Uint8Array(1000));
    const outer = new ProtobufWriter().message(1, inner);
    expect(outer.length).toBe(1 + 2 + 1 + 2 + 1000);
    expect(outer.finish()).toHaveLength(outer.length);
  });

  it('packs repeated varints, floats and doubles into one length-delimited field', () => {
    expect(hex(new ProtobufWriter().packedVarints(4, [3, 270, 86942]).finish())).toBe('2206038e029ea705');
    expect(hex(new ProtobufWriter().packedFloats(7, [1, 2]).finish())).toBe('3a08' + '0000803f' + '00000040');
    expect(hex(new ProtobufWriter().packedDoubles(10, [1]).finish())).toBe('5208' + '000000000000f03f');
  });

  it('writes nothing for an empty packed field, as protobuf does', () => {
    expect(new ProtobufWriter().packedVarints(1, []).finish()).toHaveLength(0);
    expect(new ProtobufWriter().packedFloats(1, []).finish()).toHaveLength(0);
  });

  it.each<[string, () => unknown]>([
    ['a field number of 0', () => new ProtobufWriter().varint(0, 1)],
    ['a fractional value', () => new ProtobufWriter().varint(1, 1.5)],
    ['an unsafe integer', () => new ProtobufWriter().varint(1, 2 ** 60)],
    ['a value over 64 bits', () => new ProtobufWriter().varint(1, 1n << 64n)],
  ])('rejects %s', (_, write) => {
    expect(write).toThrow(RangeError);
  });
});
