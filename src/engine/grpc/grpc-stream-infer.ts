/**
 * ModelStreamInfer: a bidirectional stream of ModelInferRequest in, ModelStreamInferResponse
 * out (tritonclient.grpc's start_stream / async_stream_infer / stop_stream). scoreline has
 * no decoupled models, so each request gets exactly one answer, and, as Triton's server
 * does for non-decoupled models (stream_infer_handler.cc puts each request "in the context
 * queue so that its response is sent in the same order as the request was received"),
 * answers go out in request order. Each request runs as a ModelInfer would (inferOne:
 * the same version lookup, decode, scheduler and batches); a request that fails is answered
 * with `error_message` and its id, and the stream stays open. A refused message (wire
 * check, engine-grpc-server.ts) is answered the same way; one over the receive limit ends
 * the stream with RESOURCE_EXHAUSTED, as gRPC itself refuses it.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../logger';
import { type GrpcServiceContext, inferOne } from './grpc-handlers';
import type { WireModelInferRequest, WireModelStreamInferResponse } from './grpc-messages';
import { grpcErrorReply } from './grpc-status';
import { RefusedMessage } from './request-wire-check';

/**
 * Requests one stream may have between arrival and their answer being handed to gRPC.
 * At the bound the server stops reading the stream (HTTP/2 flow control then holds the
 * client back) until answers go out, so one stream cannot queue unbounded work or answers
 * for a client that never reads them. Batching still sees up to this many of the stream's
 * requests at once.
 */
export const MAX_STREAM_IN_FLIGHT = 256;

/** Whatever the deserializer handed on: a message, or a refusal that is this request's error. */
type StreamMessage = WireModelInferRequest | RefusedMessage;

/** The final-response flag Triton sets on every streamed response (always true: one answer per request). */
const FINAL_RESPONSE = { triton_final_response: { bool_param: true } };

async function answer(ctx: GrpcServiceContext, message: StreamMessage, call: ServerDuplexStream<unknown, unknown>, logger: Logger): Promise<WireModelStreamInferResponse> {
  try {
    if (message instanceof RefusedMessage) throw message.error;
    const response = await inferOne(ctx, message, call, 'ModelStreamInfer');
    return { error_message: '', infer_response: { ...response, parameters: FINAL_RESPONSE } };
  } catch (err) {
    if (!(err as { code?: string }).code?.startsWith('SCORELINE_')) {
      logger.error(`grpc ModelStreamInfer: ${(err as Error).stack ?? String(err)}`);
    }
    // Triton clears the response and sets only the id, so the client knows which request failed.
    const id = message.id;
    return { error_message: grpcErrorReply(err).details, infer_response: { id } };
  }
}

/** An open stream, as the server sees it at shutdown. */
export interface OpenStream {
  /** Stops reading, answers what has been read, then ends the stream with OK; resolves when it has ended. */
  finish(): Promise<void>;
}

export function serveModelStreamInfer(ctx: GrpcServiceContext, call: ServerDuplexStream<unknown, unknown>, logger: Logger): OpenStream {
  let inFlight = 0;
  let paused = false;
  let closing = false;
  // The answers, chained in request order: each waits for the one before it to be written.
  let tail: Promise<void> = Promise.resolve();
  const gone = (): boolean => call.cancelled || call.destroyed;
  const closed = new Promise<void>((resolve) => call.on('close', () => resolve()));

  /** Resolves once gRPC can take more (or the stream has gone, when nothing more is written). */
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        call.off('drain', done);
        call.off('close', done);
        resolve();
      };
      call.on('drain', done);
      call.on('close', done);
    });

  const settle = (): void => {
    inFlight--;
    if (paused && !closing && inFlight < MAX_STREAM_IN_FLIGHT) {
      paused = false;
      call.resume();
    }
  };

  let ended = false;
  const endAfterAnswers = (): void => {
    void tail.then(() => {
      if (ended || gone()) return;
      ended = true;
      call.end();
    });
  };

  call.on('data', (message: StreamMessage) => {
    inFlight++;
    if (inFlight >= MAX_STREAM_IN_FLIGHT && !paused) {
      paused = true;
      call.pause();
    }
    const answered = answer(ctx, message, call, logger);
    tail = tail.then(async () => {
      const response = await answered;
      if (!gone() && !ended && !call.write(response)) await drained();
      settle();
    });
  });
  // The client half-closed (stop_stream): answer what is in flight, then end with OK.
  call.on('end', endAfterAnswers);
  // A cancelled stream: requests still queued see isCancelled() true and are dropped
  // before they run; nothing more is written. 'error' must have a listener (grpc-js emits
  // it on a stream that fails), or it would be thrown.
  call.on('error', (err) => logger.verbose(`grpc ModelStreamInfer stream error: ${err.message}`));

  return {
    // At shutdown a stream the client keeps open would hold the server open for ever: the
    // server stops reading it, answers what it has read, and ends it.
    finish: () => {
      closing = true;
      call.pause();
      endAfterAnswers();
      return closed;
    },
  };
}
