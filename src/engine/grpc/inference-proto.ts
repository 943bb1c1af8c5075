/**
 * Loads the KServe v2 gRPC protocol (proto/grpc_service.proto and model_config.proto) at
 * run time. The .proto files ship at the package root, so the directory is found by walking
 * up from this file: that works from src/engine/grpc (tsx, jest) and from
 * dist/src/engine/grpc (the built package) alike.
 */
import path from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { packageRoot } from '../../util/package-root';
import { type Options, type PackageDefinition, loadSync } from '@grpc/proto-loader';

export const INFERENCE_SERVICE_NAME = 'inference.GRPCInferenceService';
const SERVICE_PROTO = 'grpc_service.proto';

/**
 * How the server sees messages: the protocol's snake_case names, 64-bit integers as
 * decimal strings (exact; converted where read), enums by name, absent scalars as their
 * defaults, and `parameter_choice` naming the member a oneof holds.
 */
export const SERVER_PROTO_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The folder holding grpc_service.proto: `<package root>/proto`. */
export function inferenceProtoDir(): string {
  return path.join(packageRoot(), 'proto');
}

/** The parsed protocol; `options` replace the server's (a test client may want numbers for longs). */
export function loadInferencePackageDefinition(options: Options = SERVER_PROTO_OPTIONS): PackageDefinition {
  return loadSync(SERVICE_PROTO, { ...options, includeDirs: [inferenceProtoDir()] });
}

let serverDefinition: ServiceDefinition | undefined;

/** GRPCInferenceService with the server's options (parsed once per process). */
export function inferenceServiceDefinition(): ServiceDefinition {
  serverDefinition ??= loadInferencePackageDefinition()[INFERENCE_SERVICE_NAME] as ServiceDefinition;
  return serverDefinition;
}
