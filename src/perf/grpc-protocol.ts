/**
 * `scoreline perf -i grpc`: the KServe v2 gRPC protocol (proto/grpc_service.proto, the file
 * the engine serves) on @grpc/grpc-js: the model's metadata, config and statistics for
 * preparing and checking a run, and ModelInfer for the load itself. Messages keep the
 * protocol's snake_case names, so they read exactly like the HTTP API's JSON.
 */
import * as grpc from '@grpc/grpc-js';
import type { ModelConfig, ModelMetadata, ModelStatistics } from '../client';
import { loadInferencePackageDefinition } from '../util/proto-files';
import type { Outcome, Transport } from './transport';

/** ModelInferRequest with every input in raw_input_contents. */
export interface GrpcInferMessage {
  model_name: string;
  model_version: string;
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
  outputs: Array<{ name: string }>;
  raw_input_contents: Uint8Array[];
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type Rpc<Req, Res> = (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<Res>) => grpc.ClientUnaryCall;

interface InferenceStub extends grpc.Client {
  ModelInfer: Rpc<GrpcInferMessage, unknown>;
  ModelMetadata: Rpc<{ name: string; version: string }, ModelMetadata>;
  ModelConfig: Rpc<{ name: string; version: string }, { config: ModelConfig }>;
  ModelStatistics: Rpc<{ name: string; version: string }, { model_stats: ModelStatistics[] }>;
}

// As large as gRPC allows (-1: no limit), as Triton's clients configure it.
const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

let stubClass: (new (address: string, credentials: grpc.ChannelCredentials, options: object) => InferenceStub) | undefined;

function connect(address: string): InferenceStub {
  if (stubClass === undefined) {
    // longs as numbers: shapes and statistics counters stay far below 2^53.
    const definition = loadInferencePackageDefinition({ keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const inference = (grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: typeof stubClass } }).inference;
    stubClass = inference.GRPCInferenceService;
  }
  return new stubClass!(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

export function grpcStatusName(code: number): string {
  return (grpc.status as unknown as Record<number, string>)[code] ?? String(code);
}

function toMetadata(headers: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  return metadata;
}

export function grpcTransport(options: { address: string; messages: readonly GrpcInferMessage[]; metadata: Record<string, string>; timeoutMs: number }): Transport {
  // One channel per thread: gRPC multiplexes every call in flight over its HTTP/2 connection.
  const stub = connect(options.address);
  const { messages } = options;
  const metadata = toMetadata(options.metadata);
  return {
    send(index: number): Promise<Outcome> {
      return new Promise((resolve) => {
        stub.ModelInfer(messages[index % messages.length]!, metadata, { deadline: Date.now() + options.timeoutMs }, (err) => {
          if (err === null) resolve({ ok: true, firstByteMs: performance.now() });
          else
            resolve({
              ok: false,
              bucket: err.code === grpc.status.DEADLINE_EXCEEDED ? 'timeout' : `grpc:${grpcStatusName(err.code)}`,
              // UNAVAILABLE before any answer: nothing listens (or the connection broke).
              connectionFailed: err.code === grpc.status.UNAVAILABLE && !/queue/i.test(err.details),
            });
        });
      });
    },
    close: async () => stub.close(),
  };
}

/** The engine's metadata, config and statistics over gRPC, shaped as the HTTP API returns them. */
export class GrpcEngineApi {
  private readonly stub: InferenceStub;
  private readonly metadata: grpc.Metadata;

  constructor(
    readonly address: string,
    headers: Record<string, string>,
    private readonly timeoutMs: number,
  ) {
    this.stub = connect(address);
    this.metadata = toMetadata(headers);
  }

  private call<Req, Res>(rpc: Rpc<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      rpc.call(this.stub, request, this.metadata, { deadline: Date.now() + this.timeoutMs }, (err, value) => (err ? reject(err) : resolve(value as Res)));
    });
  }

  modelMetadata(name: string, version: string): Promise<ModelMetadata> {
    return this.call(this.stub.ModelMetadata, { name, version });
  }

  async modelConfig(name: string, version: string): Promise<ModelConfig> {
    return (await this.call(this.stub.ModelConfig, { name, version })).config;
  }

  async statistics(name: string, version: string): Promise<ModelStatistics[]> {
    return (await this.call(this.stub.ModelStatistics, { name, version })).model_stats;
  }

  async close(): Promise<void> {
    this.stub.close();
  }
}
