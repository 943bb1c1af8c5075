/**
 * Turns what undici, the lean pool and the socket layer throw into the client's two stable failures:
 * ClientTimeoutError (SCORELINE_CLIENT_TIMEOUT) when a configured timeout expired, and
 * NetworkError (SCORELINE_NETWORK) when the server could not be reached or the connection
 * broke. A caller's own abort is not a failure of ours and passes through as it came.
 */
import { ClientTimeoutError, Http1TransportError, InvalidArgumentError, NetworkError, ScorelineError } from '../errors';
import { CONNECT_TIMEOUT_CODES, RESPONSE_TIMEOUT_CODES } from '../http1/timeout-codes';

export interface TransportErrorContext {
  /** Where the request went, e.g. `POST http://127.0.0.1:8000/v2/models/m/infer`. */
  target: string;
  connectionTimeout: number;
  networkTimeout: number;
  signal?: { readonly aborted: boolean; readonly reason?: unknown };
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** AggregateError (one attempt per address family) has an empty message; use its parts. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return [...new Set(err.errors.map(describe))].join('; ');
  }
  if (err instanceof Error) {
    const code = codeOf(err);
    const message = err.message || err.name;
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(err);
}

export function toTransportError(err: unknown, ctx: TransportErrorContext): unknown {
  // The lean pool's own errors are registry errors too, but they are turned into the client's below.
  if (err instanceof ScorelineError && !(err instanceof Http1TransportError)) return err;
  if (ctx.signal?.aborted) return ctx.signal.reason ?? err;
  const code = codeOf(err);
  if (code !== undefined && CONNECT_TIMEOUT_CODES.has(code)) {
    return new ClientTimeoutError(`${ctx.target}: connecting took longer than connectionTimeout (${ctx.connectionTimeout} ms)`, {
      cause: err,
    });
  }
  if (code !== undefined && RESPONSE_TIMEOUT_CODES.has(code)) {
    return new ClientTimeoutError(`${ctx.target}: no response within networkTimeout (${ctx.networkTimeout} ms)`, { cause: err });
  }
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED' || code === 'SCORELINE_HTTP1_CLOSED') {
    return new NetworkError(`${ctx.target}: the client is closed`, { cause: err });
  }
  if (code === 'UND_ERR_INVALID_ARG' || code === 'SCORELINE_HTTP1_INVALID_REQUEST') {
    // The pool refused the request itself (a header value with a newline, say): the caller's input.
    return new InvalidArgumentError(`${ctx.target}: ${describe(err)}`, { cause: err });
  }
  return new NetworkError(`${ctx.target}: ${describe(err)}`, { cause: err });
}
