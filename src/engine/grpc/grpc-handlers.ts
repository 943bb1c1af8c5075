/**
 * The GRPCInferenceService RPCs. Each one maps onto the ModelManager exactly as its HTTP
 * route does (http/engine-routes.ts), so the two protocols answer alike and ModelInfer
 * goes through the same version, scheduler and batches as POST .../infer. Handlers never
 * choose a status code: they throw, and grpc-status.ts maps the error.
 */
import { InvalidArgumentError, UnsupportedError } from '../../errors';
import { parseConfigOverride } from '../config/config-override';
import { publicErrorText } from '../../util/public-error-text';
import { modelConfigToJson } from '../config/model-config';
import type { ModelManager } from '../models/model-manager';
import { modelMetadata } from '../models/model-metadata';
import { type InferSpan, startInferSpan } from '../../telemetry/infer-span';
import type { TraceSettings } from '../../telemetry/trace-settings';
import { tracingEnabled } from '../../telemetry/tracing-state';
import { decodeGrpcInferRequest } from './grpc-infer-request';
import { grpcErrorReply } from './grpc-status';
import { encodeGrpcInferResponse } from './grpc-infer-response';
import type {
  WireModelInferRequest,
  WireModelInferResponse,
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
  /** Triton's trace extension settings (absent: every request traced when tracing is on). */
  traceSettings?: TraceSettings;
}

/** What a handler may ask of the call besides its message (grpc-js's ServerUnaryCall has both). */
export interface GrpcCallState {
  /** True once the client cancelled or its deadline passed. */
  readonly cancelled: boolean;
  /** The client's deadline: a Date, a millisecond timestamp, or Infinity for none. */
  getDeadline(): Date | number;
  /** The call's metadata (grpc-js's Metadata): `traceparent` continues the caller's trace. */
  readonly metadata?: { get(key: string): Array<string | Buffer> };
}

/** One unary RPC: request message in, response message out (or a thrown error). */
export type GrpcHandler = (ctx: GrpcServiceContext, request: never, call: GrpcCallState) => unknown;

/**
 * The call's gRPC deadline as Triton's `timeout` (microseconds left), the shorter of the two
 * when the request also has a `timeout` parameter; undefined when it has neither.
 */
export function deadlineTimeoutUs(call: GrpcCallState, timeoutParameterUs: number | undefined, nowMs = Date.now()): number | undefined {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(deadlineMs)) return timeoutParameterUs;
  // A deadline already passed still counts: 1 µs, so the request expires instead of running.
  const leftUs = Math.max(1, Math.round((deadlineMs - nowMs) * 1000));
  return timeoutParameterUs === undefined || timeoutParameterUs === 0 ? leftUs : Math.min(leftUs, timeoutParameterUs);
}

/** Proto3 sends "" for an unset string; the manager's "unset" is undefined. */
const optional = (s: string): string | undefined => (s === '' ? undefined : s);

/**
 * A request's model version: undefined when unset, else a non-negative decimal integer.
 * Triton's gRPC server parses the string before it looks the model up
 * (GetModelVersionFromString), so text that is no version is INVALID_ARGUMENT while a
 * well-formed version the model lacks is NOT_FOUND.
 */
export function requestedVersion(version: string): string | undefined {
  if (version === '') return undefined;
  if (/^-\d+$/.test(version)) throw new InvalidArgumentError(`invalid model version specified '${version}', version should be an integral value > 0`);
  if (!/^\d+$/.test(version)) {
    throw new InvalidArgumentError(`failed to get model version from specified version string '${version}', version should be an integral value > 0`);
  }
  return version;
}

/** scoreline serves one repository, so a named one is a feature it lacks (as Triton says). */
function checkRepositoryName(name: string): void {
  if (name !== '') throw new UnsupportedError("'repository_name' specification is not supported");
}

function modelMetadataRpc(ctx: GrpcServiceContext, req: WireModelRequest): unknown {
  return modelMetadata(ctx.models, req.name, requestedVersion(req.version));
}

/**
 * Triton's gRPC ModelReady answers NOT_FOUND for a model or version it does not have
 * (TRITONSERVER_ServerModelIsReady fails in the model lookup) rather than ready: false.
 * A model that exists but cannot serve yet (loading, shutting down) answers ready: false,
 * as HTTP's ready route does.
 */
function modelReady(ctx: GrpcServiceContext, req: WireModelRequest): unknown {
  const version = requestedVersion(req.version);
  try {
    return { ready: ctx.models.getVersion(req.name, version).isReady() };
  } catch (err) {
    if ((err as { code?: string }).code === 'SCORELINE_MODEL_NOT_FOUND') throw err;
    return { ready: false };
  }
}

/**
 * One ModelInferRequest through the model's scheduler, the same for ModelInfer and each
 * message of ModelStreamInfer: `call` gives the deadline and the cancellation.
 */
export async function inferOne(
  ctx: GrpcServiceContext,
  req: WireModelInferRequest,
  call: GrpcCallState,
  rpc: 'ModelInfer' | 'ModelStreamInfer' = 'ModelInfer',
): Promise<WireModelInferResponse> {
  if (!tracingEnabled()) return inferOneUntraced(ctx, req, call);
  const span = startInferSpan(ctx.traceSettings, {
    name: `inference.GRPCInferenceService/${rpc}`,
    model: req.model_name,
    version: optional(req.model_version),
    carrier: traceCarrier(call),
    attributes: { 'rpc.system': 'grpc', 'rpc.service': 'inference.GRPCInferenceService', 'rpc.method': rpc },
  });
  if (!span) return inferOneUntraced(ctx, req, call);
  span.setRequestId(optional(req.id));
  try {
    // Not inside context.with: see the HTTP route (engine-routes.ts) for why.
    return await inferOneUntraced(ctx, req, call, span);
  } catch (err) {
    span.fail(err, { 'rpc.grpc.status_code': grpcErrorReply(err).code });
    throw err;
  }
}

/** The W3C headers among the call's metadata, as the propagator reads them. */
function traceCarrier(call: GrpcCallState): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate', 'baggage']) {
    const value = call.metadata?.get(key)[0];
    if (value !== undefined) carrier[key] = value.toString();
  }
  return carrier;
}

async function inferOneUntraced(
  ctx: GrpcServiceContext,
  req: WireModelInferRequest,
  call: GrpcCallState,
  span?: InferSpan,
): Promise<WireModelInferResponse> {
  const version = ctx.models.getVersion(req.model_name, requestedVersion(req.model_version));
  const request = decodeGrpcInferRequest(req);
  request.timeoutMicroseconds = deadlineTimeoutUs(call, request.timeoutMicroseconds);
  request.isCancelled = () => call.cancelled;
  const response = await version.infer(request);
  span?.succeed(response, { 'rpc.grpc.status_code': 0 });
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
    override = parseConfigOverride(p.string_param!);
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
  ModelReady: modelReady,
  ModelMetadata: modelMetadataRpc,
  ModelConfig: (ctx, req: WireModelRequest) => ({
    config: modelConfigToJson(ctx.models.getConfig(req.name, requestedVersion(req.version))),
  }),
  ModelInfer: inferOne,
  ModelStatistics: (ctx, req: WireModelRequest) => ({
    model_stats: ctx.models.statistics(optional(req.name), requestedVersion(req.version)),
  }),
  RepositoryIndex: async (ctx, req: WireRepositoryIndexRequest) => {
    checkRepositoryName(req.repository_name);
    const index = await ctx.models.repositoryIndex(req.ready);
    // A failed load's reason, like an error's details, never names a path (publicErrorText).
    return { models: index.map((e) => (e.reason ? { ...e, reason: publicErrorText(e.reason) } : e)) };
  },
  RepositoryModelLoad: repositoryModelLoad,
  RepositoryModelUnload: repositoryModelUnload,
};
