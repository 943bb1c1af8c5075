/**
 * The protocol files that ship at the package root (`proto/`: Triton's grpc_service.proto and
 * model_config.proto), and the one loader of the KServe v2 gRPC protocol. The engine's gRPC
 * server, `scoreline perf -i grpc` and the model-config reader all find them here, from src/
 * (tsx, jest) and from dist/ (the built package) alike.
 */
import path from 'node:path';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { packageRoot } from './package-root';

export const INFERENCE_SERVICE_PROTO = 'grpc_service.proto';
export const MODEL_CONFIG_PROTO = 'model_config.proto';
/** The service's full name in grpc_service.proto. */
export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';

/** `<package root>/proto/<file>`. */
export function protoPath(file: string): string {
  return path.join(packageRoot(), 'proto', file);
}

/**
 * grpc_service.proto (and the model_config.proto it imports), parsed. `options` say how
 * messages look to the caller: a server wants 64-bit integers exact (strings), a client that
 * only reads shapes and counters may take numbers.
 */
export function loadInferencePackageDefinition(options: Options): PackageDefinition {
  return loadSync(INFERENCE_SERVICE_PROTO, { ...options, includeDirs: [path.dirname(protoPath(INFERENCE_SERVICE_PROTO))] });
}
