/**
 * The KServe v2 gRPC service as the engine's server reads its messages (the protocol files and
 * their one loader: src/util/proto-files.ts).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import { INFERENCE_SERVICE_NAME, loadInferencePackageDefinition } from '../../util/proto-files';

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

let serverDefinition: ServiceDefinition | undefined;

/** GRPCInferenceService with the server's options (parsed once per process). */
export function inferenceServiceDefinition(): ServiceDefinition {
  serverDefinition ??= loadInferencePackageDefinition(SERVER_PROTO_OPTIONS)[INFERENCE_SERVICE_NAME] as ServiceDefinition;
  return serverDefinition;
}
