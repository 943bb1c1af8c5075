/**
 * The KServe v2 HTTP routes (with Triton's repository and statistics extensions). Each
 * handler gets the parsed path parameters and answers with a `Reply`; the server writes
 * it. Handlers never pick an error status themselves: they throw, and error-status.ts does.
 */
import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError, NotFoundError, UnsupportedError } from '../../errors';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../../tensor/inference-wire';
import { modelConfigLimits } from '../config/config-limits';
import { parseConfigOverride } from '../config/config-override';
import { modelConfigToJson } from '../config/model-config';
import type { ModelManager } from '../models/model-manager';
import { modelMetadata } from '../models/model-metadata';
import { chooseResponseCoding, decodeContentEncoding, encodeContent } from './content-coding';
import { decodeInferRequest } from './infer-request-codec';
import { encodeInferResponse } from './infer-response-codec';
import { publicErrorText } from '../../util/public-error-text';
import { readBody } from '../../util/read-body';
import { type InferSpan, startInferSpan } from '../../telemetry/infer-span';
import type { TraceSettings } from '../../telemetry/trace-settings';
import { tracingEnabled } from '../../telemetry/tracing-state';
import { kserveErrorReply } from './error-status';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON value, or pre-encoded parts. */
  json?: unknown;
  parts?: Buffer[];
  byteLength?: number;
}

export interface RouteContext {
  models: ModelManager;
  serverName: string;
  serverVersion: string;
  extensions: readonly string[];
  maxInputBytes: number;
  /** Server liveness/readiness as the engine sees them (false while starting or stopping). */
  isLive(): boolean;
  isReady(): boolean;
  /** False until the start-up loads finished (a restarted engine listens before its models are back). */
  isStarted?(): boolean;
  /** Triton's trace extension settings (absent: every request traced when tracing is on). */
  traceSettings?: TraceSettings;
}

type Handler = (ctx: RouteContext, req: IncomingMessage, params: Record<string, string>) => Promise<Reply> | Reply;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

const routes: Route[] = [];

/** Registers `METHOD /path/:param/...`; params match one path segment. */
function route(method: string, path: string, handler: Handler): void {
  const keys: string[] = [];
  const source = path.replace(/:([a-z]+)/g, (_, k: string) => {
    keys.push(k);
    return '([^/]+)';
  });
  routes.push({ method, pattern: new RegExp(`^${source}$`), keys, handler });
}

/** Finds the handler for a request; 404 for an unknown path, 405 semantics folded into 404 as Triton does. */
export function matchRoute(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
  for (const r of routes) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(pathname);
    if (!m) continue;
    const params: Record<string, string> = {};
    r.keys.forEach((k, i) => {
      try {
        params[k] = decodeURIComponent(m[i + 1]!);
      } catch {
        throw new InvalidArgumentError(`malformed path segment '${m[i + 1]}'`);
      }
    });
    return { handler: r.handler, params };
  }
  throw new NotFoundError(`Not Found: ${method} ${pathname}`);
}

const ok = (json?: unknown): Reply => ({ status: 200, json });

/** The request body, decompressed when it came with a Content-Encoding (content-coding.ts). */
async function requestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const body = await readBody(req, maxBytes);
  const coding = req.headers['content-encoding'];
  return coding === undefined ? body : decodeContentEncoding(body, coding, maxBytes);
}

async function jsonBody(ctx: RouteContext, req: IncomingMessage, maxBytes = ctx.maxInputBytes): Promise<Record<string, unknown>> {
  const body = await requestBody(req, maxBytes);
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`failed to parse the request JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

// ---- server ---------------------------------------------------------------------

route('GET', '/v2', (ctx) => ok({ name: ctx.serverName, version: ctx.serverVersion, extensions: ctx.extensions }));
route('GET', '/v2/health/live', (ctx) => ({ status: ctx.isLive() ? 200 : 503 }));
route('GET', '/v2/health/ready', (ctx) => ({ status: ctx.isReady() ? 200 : 503 }));

// ---- models ---------------------------------------------------------------------

function modelMetadataRoute(ctx: RouteContext, p: Record<string, string>): Reply {
  return ok(modelMetadata(ctx.models, p.model!, p.version));
}

function modelReady(ctx: RouteContext, p: Record<string, string>): Reply {
  // Triton answers 400 for a model that is not ready; clients only look at 200.
  return { status: ctx.models.isModelReady(p.model!, p.version) ? 200 : 400 };
}

function modelConfig(ctx: RouteContext, p: Record<string, string>): Reply {
  return ok(modelConfigToJson(ctx.models.getConfig(p.model!, p.version)));
}

function modelStats(ctx: RouteContext, p: Record<string, string>): Reply {
  return ok({ model_stats: ctx.models.statistics(p.model, p.version) });
}

const INFER_ROUTE = 'POST /v2/models/{model}/infer';

/** The infer route: traced (infer-span.ts) when tracing is on, else straight through at the cost of one check. */
async function infer(ctx: RouteContext, req: IncomingMessage, p: Record<string, string>): Promise<Reply> {
  if (!tracingEnabled()) return inferUntraced(ctx, req, p);
  const span = startInferSpan(ctx.traceSettings, {
    name: INFER_ROUTE,
    model: p.model!,
    version: p.version,
    carrier: req.headers,
    attributes: { 'http.request.method': 'POST', 'http.route': p.version === undefined ? '/v2/models/{model}/infer' : '/v2/models/{model}/versions/{version}/infer' },
  });
  if (!span) return inferUntraced(ctx, req, p);
  // Not run inside context.with: the engine's spans name their parent explicitly, and on
  // Node 20 the first AsyncLocalStorage.run turns on promise hooks for the whole process
  // (every await then pays for them, a measurable share of a small model's req/s:
  // bench/README.md, "Measurements behind design choices").
  try {
    return await inferUntraced(ctx, req, p, span);
  } catch (err) {
    span.fail(err, { 'http.response.status_code': kserveErrorReply(err).status });
    throw err;
  }
}

async function inferUntraced(ctx: RouteContext, req: IncomingMessage, p: Record<string, string>, span?: InferSpan): Promise<Reply> {
  const version = ctx.models.getVersion(p.model!, p.version);
  const body = await requestBody(req, ctx.maxInputBytes);
  const header = req.headers[INFERENCE_HEADER_CONTENT_LENGTH];
  const decoded = decodeInferRequest(body, Array.isArray(header) ? header[0] : header, ctx.maxInputBytes);
  // HTTP/1.1 has no cancel message: a caller that gives up closes its connection, and the
  // socket's state says so without a listener per request (the queue polls it).
  const socket = req.socket;
  decoded.request.isCancelled = () => socket.destroyed;
  span?.setRequestId(decoded.request.id);
  const response = await version.infer(decoded.request);
  span?.succeed(response, { 'http.response.status_code': 200 });
  const encoded = encodeInferResponse(response, decoded.request.outputs, decoded.binaryDataOutput);
  const coding = chooseResponseCoding(req.headers['accept-encoding']);
  if (coding === undefined) return { status: 200, headers: encoded.headers, parts: encoded.parts, byteLength: encoded.byteLength };
  // Inference-Header-Content-Length still counts the JSON before compression, as Triton's does.
  const compressed = await encodeContent(encoded.parts, coding);
  return { status: 200, headers: { ...encoded.headers, 'content-encoding': coding, vary: 'accept-encoding' }, parts: [compressed], byteLength: compressed.length };
}

route('GET', '/v2/models/stats', (ctx) => ok({ model_stats: ctx.models.statistics() }));

// ---- trace (Triton's trace extension, onto OpenTelemetry: telemetry/trace-settings.ts) ----

function traceSettingsOf(ctx: RouteContext): TraceSettings {
  if (!ctx.traceSettings) throw new UnsupportedError('the trace extension is not enabled on this server');
  return ctx.traceSettings;
}

route('GET', '/v2/trace/setting', (ctx) => ok(traceSettingsOf(ctx).get()));
route('POST', '/v2/trace/setting', async (ctx, req) => ok(traceSettingsOf(ctx).update(await jsonBody(ctx, req, 64 * 1024))));
route('GET', '/v2/models/:model/trace/setting', (ctx, _req, p) => {
  ctx.models.getConfig(p.model!); // an unknown model is 400, as Triton answers
  return ok(traceSettingsOf(ctx).get(p.model!));
});
route('POST', '/v2/models/:model/trace/setting', async (ctx, req, p) => {
  ctx.models.getConfig(p.model!);
  return ok(traceSettingsOf(ctx).update(await jsonBody(ctx, req, 64 * 1024), p.model!));
});
for (const prefix of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
  route('GET', prefix, (ctx, _req, p) => modelMetadataRoute(ctx, p));
  route('GET', `${prefix}/ready`, (ctx, _req, p) => modelReady(ctx, p));
  route('GET', `${prefix}/config`, (ctx, _req, p) => modelConfig(ctx, p));
  route('GET', `${prefix}/stats`, (ctx, _req, p) => modelStats(ctx, p));
  route('POST', `${prefix}/infer`, infer);
}

// ---- repository (Triton's model repository extension) -------------------------------

route('POST', '/v2/repository/index', async (ctx, req) => {
  const body = await jsonBody(ctx, req);
  if (body.ready !== undefined && typeof body.ready !== 'boolean') {
    throw new InvalidArgumentError("'ready' must be a boolean");
  }
  // A failed load's reason is an error message in a 200 body: the same rule as an error reply.
  const index = await ctx.models.repositoryIndex(body.ready === true);
  return ok(index.map((e) => (e.reason ? { ...e, reason: publicErrorText(e.reason) } : e)));
});

route('POST', '/v2/repository/models/:model/load', async (ctx, req, p) => {
  // A load body is a config and a few flags: room for the largest config allowed (JSON
  // escaping can double it) and no more, so a load is never an infer-sized upload.
  const body = await jsonBody(ctx, req, Math.min(ctx.maxInputBytes, 2 * modelConfigLimits().config_bytes + 64 * 1024));
  const params = body.parameters as Record<string, unknown> | undefined;
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw new InvalidArgumentError("'parameters' must be a JSON object");
  }
  let override: unknown;
  for (const key of Object.keys(params ?? {})) {
    // As over gRPC: model files in the request are not supported (nothing is written to disk).
    if (key.startsWith('file:')) throw new UnsupportedError(`load parameter '${key}': model files in the request are not supported`);
  }
  if (params?.config !== undefined) {
    if (typeof params.config !== 'string') throw new InvalidArgumentError("parameter 'config' must be a JSON string");
    override = parseConfigOverride(params.config);
  }
  await ctx.models.load(p.model!, override);
  return { status: 200 };
});

route('POST', '/v2/repository/models/:model/unload', async (ctx, req, p) => {
  const body = await jsonBody(ctx, req);
  const unloadDependents = (body.parameters as Record<string, unknown> | undefined)?.unload_dependents;
  if (unloadDependents !== undefined && typeof unloadDependents !== 'boolean') {
    throw new InvalidArgumentError("parameter 'unload_dependents' must be true or false");
  }
  await ctx.models.unload(p.model!, { unloadDependents: unloadDependents === true });
  return { status: 200 };
});
