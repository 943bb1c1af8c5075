/**
 * A worker's HTTP handler: the AzureML routes on bare node:http. Express is not used here:
 * on this project's machines its per-request machinery alone outweighed an echo server's
 * own work (bench/README.md, "Measurements behind design choices"), and five routes need
 * no router.
 *
 *   GET /               200 Healthy (the worker listens only once init() finished)
 *   GET /ready          200 when this worker is not draining and the engine's models are ready
 *   GET /swagger.json   OpenAPI from the module's zod schemas (?version=2|3|3.1)
 *   GET|POST /score     run(); OPTIONS answers CORS preflights (200 otherwise, as AzureML)
 *
 * Every response carries the request ids; every request gets one log line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, NotFoundError } from '../../errors';
import { corsHeaders, isPreflight, preflightHeaders } from './cors';
import { errorReply } from './error-status';
import { idHeaders, requestIds, type RequestIds } from './request-ids';
import type { Logger } from '../../logger';
import { describeError } from '../../util/log-fields';
import type { RequestRecord, ScoreRunner } from './score-runner';
import { sendError, sendText, type HeaderMap } from './send-response';
import type { SwaggerDocuments } from './swagger';
import type { ScoreMetrics } from '../metrics/score-metrics';
import type { ScoreTracing } from './score-tracing';
import { emitRequestLog, requestLogEnabled } from '../../telemetry';
import { context as otelContext } from '@opentelemetry/api';

export interface ScoringAppOptions {
  runner: ScoreRunner;
  swagger: SwaggerDocuments;
  corsOrigins: readonly string[];
  /** x-ms-server-version on every response (azmlinfsrv's `azmlinfsrv/<version>`); undefined: none. */
  serverVersion: string | undefined;
  /** Whether the engine's models are ready; absent when serving without an engine. */
  engineReady: (() => Promise<boolean>) | undefined;
  logger: Logger;
  /** /score's Prometheus instruments (metrics/score-metrics.ts); absent: none counted. */
  metrics?: ScoreMetrics;
  /** /score's spans; absent when tracing is off. */
  tracing?: ScoreTracing;
}

const NOT_FOUND = 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.';

export class ScoringApp {
  /** Requests between arrival and the end of their response; drain() waits for zero. */
  private inFlight = 0;
  private draining = false;
  private idle: (() => void) | undefined;

  constructor(private readonly options: ScoringAppOptions) {}

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const record: RequestRecord = { requestId: undefined, body: undefined };
    this.inFlight++;
    const { metrics, tracing } = this.options;
    const scoring = isScorePath(req.url);
    if (scoring) metrics?.requestStarted();
    const traced = scoring && tracing !== undefined ? tracing.startRequest(req, req.method ?? 'GET') : undefined;
    // on(), not once(): a response closes once, and once() costs a bound wrapper per request.
    res.on('close', () => {
      this.inFlight--;
      // 499 (nginx's "client closed request"): the client left before the response was complete.
      const status = res.writableFinished ? res.statusCode : 499;
      if (traced === undefined) this.log(req, status, started, record);
      else {
        // In the request's span: a JSON log line carries its trace and span ids, and App
        // Insights gets the request's log record under its operation.
        otelContext.with(traced.context, () => this.log(req, status, started, record));
        if (requestLogEnabled()) emitRequestLog(traced.span, 'request', { status, request_id: record.requestId ?? '' }, status >= 500);
        tracing!.endRequest(traced.span, status, record.requestId);
      }
      if (scoring) metrics?.requestFinished(status, (performance.now() - started) / 1000);
      if (this.inFlight === 0) this.idle?.();
    });
    let answering: Promise<void> | undefined;
    try {
      // Traced: run() and the engine calls it makes see the request's span as their parent.
      answering = traced === undefined ? this.route(req, res, record) : otelContext.with(traced.context, () => this.route(req, res, record));
    } catch (err) {
      this.failed(res, err);
      return;
    }
    answering?.catch((err: unknown) => this.failed(res, err));
  };

  /** Stops keeping connections alive; resolves when no request is in flight. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** A request whose handling threw: a 500 when nothing was sent yet, else the connection is cut. */
  private failed(res: ServerResponse, err: unknown): void {
    this.options.logger.error(`request failed: ${describeError(err)}`);
    if (!res.headersSent) sendError(res, {}, errorReply(err, 'server'));
    else res.destroy();
  }

  /**
   * Answers a request; returns the promise of the answer when it is not sent at once (not an
   * async function: most routes answer synchronously, and /score has its own).
   */
  private route(req: IncomingMessage, res: ServerResponse, record: RequestRecord): Promise<void> | undefined {
    const headers: HeaderMap = {};
    if (this.options.serverVersion !== undefined) headers['x-ms-server-version'] = this.options.serverVersion;
    if (this.draining) headers.connection = 'close';
    let ids: RequestIds;
    try {
      ids = requestIds(req.headers);
    } catch (err) {
      sendError(res, headers, errorReply(err, 'server'));
      return;
    }
    idHeaders(ids, headers as Record<string, string>);
    record.requestId = ids.requestId;
    const traceId = req.headers.traceid;
    if (typeof traceId === 'string') headers.traceid = traceId;

    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const method = req.method ?? 'GET';
    const known = path === '/score' || path === '/' || path === '/ready' || path === '/swagger.json';

    if (known && isPreflight(method, req.headers)) {
      preflightHeaders(this.options.corsOrigins, req.headers, headers as Record<string, string>);
      res.writeHead(200, headers).end();
      return;
    }
    corsHeaders(this.options.corsOrigins, req.headers, headers as Record<string, string>);

    if (path === '/score') {
      return this.options.runner.score({ req, res, headers, ids, method, search: queryAt === -1 ? '' : url.slice(queryAt), record });
    }
    if (!known) {
      sendError(res, headers, errorReply(new NotFoundError(NOT_FOUND), 'server'));
      return;
    }
    if (method === 'OPTIONS') {
      headers.allow = path === '/score' ? 'GET, POST, OPTIONS' : 'GET, OPTIONS';
      res.writeHead(200, headers).end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      headers.allow = 'GET, OPTIONS';
      sendError(res, headers, errorReply(new MethodNotAllowedError(), 'server'));
      return;
    }
    if (path === '/') {
      sendText(res, 200, headers, 'Healthy');
    } else if (path === '/ready') {
      return this.ready(res, headers);
    } else {
      const version = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt)).get('version');
      try {
        sendText(res, 200, headers, this.options.swagger.get(version), 'application/json');
      } catch (err) {
        sendError(res, headers, errorReply(err, 'server'));
      }
    }
  }

  private async ready(res: ServerResponse, headers: HeaderMap): Promise<void> {
    const ready = !this.draining && (await this.engineReady());
    sendText(res, ready ? 200 : 503, headers, ready ? 'Ready' : this.draining ? 'Shutting down' : 'Engine not ready');
  }

  private async engineReady(): Promise<boolean> {
    const check = this.options.engineReady;
    if (check === undefined) return true;
    try {
      return await check();
    } catch {
      return false;
    }
  }

  /** One structured line per request; never the body unless --log-bodies (then the runner adds it). */
  private log(req: IncomingMessage, status: number, started: number, record: RequestRecord): void {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    this.options.logger.info('request', {
      method: req.method,
      path: queryAt === -1 ? url : url.slice(0, queryAt),
      status,
      duration_ms: (performance.now() - started).toFixed(3),
      request_id: record.requestId,
      body: record.body,
    });
  }
}

/** /score, with or without a query: the requests the metrics and spans are about. */
function isScorePath(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('/score') && (url.length === 6 || url.charCodeAt(6) === 63 /* ? */);
}
