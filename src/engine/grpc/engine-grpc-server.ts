/**
 * The engine's gRPC server: GRPCInferenceService (KServe v2, Triton's package `inference`)
 * on @grpc/grpc-js. It shares the engine's ModelManager with the HTTP server, so a gRPC
 * ModelInfer and an HTTP infer for the same model queue in the same scheduler and may run
 * in one batch.
 */
import {
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { MalformedRequestError, UnavailableError } from '../../errors';
import type { Logger } from '../../logger';
import { GRPC_HANDLERS, type GrpcServiceContext } from './grpc-handlers';
import { grpcErrorReply } from './grpc-status';
import { inferenceServiceDefinition } from './inference-proto';
import { type OpenStream, serveModelStreamInfer } from './grpc-stream-infer';
import { RefusedMessage, checkModelInferWire, checkRequestWire, wireRequestId } from './request-wire-check';

const STREAM_RPC = 'ModelStreamInfer';

export interface EngineGrpcServer {
  readonly port: number;
  readonly host: string;
  /** Stops accepting calls and resolves once the calls in progress have finished. */
  close(): Promise<void>;
}

/**
 * A received message's size is bounded by the same setting as an HTTP body
 * (httpMaxInputSize, --http-max-input-size): grpc-js refuses a larger one, compressed or
 * not, with RESOURCE_EXHAUSTED before it is buffered whole. Sent messages are not bounded
 * (Triton lets them be as large as gRPC allows; -1 is grpc-js's "no limit").
 */
function serverOptions(maxMessageBytes: number): Record<string, number> {
  return {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': -1,
  };
}

/**
 * The service with every deserializer checking the wire bytes first (request-wire-check.ts:
 * ModelInfer and each ModelStreamInfer message in full, the others for their number of
 * fields). A refusal travels to the handler as a RefusedMessage. A message protobufjs
 * cannot decode is refused the same way: grpc-js answers a throwing deserializer with
 * INTERNAL "Error deserializing request" (and ends a stream), where the caller's mistake is
 * INVALID_ARGUMENT; on the stream it is answered there and the stream stays open.
 */
function guardedDefinition(): ServiceDefinition {
  const entries = Object.entries(inferenceServiceDefinition()).map(([name, method]) => {
    const check = name === 'ModelInfer' || name === STREAM_RPC ? checkModelInferWire : checkRequestWire;
    const decode = method.requestDeserialize;
    const messageName = name === STREAM_RPC ? 'ModelInferRequest' : `${name}Request`;
    const decodeChecked = (bytes: Buffer): unknown => {
      try {
        return decode(bytes);
      } catch (err) {
        const error = new MalformedRequestError(`${messageName} cannot be decoded: ${(err as Error).message}`);
        return new RefusedMessage(error, name === STREAM_RPC ? wireRequestId(bytes) : '');
      }
    };
    const requestDeserialize = (bytes: Buffer): unknown => {
      const refusal = check(bytes);
      if (refusal === undefined) return decodeChecked(bytes);
      return new RefusedMessage(refusal, name === STREAM_RPC ? wireRequestId(bytes) : '');
    };
    return [name, { ...method, requestDeserialize }];
  });
  return Object.fromEntries(entries) as ServiceDefinition;
}

function implementation(ctx: GrpcServiceContext, logger: Logger, streams: Set<OpenStream>): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(GRPC_HANDLERS)) {
    impl[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const done = (outcome: string): void =>
        logger.verbose(`grpc ${name} ${outcome} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(2)} ms`);
      // Promise.resolve().then: a handler that throws synchronously is answered like one that rejects.
      Promise.resolve()
        .then(() => {
          if (call.request instanceof RefusedMessage) throw call.request.error;
          return handler(ctx, call.request as never, call);
        })
        .then(
          (response) => {
            callback(null, response);
            done('OK');
          },
          (err: unknown) => {
            const reply = grpcErrorReply(err);
            if (!(err as { code?: string }).code?.startsWith('SCORELINE_')) {
              logger.error(`grpc ${name}: ${(err as Error).stack ?? String(err)}`);
            }
            callback(reply);
            done(`code ${reply.code}`);
          },
        );
    };
  }
  impl[STREAM_RPC] = (call: ServerDuplexStream<unknown, unknown>) => {
    logger.verbose(`grpc ${STREAM_RPC} opened`);
    const stream = serveModelStreamInfer(ctx, call, logger);
    streams.add(stream);
    call.on('close', () => streams.delete(stream));
  };
  return impl;
}

/** `host:port` as gRPC names an address (IPv6 literals in brackets). */
function address(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function startEngineGrpcServer(
  ctx: GrpcServiceContext,
  options: { host: string; port: number; logger: Logger; maxMessageBytes: number },
): Promise<EngineGrpcServer> {
  const server = new Server(serverOptions(options.maxMessageBytes));
  const streams = new Set<OpenStream>();
  server.addService(guardedDefinition(), implementation(ctx, options.logger, streams));
  // grpc-js serves as soon as the bind succeeds (Server.start() is deprecated).
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address(options.host, options.port), ServerCredentials.createInsecure(), (err, bound) => {
      if (err) {
        reject(new UnavailableError(`GRPC service cannot listen on ${options.host}:${options.port}: ${err.message}`, { cause: err }));
      } else {
        resolve(bound);
      }
    });
  });
  return {
    port,
    host: options.host,
    close: async () => {
      const shutdown = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await Promise.all([...streams].map((s) => s.finish()));
      await shutdown;
    },
  };
}
