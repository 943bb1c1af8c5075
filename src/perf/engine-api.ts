/**
 * What `scoreline perf` asks an engine besides inferences: the model's metadata and config
 * (to build requests) and its statistics (the server side of each measurement), over the
 * protocol the load uses: HTTP through scoreline's client, gRPC through grpc-protocol.
 * Both return the protocol's documents with the same field names.
 */
import { InferenceServerClient } from '../client';
import type { ModelConfig, ModelMetadata, ModelStatistics } from '../client';
import type { EngineTarget } from './perf-options';

export interface EngineApi {
  /** The server, as messages name it. */
  readonly where: string;
  modelMetadata(name: string, version: string): Promise<ModelMetadata>;
  modelConfig(name: string, version: string): Promise<ModelConfig>;
  statistics(name: string, version: string): Promise<ModelStatistics[]>;
  close(): Promise<void>;
}

function httpEngineApi(url: string, headers: Record<string, string>, timeoutMs: number): EngineApi {
  const client = new InferenceServerClient({ url, concurrency: 2, headers, networkTimeout: timeoutMs });
  const version = (v: string) => ({ modelVersion: v === '' ? undefined : v });
  return {
    where: url,
    modelMetadata: (name, v) => client.getModelMetadata(name, version(v)),
    modelConfig: (name, v) => client.getModelConfig(name, version(v)),
    statistics: async (name, v) => (await client.getInferenceStatistics(name, version(v))).model_stats,
    close: () => client.close(),
  };
}

/* eslint-disable @typescript-eslint/no-require-imports */
export function engineApi(target: EngineTarget, headers: Record<string, string>, timeoutMs: number): EngineApi {
  if (target.protocol === 'grpc') {
    const { GrpcEngineApi } = require('./grpc-protocol') as typeof import('./grpc-protocol');
    const api = new GrpcEngineApi(target.url, headers, timeoutMs);
    return {
      where: `grpc://${target.url}`,
      modelMetadata: (n, v) => api.modelMetadata(n, v),
      modelConfig: (n, v) => api.modelConfig(n, v),
      statistics: (n, v) => api.statistics(n, v),
      close: () => api.close(),
    };
  }
  return httpEngineApi(target.url, headers, timeoutMs);
}
