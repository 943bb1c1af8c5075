/**
 * The GRPCInferenceService RPCs. Each one maps onto the ModelManager exactly as its HTTP
 * route does (http/engine-routes.ts), so the two protocols answer alike and ModelInfer
 * goes through the same version, scheduler and batches as POST .../infer. Handlers never
 * choose a status code: they throw, and grpc-status.ts maps the error.
 */
import { InvalidArgumentError, UnsupportedError } from '../../errors';
import { modelConfigToJson } from '../config/model-config';
import type { ModelManager } from '../models/model-manager';
import { modelMetadata } from '../models/model-metadata';
import { decodeGrpcInferRequest } from './grpc-infer-request';
import { encodeGrpcInferResponse } from './grpc-infer-response';
import type {
  WireModelInferRequest,
  WireModelRequest,
  WireRepositoryIndexRequest,
  WireRepositoryModelRequest,
} from './grpc-messages';

export interface GrpcServiceContext {
  models: ModelManager;
  serverName: string;
  serverVersion: string;
  extensions: readonly string[];
  /** Server liveness/readiness as the engine sees them (false while starting or stopping). */
  isLive(): boolean;
  isReady(): boolean;
}

/** One unary RPC: request message in, response message out (or a thrown error). */
export type GrpcHandler = (ctx: GrpcServiceContext, request: never) => unknown;

/** Proto3 sends "" for an unset string; the manager's "unset" is undefined. */
const optional = (s: string): string | undefined => (s === '' ? undefined : s);

/** scoreline serves one repository, so a named one is a feature it lacks (as Triton says). */
function checkRepositoryName(name: string): void {
  if (name !== '') throw new UnsupportedError("'repository_name' specification is not supported");
}

function modelMetadataRpc(ctx: GrpcServiceContext, req: WireModelRequest): unknown {
  return modelMetadata(ctx.models, req.name, optional(req.version));
}

async function modelInfer(ctx: GrpcServiceContext, req: WireModelInferRequest): Promise<unknown> {
  const version = ctx.models.getVersion(req.model_name, optional(req.model_version));
  const response = await version.infer(decodeGrpcInferRequest(req));
  return encodeGrpcInferResponse(response);
}

async function repositoryModelLoad(ctx: GrpcServiceContext, req: WireRepositoryModelRequest): Promise<unknown> {
  checkRepositoryName(req.repository_name);
  if (req.model_name === '') throw new InvalidArgumentError("'model_name' must not be empty");
  let override: unknown;
  for (const [key, p] of Object.entries(req.parameters)) {
    if (key.startsWith('file:')) throw new UnsupportedError(`load parameter '${key}': model files in the request are not supported`);
    if (key !== 'config') continue;
    if (p.parameter_choice !== 'string_param') throw new InvalidArgumentError("parameter 'config' must be a string_param holding JSON");
    try {
      override = JSON.parse(p.string_param!);
    } catch (err) {
      throw new InvalidArgumentError(`parameter 'config' is not valid JSON: ${(err as Error).message}`);
    }
  }
  await ctx.models.load(req.model_name, override);
  return {};
}

async function repositoryModelUnload(ctx: GrpcServiceContext, req: WireRepositoryModelRequest): Promise<unknown> {
  checkRepositoryName(req.repository_name);
  const p = req.parameters.unload_dependents;
  if (p !== undefined && p.parameter_choice !== 'bool_param') throw new InvalidArgumentError("parameter 'unload_dependents' must be a bool_param");
  await ctx.models.unload(req.model_name, { unloadDependents: p?.bool_param === true });
  return {};
}

/** The handlers by RPC name, as GRPCInferenceService declares them. */
export const GRPC_HANDLERS: Readonly<Record<string, GrpcHandler>> = {
  ServerLive: (ctx) => ({ live: ctx.isLive() }),
  ServerReady: (ctx) => ({ ready: ctx.isReady() }),
  ServerMetadata: (ctx) => ({ name: ctx.serverName, version: ctx.serverVersion, extensions: ctx.extensions }),
  ModelReady: (ctx, req: WireModelRequest) => ({ ready: ctx.models.isModelReady(req.name, optional(req.version)) }),
  ModelMetadata: modelMetadataRpc,
  ModelConfig: (ctx, req: WireModelRequest) => ({
    config: modelConfigToJson(ctx.models.getConfig(req.name, optional(req.version))),
  }),
  ModelInfer: modelInfer,
  ModelStatistics: (ctx, req: WireModelRequest) => ({
    model_stats: ctx.models.statistics(optional(req.name), optional(req.version)),
  }),
  RepositoryIndex: async (ctx, req: WireRepositoryIndexRequest) => {
    checkRepositoryName(req.repository_name);
    return { models: await ctx.models.repositoryIndex(req.ready) };
  },
  RepositoryModelLoad: repositoryModelLoad,
  RepositoryModelUnload: repositoryModelUnload,
};
