/**
 * The one place the engine's HTTP server turns an error into a status and a body.
 * Errors from the registry carry their status (Triton's mapping: INVALID_ARG and unknown
 * models 400, NOT_FOUND 404, UNAVAILABLE 503, UNSUPPORTED 501, INTERNAL 500). Anything
 * else is an internal error whose details stay in the log, not in the response. A message
 * never carries an absolute path, errno name or stack frame (publicErrorText): the log does.
 */
import { ScorelineError } from '../../errors';
import { publicErrorText } from '../../util/public-error-text';

export interface KserveErrorReply {
  status: number;
  body: { error: string };
}

export function kserveErrorReply(err: unknown): KserveErrorReply {
  if (err instanceof ScorelineError) return { status: err.status, body: { error: publicErrorText(err.message) } };
  return { status: 500, body: { error: 'internal error' } };
}
