/**
 * decodeBytesElements' bounds: with a count from the shape, its work is bounded by that
 * count, whatever the data holds (issue 20, hostile input: a flood of zero-length elements
 * must be refused before it is decoded, not after).
 */
import { MalformedRequestError } from '../../src/errors';
import { decodeBytesElements, encodeBytesElements } from '../../src/tensor/bytes-elements';

describe('decodeBytesElements bounds', () => {
  it('refuses, unread, data too short to hold the count (each element needs a 4-byte prefix)', () => {
    // 11 bytes of garbage: any read would find a malformed prefix; the count check comes first.
    const bytes = Buffer.alloc(11, 0xff);
    expect(() => decodeBytesElements(bytes, 3, "input 'S'")).toThrow(MalformedRequestError);
    expect(() => decodeBytesElements(bytes, 3, "input 'S'")).toThrow(
      "input 'S': BYTES data of 11 bytes cannot hold the 3 elements the shape needs (4 bytes of length prefix each)",
    );
  });

  it('stops at the first element past the count instead of decoding the rest', () => {
    // Two good elements, then a prefix declaring far more bytes than remain: had the decoder
    // gone on, it would have reported that element; it reports the count instead.
    const bytes = Buffer.concat([encodeBytesElements([Buffer.from('a'), Buffer.from('')]), Buffer.from([0xff, 0xff, 0xff, 0x7f])]);
    expect(() => decodeBytesElements(bytes, 2, "input 'S'")).toThrow("input 'S': BYTES data holds more than the 2 elements the shape needs");
  });

  it('refuses a zero-length flood larger than the shape quickly, whatever its size', () => {
    const flood = Buffer.alloc(4 * 1_000_000); // a million zero-length elements
    expect(() => decodeBytesElements(flood, 4, "input 'S'")).toThrow(/holds more than the 4 elements/);
  });

  it('decodes zero-length elements as empty views and keeps the others as views of the data', () => {
    const bytes = encodeBytesElements([Buffer.from(''), Buffer.from('xy'), Buffer.from('')]);
    const elements = decodeBytesElements(bytes, 3, "input 'S'");
    expect(elements.map((e) => e.byteLength)).toEqual([0, 2, 0]);
    expect(Buffer.from(elements[1]!).toString()).toBe('xy');
    expect(elements[1]!.buffer).toBe(bytes.buffer);
  });

  it('still decodes without a count (responses a client reads)', () => {
    const bytes = encodeBytesElements([Buffer.from('a'), Buffer.from('bc')]);
    expect(decodeBytesElements(bytes, undefined, 'output').map((e) => Buffer.from(e).toString())).toEqual(['a', 'bc']);
  });
});
