/**
 * Reads HTTP/1.1 responses from a connection's bytes, one request in flight at a time (no
 * pipelining): the lean pool (http1-pool.ts: the client's `transport: 'lean'`, perf's http:
 * transport) feeds it what the socket reads.
 * A pure state object, tested without sockets.
 *
 * Framing, as RFC 9112 section 6 orders it: no body for 1xx, 204 and 304 (and after
 * HEAD); `Transfer-Encoding: chunked`; else `Content-Length`; else the body runs until the
 * server closes. Interim 1xx responses (100 Continue) are skipped. Anything malformed is an
 * Http1ProtocolError: the connection cannot be trusted for another request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Http1ProtocolError } from '../errors';

export interface Http1Response {
  status: number;
  /** Names lower-cased; repeated headers joined with ', ' (set-cookie kept as a list). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the connection may carry another request (no `Connection: close`, HTTP/1.1). */
  keepAlive: boolean;
  /** Seconds from `Keep-Alive: timeout=N`, when the server sent it. */
  keepAliveTimeoutSeconds: number | undefined;
}

/**
 * SCORELINE_HTTP1_INCOMPLETE: the connection closed before the response's last byte (a load
 * generator counts that apart); SCORELINE_HTTP1_PROTOCOL: anything else malformed. Both are
 * the registry's (src/errors.ts).
 */
export { Http1ProtocolError };

/** Headers larger than this are refused (Node's own server allows 16 KiB by default). */
export const MAX_HEADER_BYTES = 64 * 1024;

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

type State =
  | { kind: 'head' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailers' }
  | { kind: 'until-close' }
  | { kind: 'done' };

interface Head {
  status: number;
  headers: IncomingHttpHeaders;
  keepAlive: boolean;
  keepAliveTimeoutSeconds: number | undefined;
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/;

/** The head's text up to (not including) the empty line: a status line, then header lines. */
function parseHead(text: string): Head {
  // Lines are walked with indexOf rather than split, and checked by character code rather than
  // by regular expressions: the workers' engine client and the load generator parse every
  // response's head (bench/README.md, "Measurements behind design choices").
  let end = lineEnd(text, 0);
  const statusLine = STATUS_LINE.exec(end === text.length ? text : text.slice(0, end));
  if (statusLine === null) throw new Http1ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(text.slice(0, Math.min(end, 80)))}`);
  const headers: IncomingHttpHeaders = {};
  while (end < text.length) {
    const start = end + 2;
    end = lineEnd(text, start);
    const colon = text.indexOf(':', start);
    if (colon <= start || colon >= end || isSpace(text.charCodeAt(start)) || isSpace(text.charCodeAt(colon - 1))) {
      throw new Http1ProtocolError(`malformed header line: ${JSON.stringify(text.slice(start, Math.min(end, start + 80)))}`);
    }
    const name = text.slice(start, colon).toLowerCase();
    const value = text.slice(colon + 1, end).trim();
    const before = headers[name];
    if (name === 'set-cookie') headers[name] = [...((before as string[] | undefined) ?? []), value];
    else headers[name] = before === undefined ? value : `${before as string}, ${value}`;
  }
  const http10 = statusLine[1] === '0';
  const connection = headers.connection;
  const keepAlive = connection === undefined ? !http10 : http10 ? /\bkeep-alive\b/i.test(connection) : !/\bclose\b/i.test(connection);
  const keepAliveHeader = headers['keep-alive'];
  const timeout = keepAliveHeader === undefined ? null : /\btimeout=(\d+)/i.exec(String(keepAliveHeader));
  return { status: Number(statusLine[2]), headers, keepAlive, keepAliveTimeoutSeconds: timeout ? Number(timeout[1]) : undefined };
}

/** Where the line that starts at `from` ends: its CRLF, or the end of the text. */
function lineEnd(text: string, from: number): number {
  const at = text.indexOf('\r\n', from);
  return at === -1 ? text.length : at;
}

/** What `\s` matches in latin1 text: tab, LF, VT, FF, CR, space and no-break space. */
function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0;
}

export class Http1ResponseParser {
  private state: State = { kind: 'head' };
  private pending: Buffer | undefined;
  private head: Head | undefined;
  private readonly body: Buffer[] = [];
  private bodyBytes = 0;

  /** @param bodyless the request was a HEAD: the response has no body whatever it says. */
  constructor(private readonly bodyless = false) {}

  /** Whether any byte of a response arrived (a request that got none may be retried elsewhere). */
  get started(): boolean {
    return this.pending !== undefined || this.state.kind !== 'head';
  }

  /**
   * Takes bytes read from the socket; returns the response once it is complete. Bytes past
   * the end of that response are an error (nothing was asked for them).
   */
  feed(chunk: Buffer): Http1Response | undefined {
    let data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    while (data.length > 0) {
      const state = this.state;
      switch (state.kind) {
        case 'head': {
          const end = this.find(data, HEADER_END, MAX_HEADER_BYTES, 'response headers');
          if (end === -1) return undefined;
          const head = parseHead(data.toString('latin1', 0, end));
          data = data.subarray(end + HEADER_END.length);
          if (head.status < 200) continue; // an interim response: the real one follows
          this.head = head;
          this.state = this.framing(head);
          break;
        }
        case 'length':
          data = this.keepCounted(state, data, { kind: 'done' });
          break;
        case 'chunk-size': {
          const end = this.find(data, CRLF, 1024, 'a chunk size line');
          if (end === -1) return undefined;
          const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(data.toString('latin1', 0, end));
          if (size === null) throw new Http1ProtocolError(`malformed chunk size: ${JSON.stringify(data.toString('latin1', 0, Math.min(end, 40)))}`);
          data = data.subarray(end + CRLF.length);
          const remaining = parseInt(size[1]!, 16);
          this.state = remaining === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining };
          break;
        }
        case 'chunk-data':
          data = this.keepCounted(state, data, { kind: 'chunk-end' });
          break;
        case 'chunk-end': {
          if (data.length < CRLF.length) {
            this.pending = data;
            return undefined;
          }
          if (data[0] !== 0x0d || data[1] !== 0x0a) throw new Http1ProtocolError('chunk data not followed by CRLF');
          data = data.subarray(CRLF.length);
          this.state = { kind: 'chunk-size' };
          break;
        }
        case 'trailers': {
          // Trailer fields end with an empty line; the client has no use for them.
          const end = this.find(data, CRLF, MAX_HEADER_BYTES, 'response trailers');
          if (end === -1) return undefined;
          data = data.subarray(end + CRLF.length);
          if (end === 0) this.state = { kind: 'done' };
          break;
        }
        case 'until-close':
          this.keep(data);
          data = data.subarray(data.length);
          break;
        case 'done':
          throw new Http1ProtocolError(`${data.length} bytes after the end of the response`);
      }
    }
    return this.state.kind === 'done' ? this.response(this.head!.keepAlive) : undefined;
  }

  /** The connection closed: the response if its body runs until close, else a protocol error. */
  end(): Http1Response {
    if (this.state.kind === 'until-close') return this.response(false);
    if (this.started) throw new Http1ProtocolError('the connection closed in the middle of the response', 'SCORELINE_HTTP1_INCOMPLETE');
    throw new Http1ProtocolError('the connection closed before a response');
  }

  private framing(head: Head): State {
    if (this.bodyless || head.status === 204 || head.status === 304) return { kind: 'done' };
    const transferEncoding = head.headers['transfer-encoding'];
    if (transferEncoding !== undefined) {
      if (!/(?:^|,)\s*chunked\s*$/i.test(String(transferEncoding))) throw new Http1ProtocolError(`unsupported Transfer-Encoding '${String(transferEncoding)}'`);
      return { kind: 'chunk-size' };
    }
    const lengthText = head.headers['content-length'];
    if (lengthText === undefined) return { kind: 'until-close' };
    if (!/^\d{1,15}$/.test(String(lengthText))) throw new Http1ProtocolError(`malformed Content-Length '${String(lengthText)}'`);
    const length = Number(lengthText);
    return length === 0 ? { kind: 'done' } : { kind: 'length', remaining: length };
  }

  /**
   * Where `marker` starts in `data`, or -1 after keeping `data` for the next read (over
   * `limit` bytes without it is an error: `what` names the part in the message).
   */
  private find(data: Buffer, marker: Buffer, limit: number, what: string): number {
    const at = data.indexOf(marker);
    if (at === -1) {
      if (data.length > limit) throw new Http1ProtocolError(`${what} over ${limit} bytes`);
      this.pending = data;
    }
    return at;
  }

  /** Keeps up to `state.remaining` body bytes; moves to `next` when none remain. Returns the rest of `data`. */
  private keepCounted(state: { remaining: number }, data: Buffer, next: State): Buffer {
    const take = Math.min(state.remaining, data.length);
    this.keep(data.subarray(0, take));
    state.remaining -= take;
    if (state.remaining === 0) this.state = next;
    return data.subarray(take);
  }

  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    this.body.push(piece);
    this.bodyBytes += piece.length;
  }

  private response(keepAlive: boolean): Http1Response {
    const { status, headers, keepAliveTimeoutSeconds } = this.head!;
    const body = this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body, this.bodyBytes);
    return { status, headers, body, keepAlive, keepAliveTimeoutSeconds };
  }
}
