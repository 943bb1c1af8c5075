/**
 * How a load generator thread reaches the server: HTTP (undici) or gRPC (grpc-js). A
 * LoadTarget is plain data, so it can be handed to worker threads, each of which builds its
 * own transport from it.
 */
import type { GrpcInferMessage } from './grpc-protocol';
import type { PreparedRequest } from './http-transport';

/** What became of one request. `send` never rejects: failures are outcomes too. */
export type Outcome =
  | { ok: true; /** When the response began to arrive (performance.now()). */ firstByteMs: number }
  | { ok: false; /** 'network', 'timeout', 'incomplete', an HTTP status, or 'grpc:CODE'. */ bucket: string; connectionFailed: boolean };

export interface Transport {
  /** Sends the index-th prepared request (round robin) and resolves once its response is complete. */
  send(index: number): Promise<Outcome>;
  /** Waits for nothing: the caller drains first. Closes the connections. */
  close(): Promise<void>;
}

export type LoadTarget =
  | { protocol: 'http'; /** scheme://host:port */ origin: string; requests: readonly PreparedRequest[] }
  | { protocol: 'grpc'; /** host:port */ address: string; messages: readonly GrpcInferMessage[]; /** -H headers, sent as call metadata. */ metadata: Record<string, string> };

export interface TransportOptions {
  connections: number;
  timeoutMs: number;
}

/* eslint-disable @typescript-eslint/no-require-imports */
export function createTransport(target: LoadTarget, options: TransportOptions): Transport {
  // Loaded on demand: an HTTP run never pays for grpc-js and the protocol files.
  if (target.protocol === 'grpc') {
    return (require('./grpc-protocol') as typeof import('./grpc-protocol')).grpcTransport({ address: target.address, messages: target.messages, metadata: target.metadata, ...options });
  }
  return (require('./http-transport') as typeof import('./http-transport')).httpTransport({ origin: target.origin, requests: target.requests, ...options });
}
