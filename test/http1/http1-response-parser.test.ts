/**
 * The lean transport's response parser (internals): framing, keep-alive and every way a
 * response can be malformed, fed whole and byte by byte, no sockets.
 */
import { errorOf } from '../helpers/error-of';
import { Http1ProtocolError, Http1ResponseParser, MAX_HEADER_BYTES, type Http1Response } from '../../src/http1/http1-response-parser';

/** Feeds `text` in pieces of `step` bytes; returns the response and the piece it completed on. */
function parse(text: string | Buffer, step = Infinity, bodyless = false): { response: Http1Response | undefined; at: number } {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const parser = new Http1ResponseParser(bodyless);
  for (let at = 0; at < bytes.length; at += Math.min(step, bytes.length)) {
    const response = parser.feed(bytes.subarray(at, at + step));
    if (response !== undefined) return { response, at };
  }
  return { response: undefined, at: -1 };
}

const CHUNKED = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n';

describe('framing', () => {
  it.each([
    ['Content-Length', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello', 'hello'],
    ['chunked, with an extension and a trailer', CHUNKED, 'hello, world'],
    ['Content-Length 0', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', ''],
    ['204 (no body whatever it says)', 'HTTP/1.1 204 No Content\r\ncontent-length: 10\r\n\r\n', ''],
    ['304', 'HTTP/1.1 304 Not Modified\r\n\r\n', ''],
    ['100 Continue before the answer', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok', 'ok'],
  ])('reads a response framed by %s, whole or byte by byte', (_case, text, body) => {
    for (const step of [Infinity, 1, 7]) {
      const { response, at } = parse(text, step);
      expect(response?.body.toString('latin1')).toBe(body);
      // Complete on the last byte, not before.
      expect(at + Math.min(step, text.length)).toBeGreaterThanOrEqual(text.length);
    }
  });

  it('has no body after a HEAD request', () => {
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n', Infinity, true).response?.body.length).toBe(0);
  });

  it('reads a body without Content-Length until the server closes', () => {
    const parser = new Http1ResponseParser();
    expect(parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\npart one, '))).toBeUndefined();
    expect(parser.feed(Buffer.from('part two'))).toBeUndefined();
    const response = parser.end();
    expect([response.body.toString(), response.keepAlive]).toEqual(['part one, part two', false]);
  });

  it('keeps binary bodies byte for byte', () => {
    const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const text = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${binary.length}\r\n\r\n`), binary]);
    expect(parse(text, 13).response?.body.equals(binary)).toBe(true);
  });
});

describe('status, headers and keep-alive', () => {
  it('lower-cases names, joins repeated headers and keeps set-cookie as a list', () => {
    const { response } = parse('HTTP/1.1 404 Not Found\r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n');
    expect(response?.status).toBe(404);
    expect(response?.headers).toEqual({ 'x-a': '1, 2', 'set-cookie': ['a=1', 'b=2'], 'content-length': '0' });
  });

  it.each([
    ['HTTP/1.1 by default', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', true],
    ['not after Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n', false],
    ['not for HTTP/1.0 by default', 'HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n', false],
    ['for HTTP/1.0 with Connection: keep-alive', 'HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n', true],
  ])('keeps the connection alive %s', (_case, text, keepAlive) => {
    expect(parse(text).response?.keepAlive).toBe(keepAlive);
  });

  it("reads the server's keep-alive timeout hint", () => {
    expect(parse('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\ncontent-length: 0\r\n\r\n').response?.keepAliveTimeoutSeconds).toBe(5);
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n').response?.keepAliveTimeoutSeconds).toBeUndefined();
  });
});

describe('malformed responses', () => {
  it.each([
    ['a status line that is not HTTP/1.x', 'HTTP/2 200\r\n\r\n', /not an HTTP\/1\.x status line/],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', /malformed header line/],
    ['white space before the colon', 'HTTP/1.1 200 OK\r\ncontent-length : 1\r\n\r\nx', /malformed header line/],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nx-a: 1\r\n  2\r\n\r\n', /malformed header line/],
    ['a Content-Length that is not a number', 'HTTP/1.1 200 OK\r\ncontent-length: 1,1\r\n\r\nx', /malformed Content-Length/],
    ['a Transfer-Encoding other than chunked', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n', /unsupported Transfer-Encoding 'gzip'/],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/],
    ['chunk data without its CRLF', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n', /chunk data not followed by CRLF/],
    ['bytes past the end of the response', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nxy', /1 bytes after the end of the response/],
  ])('refuses %s', (_case, text, message) => {
    expect(() => parse(text)).toThrow(Http1ProtocolError);
    expect(() => parse(text)).toThrow(message);
  });

  it(`refuses headers over ${MAX_HEADER_BYTES} bytes without waiting for their end`, () => {
    const parser = new Http1ResponseParser();
    parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n'));
    expect(() => parser.feed(Buffer.alloc(MAX_HEADER_BYTES, 'a'))).toThrow(/headers over/);
  });

  it('says whether the connection closed before or during a response', () => {
    expect(() => new Http1ResponseParser().end()).toThrow('the connection closed before a response');
    const parser = new Http1ResponseParser();
    parser.feed(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    expect(parser.started).toBe(true);
    expect(() => parser.end()).toThrow('the connection closed in the middle of the response');
    expect(errorOf(() => parser.end())).toMatchObject({ code: 'SCORELINE_HTTP1_INCOMPLETE' });
  });
});
