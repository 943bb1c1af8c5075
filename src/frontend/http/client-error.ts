/**
 * What a worker answers when Node's HTTP parser gives up on a connection before a request
 * reaches the app: malformed request lines or headers (400), headers over the size limit
 * (431), a client too slow to send its headers or body within the server's timeouts (408).
 * Node's default answers with an empty body; this one adds a JSON `{"message"}` in the
 * AzureML shape, as every other error of the front end has, and never echoes the input.
 * The connection is closed after the answer: the parser's state is unknown. The same goes
 * for `Expect` headers Node cannot meet (417).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../logger';

interface ParserError extends Error {
  code?: string;
}

const ANSWERS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request headers are larger than the server accepts'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request was not received within the time the server allows'],
  HPE_HEADERS_TIMEOUT: [408, 'Request Timeout', 'The request headers were not received within the time the server allows'],
};
const BAD_REQUEST: [number, string, string] = [400, 'Bad Request', 'The request is not valid HTTP/1.1'];

/** A `checkExpectation` listener: `Expect` other than 100-continue gets 417 with a message (Node's has none). */
export function expectationFailed(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ message: 'Only Expect: 100-continue is supported' });
  res.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-ms-run-function-failed': 'False' });
  res.end(body);
}

/** A `clientError` listener for a node:http server. */
export function clientErrorHandler(logger: Logger): (err: ParserError, socket: Socket) => void {
  return (err, socket) => {
    const code = err.code ?? 'unknown';
    // The peer is gone: there is nobody to answer.
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, message] = ANSWERS[code] ?? BAD_REQUEST;
    logger.warn("refused a client's request", { status, reason: code });
    // Node's own default handler checks the same internal field: once a response has begun
    // on this socket, a second status line would corrupt it; closing is all that is left.
    const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-ms-run-function-failed: False\r\nConnection: close\r\n\r\n${body}`,
    );
    // end() flushes, then closes; a peer that stops reading must not hold the socket open.
    socket.setTimeout(5_000, () => socket.destroy());
  };
}
