/**
 * The one place the front end turns an error into a status and a body. Statuses come from
 * the error registry (src/errors.ts). Two sources:
 * - the server's own checks (request ids, body, API key, schema, limits): the error's
 *   status and message;
 * - the score module's run(): a scoreline error with a status the client can act on (4xx,
 *   503) passes through with its message, so a module (or the engine, through the client)
 *   can refuse bad input with 400; a scoring timeout is azmlinfsrv's 500 "Scoring timeout after N ms"; an engine that cannot be reached is 503
 *   with a message that does not name its address; anything else is AzureML's 500 with its
 *   generic message, the details going to the log only.
 * Every 5xx from run() carries `x-ms-run-function-failed: True`; every 503 and 429
 * carries `Retry-After: 1`.
 */
import { ScorelineError, SchemaValidationError } from '../../errors';
import { publicErrorText } from '../../util/public-error-text';

export interface ErrorReply {
  status: number;
  body: { message: string; issues?: unknown[] };
  runFunctionFailed: boolean;
  headers: Record<string, string>;
}

export const RUN_FAILED_MESSAGE = 'An unexpected error occurred in scoring script. Check the logs for more info.';
export const INTERNAL_ERROR_MESSAGE = 'An unexpected internal error occurred. Check the logs for more info.';
export const ENGINE_UNREACHABLE_MESSAGE = 'The inference engine could not be reached; retry later. Check the logs for more info.';

export function errorReply(err: unknown, source: 'server' | 'run'): ErrorReply {
  const known = asScorelineError(err);
  if (source === 'server') {
    if (known === undefined) return reply(500, INTERNAL_ERROR_MESSAGE, false);
    const out = reply(known.status, known.message, false);
    if (known instanceof SchemaValidationError) out.body.issues = known.issues;
    if (known.status === 429 || known.status === 503) out.headers['retry-after'] = '1';
    if (known.code === 'SCORELINE_UNAUTHORIZED') out.headers['www-authenticate'] = 'Bearer';
    return out;
  }
  if (known !== undefined && (known.code === 'SCORELINE_SCORING_TIMEOUT' || known.status < 500 || known.status === 503)) {
    // A network error names the engine's address: that stays in the log.
    const message = known.code === 'SCORELINE_NETWORK' ? ENGINE_UNREACHABLE_MESSAGE : known.message;
    const out = reply(known.status, message, known.status >= 500);
    // 503 is temporary (engine restarting or unreachable, queue full): say when to retry, so
    // clients and load balancers back off instead of failing the request for good.
    if (known.status === 503 || known.status === 429) out.headers['retry-after'] = '1';
    return out;
  }
  return reply(500, RUN_FAILED_MESSAGE, true);
}

/** Registry errors, also from another copy of scoreline (instanceof reads the registry's brand). */
function asScorelineError(err: unknown): ScorelineError | undefined {
  return err instanceof ScorelineError ? err : undefined;
}

/** Every message, the engine's relayed ones too, leaves without paths, errno names or stack frames. */
function reply(status: number, message: string, runFunctionFailed: boolean): ErrorReply {
  return { status, body: { message: publicErrorText(message) }, runFunctionFailed, headers: {} };
}
