/**
 * tritonclient.http's InferenceServerClient in TypeScript idiom: the same endpoints, request
 * bodies and error behaviour, with options objects instead of keyword arguments and promises
 * instead of greenlets. Safe to share: calls hold no client state, so any number may be in
 * flight at once (they queue for the pool's `concurrency` connections).
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ClientTimeoutError, InferenceServerError, InvalidArgumentError, NetworkError } from '../errors';
import { INFERENCE_HEADER_CONTENT_LENGTH } from '../tensor';
import { SERVER_STARTING_MESSAGE } from '../tensor/inference-wire';
import { OutageHold } from './outage-hold';
import { InferenceServerClientOptions, ResolvedClientOptions, resolveClientOptions } from './client-options';
import type { AbortState } from '../util/abort-state';
import { HttpRequest, HttpResponse, HttpTransport, QueryParams } from './http-transport';
import { activeRecordingSpan, injectTraceHeaders, tracedInfer } from './infer-tracing';
import { InferInput } from './infer-input';
import { InferResult } from './infer-result';
import { InferRequestBody, InferRequestFields, buildInferRequestBody } from './inference-request-body';
import {
  InferenceStatistics,
  ModelConfig,
  ModelMetadata,
  RepositoryIndexEntry,
  ServerMetadata,
} from './server-responses';

const gzipAsync = promisify(zlib.gzip);
const deflateAsync = promisify(zlib.deflate);
const gunzipAsync = promisify(zlib.gunzip);
const inflateAsync = promisify(zlib.inflate);

export interface RequestOptions {
  /** Extra HTTP headers for this call. */
  headers?: Record<string, string>;
  /** URL query parameters for this call. */
  queryParams?: QueryParams;
  /**
   * Cancels the call; the promise rejects with the signal's reason. An AbortSignal is
   * listened to; any other `{ aborted, reason }` object (a scoring worker's RunContext
   * `cancellation`) is polled every 20 ms while the call is in flight, which costs a call
   * nothing until it is cancelled (src/util/abort-state.ts).
   */
  signal?: AbortSignal | AbortState;
}

export interface ModelRequestOptions extends RequestOptions {
  /** Version to address; '' (default) lets the server choose by the model's version policy. */
  modelVersion?: string | number;
}

/** tritonclient.http's compression algorithms ('gzip', or 'deflate': the zlib format). */
export type CompressionAlgorithm = 'gzip' | 'deflate';

export interface InferOptions extends ModelRequestOptions, InferRequestFields {
  /** Compresses the request body (Content-Encoding), as tritonclient's request_compression_algorithm. */
  requestCompressionAlgorithm?: CompressionAlgorithm;
  /**
   * Asks the server for a compressed response (Accept-Encoding), as tritonclient's
   * response_compression_algorithm; the client decompresses whatever Content-Encoding comes back.
   */
  responseCompressionAlgorithm?: CompressionAlgorithm;
  /**
   * With the client's `resendAfterOutage` option: false fails this call when the server
   * goes away instead of holding and resending it (default true).
   */
  resend?: boolean;
}

export interface LoadModelOptions extends RequestOptions {
  /** A model config (JSON text or an object) to load the model with instead of config.pbtxt. */
  config?: string | Record<string, unknown>;
  /** Override model directory files, keyed 'file:<path>'; requires `config`. */
  files?: Record<string, Uint8Array>;
}

export interface UnloadModelOptions extends RequestOptions {
  /** Also unload the models that depend on this one (ensembles). */
  unloadDependents?: boolean;
}

export interface WaitUntilReadyOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
  /** Models that must be ready as well as the server. */
  models?: ReadonlyArray<string | { name: string; version?: string | number }>;
}

function compressionOption(name: string, value: unknown): CompressionAlgorithm | undefined {
  if (value === undefined || value === 'gzip' || value === 'deflate') return value;
  throw new InvalidArgumentError(`infer option '${name}' must be 'gzip' or 'deflate', got ${JSON.stringify(value)}`);
}

function compress(parts: readonly Buffer[], coding: CompressionAlgorithm): Promise<Buffer> {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return coding === 'gzip' ? gzipAsync(body) : deflateAsync(body);
}

/** The response with its body decoded when the server compressed it (gzip, deflate). */
async function decompressResponse(res: HttpResponse): Promise<HttpResponse> {
  const coding = res.headers['content-encoding'];
  if (coding === undefined || coding === 'identity') return res;
  if (coding !== 'gzip' && coding !== 'deflate') throw new InferenceServerError(res.status, `the server answered with an unsupported Content-Encoding '${coding}'`);
  try {
    return { ...res, body: coding === 'gzip' ? await gunzipAsync(res.body) : await inflateAsync(res.body) };
  } catch (err) {
    throw new InferenceServerError(res.status, `the server's ${coding} response body could not be decompressed: ${(err as Error).message}`, undefined, { cause: err });
  }
}

function checkName(modelName: unknown, what = 'modelName'): string {
  if (typeof modelName !== 'string' || modelName === '') {
    throw new InvalidArgumentError(`${what} must be a non-empty string, got ${JSON.stringify(modelName)}`);
  }
  return modelName;
}

/** `/v2/models/NAME[/versions/V]`, both parts escaped as path segments. */
function modelPath(modelName: unknown, modelVersion: unknown): string {
  const name = encodeURIComponent(checkName(modelName));
  if (modelVersion === undefined || modelVersion === '') return `/v2/models/${name}`;
  if (!(typeof modelVersion === 'string' || (typeof modelVersion === 'number' && Number.isSafeInteger(modelVersion) && modelVersion >= 0))) {
    throw new InvalidArgumentError(`option 'modelVersion' must be a string or a non-negative integer, got ${String(modelVersion)}`);
  }
  return `/v2/models/${name}/versions/${encodeURIComponent(String(modelVersion))}`;
}

/** The server's `{"error": ...}` as an InferenceServerError; a body that is not one becomes the message. */
function serverError(res: HttpResponse): InferenceServerError {
  const text = res.body.toString('utf8');
  if (text.length === 0) return new InferenceServerError(res.status, 'client received an empty response from the server.');
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed?.error === 'string') return new InferenceServerError(res.status, parsed.error);
  } catch {
    // fall through: not JSON
  }
  return new InferenceServerError(res.status, `HTTP ${res.status}: ${text.slice(0, 500)}`, text);
}

function parseJson<T>(res: HttpResponse, what: string): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch (err) {
    throw new InferenceServerError(502, `malformed ${what} response: ${(err as Error).message}`, res.body.toString('utf8'), { cause: err });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class InferenceServerClient {
  /** The server as resolved from the `url` option, e.g. `http://localhost:8000`. */
  readonly url: string;
  private readonly options: ResolvedClientOptions;
  private readonly transport: HttpTransport;
  private readonly outageHold: OutageHold | undefined;
  private closing = false;
  /** The origin as a URL, for the CLIENT span's server attributes. */
  private readonly originUrl: URL;

  constructor(options: InferenceServerClientOptions | string) {
    this.options = resolveClientOptions(options);
    this.url = `${this.options.origin}${this.options.basePath}`;
    this.originUrl = new URL(this.options.origin);
    this.transport = new HttpTransport(this.options);
    const resend = this.options.resendAfterOutage;
    this.outageHold =
      resend === false
        ? undefined
        : new OutageHold({ maxHeldCalls: resend.maxHeldCalls, probeIntervalMs: resend.probeIntervalMs, probe: (signal) => this.isServerReady({ signal }) });
  }

  /** True when `GET /v2/health/live` answers 200. Rejects only when the server is unreachable. */
  async isServerLive(options: RequestOptions = {}): Promise<boolean> {
    return (await this.send('GET', '/v2/health/live', options)).status === 200;
  }

  /** True when `GET /v2/health/ready` answers 200. */
  async isServerReady(options: RequestOptions = {}): Promise<boolean> {
    return (await this.send('GET', '/v2/health/ready', options)).status === 200;
  }

  /** True when the model (version) is loaded and ready; false for any non-200, unknown models included. */
  async isModelReady(modelName: string, options: ModelRequestOptions = {}): Promise<boolean> {
    return (await this.send('GET', `${modelPath(modelName, options.modelVersion)}/ready`, options)).status === 200;
  }

  async getServerMetadata(options: RequestOptions = {}): Promise<ServerMetadata> {
    return this.getJson('/v2', options, 'server metadata');
  }

  async getModelMetadata(modelName: string, options: ModelRequestOptions = {}): Promise<ModelMetadata> {
    return this.getJson(modelPath(modelName, options.modelVersion), options, 'model metadata');
  }

  async getModelConfig(modelName: string, options: ModelRequestOptions = {}): Promise<ModelConfig> {
    return this.getJson(`${modelPath(modelName, options.modelVersion)}/config`, options, 'model config');
  }

  /** Every model in the repository with its state. A POST with an empty body, as Triton defines it. */
  async getModelRepositoryIndex(options: RequestOptions = {}): Promise<RepositoryIndexEntry[]> {
    const res = await this.checked('POST', '/v2/repository/index', options, Buffer.alloc(0));
    return parseJson(res, 'repository index');
  }

  /** Loads or reloads a model (model-control mode explicit on Triton). */
  async loadModel(modelName: string, options: LoadModelOptions = {}): Promise<void> {
    const path = `/v2/repository/models/${encodeURIComponent(checkName(modelName))}/load`;
    const parameters: Record<string, string> = {};
    if (options.config !== undefined) {
      parameters.config = typeof options.config === 'string' ? options.config : JSON.stringify(options.config);
    }
    if (options.files !== undefined) {
      if (options.config === undefined) throw new InvalidArgumentError("loadModel option 'files' requires option 'config'");
      for (const [file, content] of Object.entries(options.files)) {
        parameters[file] = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('base64');
      }
    }
    const body = Object.keys(parameters).length > 0 ? { parameters } : {};
    await this.checked('POST', path, options, Buffer.from(JSON.stringify(body)), 'application/json');
  }

  async unloadModel(modelName: string, options: UnloadModelOptions = {}): Promise<void> {
    const path = `/v2/repository/models/${encodeURIComponent(checkName(modelName))}/unload`;
    const body = { parameters: { unload_dependents: !!options.unloadDependents } };
    await this.checked('POST', path, options, Buffer.from(JSON.stringify(body)), 'application/json');
  }

  /** Statistics of one model (version), or of every model when `modelName` is '' (default). */
  async getInferenceStatistics(modelName = '', options: ModelRequestOptions = {}): Promise<InferenceStatistics> {
    const path = modelName === '' ? '/v2/models/stats' : `${modelPath(modelName, options.modelVersion)}/stats`;
    return this.getJson(path, options, 'inference statistics');
  }

  /**
   * Runs one inference. Inputs go as binary data unless an input was set with
   * `binaryData: false`; outputs come back as `outputs` asks, or all in binary when omitted.
   */
  async infer(modelName: string, inputs: readonly InferInput[], options: InferOptions = {}): Promise<InferResult> {
    // A CLIENT span only inside a recording span (infer-tracing.ts); otherwise one lookup.
    if (activeRecordingSpan() !== undefined) {
      return tracedInfer(this.originUrl, modelName, options.modelVersion, () => this.sendInfer(modelName, inputs, options));
    }
    return this.sendInfer(modelName, inputs, options);
  }

  /**
   * One inference as infer() sends it, inside the call's CLIENT span: held and sent again
   * while the server is away when the client resends after outages (see the option). A
   * resent call's `timeout` is what is left of it. Protected so that `scoreline serve` can
   * route its workers' calls through its merging of calls (src/frontend/
   * coalescing-engine-client.ts) and send what it merged through this; the client itself
   * sends one request per call.
   */
  protected async sendInfer(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult> {
    const hold = this.outageHold;
    if (hold === undefined || options.resend === false) return this.sendInferOnce(modelName, inputs, options);
    const startedMs = Date.now();
    const timeoutUs = options.timeout !== undefined && options.timeout > 0 ? options.timeout : undefined;
    const deadlineMs = startedMs + (timeoutUs === undefined ? (this.options.resendAfterOutage as { maxHoldMs: number }).maxHoldMs : timeoutUs / 1000);
    let attempt = options;
    for (;;) {
      try {
        return await this.sendInferOnce(modelName, inputs, attempt);
      } catch (err) {
        if (!this.isOutage(err)) throw err;
        await hold.waitForServer(err, deadlineMs, options.signal);
        if (timeoutUs !== undefined) attempt = { ...options, timeout: Math.max(1, Math.round((deadlineMs - Date.now()) * 1000)) };
      }
    }
  }

  /** The server is away, not refusing: unreachable, cut off, or restarting. */
  private isOutage(err: unknown): boolean {
    if (this.closing) return false;
    if (err instanceof NetworkError) return true;
    return err instanceof InferenceServerError && err.status === 503 && err.message === SERVER_STARTING_MESSAGE;
  }

  private async sendInferOnce(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult> {
    const path = `${modelPath(modelName, options.modelVersion)}/infer`;
    const request = InferenceServerClient.generateRequestBody(inputs, options);
    const headers: Record<string, string> = { ...options.headers };
    if (request.headerLength !== undefined) headers[INFERENCE_HEADER_CONTENT_LENGTH] = String(request.headerLength);
    injectTraceHeaders(headers);
    let body: readonly Buffer[] = request.parts;
    let bodyLength = request.byteLength;
    const requestCoding = compressionOption('requestCompressionAlgorithm', options.requestCompressionAlgorithm);
    if (requestCoding !== undefined) {
      const compressed = await compress(request.parts, requestCoding);
      headers['content-encoding'] = requestCoding;
      body = [compressed];
      bodyLength = compressed.length;
    }
    const responseCoding = compressionOption('responseCompressionAlgorithm', options.responseCompressionAlgorithm);
    if (responseCoding !== undefined) headers['accept-encoding'] = responseCoding;
    const res = await this.transport.request({
      method: 'POST',
      path,
      query: options.queryParams,
      headers,
      body,
      bodyLength,
      contentType: request.headerLength === undefined ? 'application/json' : 'application/octet-stream',
      signal: options.signal,
    });
    const received = await decompressResponse(res);
    if (received.status !== 200) throw serverError(received);
    const headerLength = received.headers[INFERENCE_HEADER_CONTENT_LENGTH];
    return InferResult.fromResponseBody(received.body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
  }

  /** The body `infer` would send, without sending it (tritonclient's generate_request_body). */
  static generateRequestBody(inputs: readonly InferInput[], fields: InferRequestFields = {}): InferRequestBody {
    return buildInferRequestBody(inputs, fields);
  }

  /** Parses a response body obtained some other way (tritonclient's parse_response_body). */
  static parseResponseBody(body: Buffer, headerLength?: number | string): InferResult {
    return InferResult.fromResponseBody(body, headerLength);
  }

  /**
   * Resolves once the server (and each model in `models`) reports ready; meant for a score
   * module's init(). Unreachable servers and not-ready answers are retried until `timeoutMs`,
   * then it rejects with ClientTimeoutError naming what was still missing.
   */
  async waitUntilReady(options: WaitUntilReadyOptions = {}): Promise<void> {
    const { timeoutMs = 60_000, intervalMs = 100, models = [] } = options;
    for (const [option, value] of [['timeoutMs', timeoutMs], ['intervalMs', intervalMs]] as const) {
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
        throw new InvalidArgumentError(`waitUntilReady option '${option}' must be a non-negative number of milliseconds`);
      }
    }
    const wanted = models.map((m) => (typeof m === 'string' ? { name: m, version: undefined } : m));
    const deadline = Date.now() + timeoutMs;
    let missing: string | undefined;
    for (;;) {
      // Each probe ends at the deadline too: a server that accepts but never answers must
      // not hold us for a whole networkTimeout.
      const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      try {
        if (!(await this.isServerReady({ signal }))) {
          missing = `the server (${this.url}/v2/health/ready is not 200)`;
        } else {
          const notReady: string[] = [];
          for (const m of wanted) {
            if (!(await this.isModelReady(m.name, { modelVersion: m.version, signal }))) {
              notReady.push(m.version === undefined ? `'${m.name}'` : `'${m.name}' version ${m.version}`);
            }
          }
          if (notReady.length === 0) return;
          missing = `model(s) ${notReady.join(', ')}`;
        }
      } catch (err) {
        if (signal.aborted) {
          // The deadline cut this probe short; an earlier answer says more than "no answer".
          missing ??= `the server (${this.url} did not answer)`;
        } else if (err instanceof NetworkError || err instanceof ClientTimeoutError) {
          missing = `the server (${err.message})`;
        } else {
          throw err;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new ClientTimeoutError(`not ready after ${timeoutMs} ms: waiting for ${missing ?? 'the server'}`);
      await sleep(Math.min(intervalMs, left));
    }
  }

  /** Waits for in-flight calls, then closes the connections; later calls reject with NetworkError. */
  async close(): Promise<void> {
    this.closing = true;
    this.outageHold?.stop();
    await this.transport.close();
  }

  private send(method: HttpRequest['method'], path: string, options: RequestOptions, body?: Buffer, contentType?: string) {
    return this.transport.request({
      method,
      path,
      query: options.queryParams,
      headers: options.headers,
      body,
      contentType,
      signal: options.signal,
    });
  }

  private async checked(method: HttpRequest['method'], path: string, options: RequestOptions, body?: Buffer, contentType?: string) {
    const res = await this.send(method, path, options, body, contentType);
    if (res.status !== 200) throw serverError(res);
    return res;
  }

  private async getJson<T>(path: string, options: RequestOptions, what: string): Promise<T> {
    return parseJson<T>(await this.checked('GET', path, options), what);
  }
}
