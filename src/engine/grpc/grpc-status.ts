/**
 * The one place the engine's gRPC server turns an error into a status code and details.
 * It reads the registry's HTTP status (src/errors.ts), so a code never means two things
 * across the two servers, and follows Triton's mapping of its own error kinds:
 * INVALID_ARG → INVALID_ARGUMENT, NOT_FOUND → NOT_FOUND, UNAVAILABLE → UNAVAILABLE,
 * UNSUPPORTED → UNIMPLEMENTED, INTERNAL → INTERNAL. Anything outside the registry is an
 * internal error whose details stay in the log. Details never carry an absolute path,
 * errno name or stack frame (publicErrorText).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ScorelineError } from '../../errors';
import { publicErrorText } from '../../util/public-error-text';

export interface GrpcErrorReply {
  code: GrpcStatus;
  details: string;
}

const BY_HTTP_STATUS: ReadonlyMap<number, GrpcStatus> = new Map([
  [400, GrpcStatus.INVALID_ARGUMENT],
  [401, GrpcStatus.UNAUTHENTICATED],
  [404, GrpcStatus.NOT_FOUND],
  [413, GrpcStatus.RESOURCE_EXHAUSTED],
  [429, GrpcStatus.RESOURCE_EXHAUSTED],
  [431, GrpcStatus.INVALID_ARGUMENT],
  [500, GrpcStatus.INTERNAL],
  [501, GrpcStatus.UNIMPLEMENTED],
  [503, GrpcStatus.UNAVAILABLE],
  [504, GrpcStatus.DEADLINE_EXCEEDED],
]);

/**
 * Codes whose gRPC status is not their HTTP status's. An unknown model or version is
 * NOT_FOUND in Triton's core (ModelLifeCycle::GetModel) and so NOT_FOUND on Triton's gRPC;
 * scoreline's HTTP keeps 400 for it (see ModelNotFoundError in src/errors.ts).
 */
const BY_CODE: ReadonlyMap<string, GrpcStatus> = new Map([['SCORELINE_MODEL_NOT_FOUND', GrpcStatus.NOT_FOUND]]);

export function grpcErrorReply(err: unknown): GrpcErrorReply {
  if (err instanceof ScorelineError) {
    const byCode = BY_CODE.get(err.code);
    if (byCode !== undefined) return { code: byCode, details: publicErrorText(err.message) };
    const fallback = err.status >= 500 ? GrpcStatus.INTERNAL : GrpcStatus.INVALID_ARGUMENT;
    return { code: BY_HTTP_STATUS.get(err.status) ?? fallback, details: publicErrorText(err.message) };
  }
  return { code: GrpcStatus.INTERNAL, details: 'internal error' };
}
