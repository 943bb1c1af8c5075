/**
 * Errors become gRPC status codes in one function, by the registry's status, following
 * Triton's mapping; the message travels as the details.
 */
import { status } from '@grpc/grpc-js';
import {
  InferenceError,
  InvalidArgumentError,
  MalformedRequestError,
  ModelLoadError,
  ModelNotFoundError,
  NotFoundError,
  PayloadTooLargeError,
  QueueFullError,
  QueueTimeoutError,
  ScorelineError,
  UnavailableError,
  UnsupportedError,
} from '../../../src/errors';
import { grpcErrorReply } from '../../../src/engine/grpc/grpc-status';

describe('grpcErrorReply', () => {
  it.each<[string, ScorelineError, status]>([
    ['an invalid argument (INVALID_ARG)', new InvalidArgumentError('bad shape'), status.INVALID_ARGUMENT],
    ['a malformed request', new MalformedRequestError('bad bytes'), status.INVALID_ARGUMENT],
    ['an unknown model or version (NOT_FOUND, as Triton, though HTTP says 400)', new ModelNotFoundError("Request for unknown model: 'x' is not found"), status.NOT_FOUND],
    ['a model that failed to load', new ModelLoadError('no model.onnx'), status.INVALID_ARGUMENT],
    ['a missing resource (NOT_FOUND)', new NotFoundError('no such thing'), status.NOT_FOUND],
    ['an unavailable model (UNAVAILABLE)', new UnavailableError('not ready'), status.UNAVAILABLE],
    ['a full queue', new QueueFullError(), status.UNAVAILABLE],
    ['a queue timeout', new QueueTimeoutError(), status.UNAVAILABLE],
    ['an unsupported feature (UNSUPPORTED)', new UnsupportedError('no'), status.UNIMPLEMENTED],
    ['a failed execution (INTERNAL)', new InferenceError('ort failed'), status.INTERNAL],
    ['a message too large', new PayloadTooLargeError('too big'), status.RESOURCE_EXHAUSTED],
  ])('maps %s', (_name, error, code) => {
    expect(grpcErrorReply(error)).toEqual({ code, details: error.message });
  });

  it('answers INTERNAL without details for an error outside the registry', () => {
    expect(grpcErrorReply(new TypeError('secret stack detail'))).toEqual({ code: status.INTERNAL, details: 'internal error' });
  });
});
