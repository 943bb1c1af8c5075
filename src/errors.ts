/**
 * The one error registry. Every error that crosses a module boundary is one of these
 * classes: a stable `code` that callers match on, a default message, an optional `cause`,
 * and the HTTP status a server answers with. Servers pick the status in exactly one
 * function each (engine: `engine/http/error-status.ts`, front end: `frontend/http/error-status.ts`),
 * and those functions read `status` from here, so a code never maps to two statuses.
 *
 * Codes are part of the public API: never rename one, only add.
 *
 * Recognising one: `err instanceof ScorelineError` (or any registry class), which holds
 * across two copies of the package too (a score module that bundles its own scoreline):
 * every registry error carries the `Symbol.for('scoreline.error')` brand, as undici's
 * errors carry theirs, and the classes' `Symbol.hasInstance` reads it. A class from another
 * copy is matched by name, so names are unique in the registry (test/internals/errors.test.ts).
 */

/** The brand: the same symbol in every copy of scoreline (Symbol.for is process-wide). */
const SCORELINE_ERROR_BRAND = Symbol.for('scoreline.error');

export interface ScorelineErrorOptions {
  cause?: unknown;
}

export class ScorelineError extends Error {
  /** Stable, machine-readable identifier. */
  readonly code: string = 'SCORELINE_ERROR';
  /** HTTP status a server sends for this error. */
  readonly status: number = 500;

  constructor(message: string, options: ScorelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  get [SCORELINE_ERROR_BRAND](): true {
    return true;
  }

  /**
   * This copy's classes by the prototype chain; another copy's by the brand, and for a
   * subclass by a class of the same name in the instance's chain (`err instanceof
   * InvalidArgumentError` holds for another copy's ModelConfigError).
   */
  static override [Symbol.hasInstance](this: abstract new (...args: never[]) => unknown, instance: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, instance)) return true;
    if (typeof instance !== 'object' || instance === null) return false;
    if ((instance as { [SCORELINE_ERROR_BRAND]?: unknown })[SCORELINE_ERROR_BRAND] !== true) return false;
    if (this === ScorelineError) return true;
    for (let proto: unknown = Object.getPrototypeOf(instance); proto !== null; proto = Object.getPrototypeOf(proto)) {
      if (Object.hasOwn(proto as object, 'constructor') && (proto as { constructor: { name: string } }).constructor.name === this.name) return true;
    }
    return false;
  }
}

/** Bad input from a caller: a request, a tensor, an option. Triton's INVALID_ARG. */
export class InvalidArgumentError extends ScorelineError {
  override readonly code: string = 'SCORELINE_INVALID_ARGUMENT';
  override readonly status: number = 400;
}

/** An option (CLI flag, env var, constructor option) failed validation; the message names it. */
export class InvalidOptionError extends InvalidArgumentError {
  override readonly code = 'SCORELINE_INVALID_OPTION';
}

/** A model's config.pbtxt (or override) is malformed or inconsistent; the message names model and field. */
export class ModelConfigError extends InvalidArgumentError {
  override readonly code = 'SCORELINE_MODEL_CONFIG';
}

/** A request body could not be decoded (JSON syntax, binary framing, header length). */
export class MalformedRequestError extends InvalidArgumentError {
  override readonly code = 'SCORELINE_MALFORMED_REQUEST';
}

/**
 * Unknown model or version. Triton's HTTP answered 400 for these before v2.42 (24.01; 404 since),
 * and clients that check for 400 depend on it, so HTTP keeps 400. Triton's core calls them
 * NOT_FOUND, and gRPC answers NOT_FOUND (engine/grpc/grpc-status.ts).
 */
export class ModelNotFoundError extends InvalidArgumentError {
  override readonly code = 'SCORELINE_MODEL_NOT_FOUND';
}

/** A method the route does not serve; the server sets `Allow`. */
export class MethodNotAllowedError extends ScorelineError {
  override readonly code = 'SCORELINE_METHOD_NOT_ALLOWED';
  override readonly status = 405;
  constructor(message = 'Method not allowed', options?: ScorelineErrorOptions) {
    super(message, options);
  }
}

/** A route or resource that does not exist. */
export class NotFoundError extends ScorelineError {
  override readonly code: string = 'SCORELINE_NOT_FOUND';
  override readonly status: number = 404;
}

/** Model not ready, engine starting or stopping. Triton's UNAVAILABLE. */
export class UnavailableError extends ScorelineError {
  override readonly code: string = 'SCORELINE_UNAVAILABLE';
  override readonly status: number = 503;
}

/** The dynamic batcher's queue is full (Triton: "Exceeds maximum queue size"). */
export class QueueFullError extends UnavailableError {
  override readonly code = 'SCORELINE_QUEUE_FULL';
  constructor(message = 'Exceeds maximum queue size', options?: ScorelineErrorOptions) {
    super(message, options);
  }
}

/** A queued request outlived its queue-policy timeout (Triton: "Request timeout expired"). */
export class QueueTimeoutError extends UnavailableError {
  override readonly code = 'SCORELINE_QUEUE_TIMEOUT';
  constructor(message = 'Request timeout expired', options?: ScorelineErrorOptions) {
    super(message, options);
  }
}

/**
 * Shed at the door: the work queued ahead of a request cannot finish within its timeout,
 * so it is refused now rather than queued to expire (Triton's REJECTED failure reason).
 */
export class DeadlineUnreachableError extends UnavailableError {
  override readonly code = 'SCORELINE_DEADLINE_UNREACHABLE';
}

/** The caller went away (connection closed, gRPC cancel) before the request was run. */
export class RequestCancelledError extends ScorelineError {
  override readonly code = 'SCORELINE_CANCELLED';
  /** nginx's "client closed request": nobody reads it, the logs do. */
  override readonly status = 499;
  constructor(message = 'the request was cancelled before it ran', options?: ScorelineErrorOptions) {
    super(message, options);
  }
}

/** The server is shutting down and accepts no new work. */
export class ShuttingDownError extends UnavailableError {
  override readonly code = 'SCORELINE_SHUTTING_DOWN';
}

/** A body larger than the configured limit. */
export class PayloadTooLargeError extends ScorelineError {
  override readonly code = 'SCORELINE_PAYLOAD_TOO_LARGE';
  override readonly status = 413;
}

/** A feature that is recognised but not implemented (Triton's UNSUPPORTED). */
export class UnsupportedError extends ScorelineError {
  override readonly code = 'SCORELINE_UNSUPPORTED';
  override readonly status = 501;
}

/** Model execution failed inside the backend. */
export class InferenceError extends ScorelineError {
  override readonly code = 'SCORELINE_INFERENCE_FAILED';
  override readonly status = 500;
}

/** A model could not be loaded (missing file, bad ONNX, CUDA missing for KIND_GPU). */
export class ModelLoadError extends ScorelineError {
  override readonly code = 'SCORELINE_MODEL_LOAD_FAILED';
  override readonly status = 400;
}

// ---- front end -------------------------------------------------------------------

/**
 * run() did not finish within SCORING_TIMEOUT_MS (or the caller's x-scoreline-timeout-ms).
 * 500, not 504, with x-ms-run-function-failed: True: azmlinfsrv answers so, and AzureML
 * clients' retry policies key on it.
 */
export class ScoringTimeoutError extends ScorelineError {
  override readonly code = 'SCORELINE_SCORING_TIMEOUT';
  override readonly status = 500;
  constructor(readonly timeoutMs: number, options?: ScorelineErrorOptions) {
    super(`Scoring timeout after ${timeoutMs} ms`, options);
  }
}

/** Missing or wrong API key. */
export class UnauthorizedError extends ScorelineError {
  override readonly code = 'SCORELINE_UNAUTHORIZED';
  override readonly status = 401;
}

/** The per-worker concurrency limit is reached. */
export class TooManyRequestsError extends ScorelineError {
  override readonly code = 'SCORELINE_TOO_MANY_REQUESTS';
  override readonly status = 429;
}

/**
 * Load shedding: the requests this worker already holds would keep a new one waiting past
 * its deadline, so it is refused at once (429, as AzureML's front end answers when full).
 */
export class OverloadedError extends ScorelineError {
  override readonly code = 'SCORELINE_OVERLOADED';
  override readonly status = 429;
}

/** A request-id header longer than AzureML allows (100 characters). */
export class HeaderTooLongError extends ScorelineError {
  override readonly code = 'SCORELINE_HEADER_TOO_LONG';
  override readonly status = 431;
}

/** The request body failed the score module's inputSchema. */
export class SchemaValidationError extends InvalidArgumentError {
  override readonly code = 'SCORELINE_SCHEMA_VALIDATION';
  constructor(message: string, readonly issues: unknown[] = [], options?: ScorelineErrorOptions) {
    super(message, options);
  }
}

/** The score module does not satisfy the contract (missing init/run), or init() failed. */
export class ScoreModuleError extends ScorelineError {
  override readonly code = 'SCORELINE_SCORE_MODULE';
  override readonly status = 500;
}

// ---- client ----------------------------------------------------------------------

/**
 * The server answered with an error. Mirrors tritonclient's InferenceServerException:
 * `status` is the HTTP status the server sent, `message` its `{"error": ...}` text.
 */
export class InferenceServerError extends ScorelineError {
  override readonly code = 'SCORELINE_SERVER_ERROR';
  override readonly status: number;
  constructor(status: number, message: string, readonly debugDetails?: string, options?: ScorelineErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** The connection failed (refused, reset, DNS). */
export class NetworkError extends ScorelineError {
  override readonly code = 'SCORELINE_NETWORK';
  override readonly status = 503;
}

/** A client-side connect or network timeout. */
export class ClientTimeoutError extends ScorelineError {
  override readonly code = 'SCORELINE_CLIENT_TIMEOUT';
  override readonly status = 504;
}

// ---- the client's lean HTTP/1.1 transport (http1/http1-pool.ts, http1-response-parser.ts) ----

/**
 * The lean transport's own failures, by code, and the status each stands for: the one the
 * client's error (client/transport-error.ts turns these into ClientTimeoutError 504,
 * NetworkError 503 or InvalidArgumentError 400) carries.
 */
export const HTTP1_ERROR_STATUS = {
  SCORELINE_HTTP1_CONNECT_TIMEOUT: 504,
  SCORELINE_HTTP1_RESPONSE_TIMEOUT: 504,
  SCORELINE_HTTP1_CLOSED: 503,
  SCORELINE_HTTP1_INVALID_REQUEST: 400,
  SCORELINE_HTTP1_CONNECTION_LOST: 503,
  /** A malformed response: the connection cannot be trusted for another request. */
  SCORELINE_HTTP1_PROTOCOL: 503,
  /** The connection closed before the response's last byte (a load generator counts that apart). */
  SCORELINE_HTTP1_INCOMPLETE: 503,
} as const;
export type Http1ErrorCode = keyof typeof HTTP1_ERROR_STATUS;

/** Base of the lean transport's failures; the code says which. */
export class Http1TransportError extends ScorelineError {
  override readonly code: Http1ErrorCode;
  override readonly status: number;
  constructor(code: Http1ErrorCode, message: string, options?: ScorelineErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = HTTP1_ERROR_STATUS[code];
  }
}

export type Http1PoolErrorCode = Exclude<Http1ErrorCode, 'SCORELINE_HTTP1_PROTOCOL' | 'SCORELINE_HTTP1_INCOMPLETE'>;

/** The pool's failures: timeouts, a closed pool, a request it refuses, a lost connection. */
export class Http1PoolError extends Http1TransportError {
  declare readonly code: Http1PoolErrorCode;
  constructor(code: Http1PoolErrorCode, message: string, options?: ScorelineErrorOptions) {
    super(code, message, options);
  }
}

/** The response parser's failures. */
export class Http1ProtocolError extends Http1TransportError {
  declare readonly code: 'SCORELINE_HTTP1_PROTOCOL' | 'SCORELINE_HTTP1_INCOMPLETE';
  constructor(message: string, code: 'SCORELINE_HTTP1_PROTOCOL' | 'SCORELINE_HTTP1_INCOMPLETE' = 'SCORELINE_HTTP1_PROTOCOL') {
    super(code, message);
  }
}

/** Any registry error, this copy's or another copy's (the brand). */
export function isScorelineError(err: unknown): err is ScorelineError {
  return err instanceof ScorelineError;
}
