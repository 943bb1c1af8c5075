/**
 * The one error registry. Every error that crosses a module boundary is one of these
 * classes: a stable `code` that callers match on, a default message, an optional `cause`,
 * and the HTTP status a server answers with. Servers pick the status in exactly one
 * function each (engine: `engine/http/error-status.ts`, front end: `frontend/error-status.ts`),
 * and those functions read `status` from here, so a code never maps to two statuses.
 *
 * Codes are part of the public API: never rename one, only add.
 */

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

/** The user's run() threw. AzureML answers 500 and sets x-ms-run-function-failed. */
export class RunFunctionError extends ScorelineError {
  override readonly code = 'SCORELINE_RUN_FAILED';
  override readonly status = 500;
}

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

/** Callers match on `code`, never on class identity across package copies. */
export function isScorelineError(err: unknown): err is ScorelineError {
  return err instanceof ScorelineError;
}
