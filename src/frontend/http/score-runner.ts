/**
 * `/score`: admission (method, API key, per-worker concurrency), input (body by hand, query,
 * or a web Request for raw modules), validation against the module's inputSchema, run()
 * under SCORING_TIMEOUT_MS, and the response. The deadline answers the client when it
 * passes even though run() keeps going: JavaScript cannot stop it, but run() can stop
 * itself through context.signal. (A run() that blocks the event loop blocks the deadline
 * too; that is why engines run models off the I/O thread.)
 *
 * Under overload (the `overloadProtection` option, on by default): the deadline is the
 * request's budget (SCORING_TIMEOUT_MS, or the caller's shorter x-scoreline-timeout-ms),
 * run() sees it as `context.deadline` and passes what is left of it to the engine, and a
 * request that the worker's queue would keep past a quarter of its budget is refused with 429
 * before its body is read (admission-control.ts). A caller that disconnects shows as
 * `context.cancellation.aborted` (polled, free) and aborts `context.signal` (made on first
 * read, since an AbortSignal and its listener are a measurable cost per request).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { MethodNotAllowedError, OverloadedError, ScoringTimeoutError, SchemaValidationError, TooManyRequestsError } from '../../errors';
import type { AbortState } from '../../util/abort-state';
import { AdmissionControl, LOOP_LAG_SAMPLE_MS } from './admission-control';
import { requestTimeoutMs, REQUEST_TIMEOUT_HEADER } from './request-timeout';
import { apiKeyCheck, type ApiKeyCheck } from './api-key';
import { errorReply } from './error-status';
import type { LoadedScoreModule } from '../worker/load-score-module';
import { readBody } from '../../util/read-body';
import type { RequestIds } from './request-ids';
import { bodyInput, queryInput } from './score-input';
import { describeOption } from '../serve-options';
import type { JsonStructureLimits } from '../../util/json-structure-scan';
import type { Logger } from '../../logger';
import { describeError, logFields } from '../../util/log-fields';
import type { RunContext } from '../worker/score-module';
import { isWebResponse, sendError, sendJson, sendWebResponse, type HeaderMap } from './send-response';
import type { ScoreMetrics } from '../metrics/score-metrics';
import type { ScoreTracing } from './score-tracing';
import type { Span } from '@opentelemetry/api';

export interface ScoreRunnerOptions {
  module: LoadedScoreModule;
  scoringTimeoutMs: number;
  maxBodyBytes: number;
  /** JSON structure a body may have (checked before JSON.parse). */
  maxJsonContainers: number;
  maxJsonValues: number;
  /** 0: no limit. */
  maxConcurrency: number;
  /** Deadlines travel to the engine and requests that would miss theirs are refused (429). */
  overloadProtection: boolean;
  apiKey?: string;
  logBodies: boolean;
  logger: Logger;
  /** /score's Prometheus instruments (rejections, timeouts, run() durations); absent: none counted. */
  metrics?: ScoreMetrics;
  /** The `run()` span; absent when tracing is off. */
  tracing?: ScoreTracing;
}

/** What the request's log line says beyond method, path and status. */
export interface RequestRecord {
  requestId: string | undefined;
  body: string | undefined;
}

export interface ScoreRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Response headers gathered so far (ids, CORS). */
  headers: HeaderMap;
  ids: RequestIds;
  method: string;
  /** The query string with its `?`, or ''. */
  search: string;
  record: RequestRecord;
}

const LOGGED_BODY_BYTES = 1024;

export class ScoreRunner {
  private running = 0;
  private readonly checkKey: ApiKeyCheck | undefined;
  private readonly admission: AdmissionControl | undefined;
  private readonly jsonLimits: JsonStructureLimits;

  constructor(private readonly options: ScoreRunnerOptions) {
    this.checkKey = options.apiKey === undefined ? undefined : apiKeyCheck(options.apiKey);
    this.jsonLimits = {
      maxContainers: options.maxJsonContainers,
      maxValues: options.maxJsonValues,
      names: { maxContainers: describeOption('maxJsonContainers'), maxValues: describeOption('maxJsonValues') },
    };
    this.admission = options.overloadProtection ? new AdmissionControl() : undefined;
    if (this.admission !== undefined) sampleLoopLag(this.admission);
  }

  /**
   * Answers a /score request. Refusals (method, API key, concurrency limit) are answered at
   * once; an admitted request returns the promise of its answer. One async function per
   * request, not a chain of them: each level of async/await costs every request promises and
   * microtasks, which showed in an echo worker's CPU per request (bench/README.md,
   * "Measurements behind design choices").
   */
  score(request: ScoreRequest): Promise<void> | undefined {
    const { req, res, headers, method } = request;
    const { module, maxConcurrency } = this.options;
    if (!module.rawHttp && method !== 'GET' && method !== 'POST') {
      headers.allow = 'GET, POST, OPTIONS';
      if (method === 'OPTIONS') res.writeHead(200, headers).end();
      else sendError(res, headers, errorReply(new MethodNotAllowedError(), 'server'));
      return undefined;
    }
    const admission = this.admission;
    let budgetMs: number;
    try {
      this.checkKey?.(req.headers.authorization);
      if (maxConcurrency > 0 && this.running >= maxConcurrency) {
        throw new TooManyRequestsError(`This worker is already running its limit of ${maxConcurrency} requests; retry later`);
      }
      budgetMs = requestTimeoutMs(req.headers[REQUEST_TIMEOUT_HEADER], this.options.scoringTimeoutMs);
      if (admission !== undefined && !admission.admits(budgetMs)) {
        throw new OverloadedError(
          `The server is overloaded: this request would wait about ${Math.round(admission.expectedLatencyMs())} ms, more than a quarter of its ${budgetMs} ms deadline; retry later`,
        );
      }
    } catch (err) {
      if (err instanceof OverloadedError) this.options.metrics?.rejected('overloaded');
      else if (err instanceof TooManyRequestsError) this.options.metrics?.rejected('concurrency_limit');
      sendError(res, headers, errorReply(err, 'server'));
      return undefined;
    }
    this.running++;
    admission?.started(performance.now());
    return this.admitted(request, budgetMs);
  }

  private async admitted({ req, res, headers, ids, method, search, record }: ScoreRequest, budgetMs: number): Promise<void> {
    const { module, maxBodyBytes } = this.options;
    // JSON logs: every line logged for this request (run()'s failures, the module's
    // context.logger) carries request_id as a property. Text mode keeps the worker's logger,
    // its lines as they were and no allocation per request; its lines below name the id.
    const logger = this.options.logger.format === 'json' ? this.options.logger.withFields({ request_id: ids.requestId }) : this.options.logger;
    try {
      let input: unknown;
      try {
        const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, maxBodyBytes);
        input = this.input(req, method, search, record, body);
      } catch (err) {
        sendError(res, headers, errorReply(err, 'server'));
        return;
      }

      const deadline = this.admission === undefined ? undefined : Date.now() + budgetMs;
      const context = new RequestContext(res, ids, req.headers, logger, deadline);
      const { metrics, tracing } = this.options;
      const started = performance.now();
      let runSpan: Span | undefined;
      let result: unknown;
      try {
        let value: unknown;
        if (tracing === undefined) value = module.run(input, context);
        else ({ span: runSpan, value } = tracing.startRun(() => module.run(input, context)));
        // A run() that answers synchronously needs no deadline: nothing could have interrupted it.
        result = isPromiseLike(value) ? await this.withDeadline(value, context, budgetMs) : value;
        if (runSpan !== undefined) tracing!.endRun(runSpan);
      } catch (err) {
        if (runSpan !== undefined) tracing!.endRun(runSpan, err);
        metrics?.runFinished((performance.now() - started) / 1000);
        if (err instanceof ScoringTimeoutError) metrics?.timedOut();
        headers['x-ms-run-fn-exec-ms'] = (performance.now() - started).toFixed(3);
        const reply = errorReply(err, 'run');
        const where = logger.format === 'json' ? '' : ` ${logFields({ request_id: ids.requestId })}`;
        // A request refused by the module (4xx) is the client's mistake: one line, no stack.
        if (reply.status < 500) logger.warn(`run() refused the request${where}: ${reply.body.message}`);
        else if (err instanceof ScoringTimeoutError) logger.error(`run() timed out${where}: ${err.message}`);
        else logger.error(`run() failed${where}: ${describeError(err)}`);
        if (!res.headersSent && !res.destroyed) sendError(res, headers, reply);
        return;
      } finally {
        context.dispose();
      }
      metrics?.runFinished((performance.now() - started) / 1000);
      headers['x-ms-run-fn-exec-ms'] = (performance.now() - started).toFixed(3);
      if (res.destroyed) return;
      if (isWebResponse(result)) {
        await sendWebResponse(res, headers, result);
        return;
      }
      headers['x-ms-run-function-failed'] = 'False';
      try {
        sendJson(res, 200, headers, result === undefined ? {} : result);
      } catch (err) {
        const where = logger.format === 'json' ? '' : ` ${logFields({ request_id: ids.requestId })}`;
        logger.error(`run() returned a value that cannot be sent as JSON${where}: ${describeError(err)}`);
        sendError(res, headers, errorReply(err, 'run'));
      }
    } finally {
      this.running--;
      this.admission?.finished(performance.now());
    }
  }

  /** run()'s input: a web Request for raw modules, else the query or the body, checked against inputSchema. */
  private input(req: IncomingMessage, method: string, search: string, record: RequestRecord, body: Buffer | undefined): unknown {
    const { module, logBodies } = this.options;
    if (module.rawHttp) return webRequest(req, method, body);
    let input: unknown;
    if (body === undefined) {
      input = queryInput(search);
    } else {
      if (logBodies) record.body = body.toString('utf8', 0, LOGGED_BODY_BYTES);
      input = bodyInput(body, this.jsonLimits);
    }
    const schema = module.inputSchema;
    if (schema === undefined) return input;
    const parsed = schema.safeParse(input);
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues;
    throw new SchemaValidationError(`The input does not match the score module's inputSchema: ${describeIssue(issues[0])}`, [...issues]);
  }

  private withDeadline(pending: PromiseLike<unknown>, context: RequestContext, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new ScoringTimeoutError(timeoutMs);
        context.abort(err);
        reject(err);
      }, timeoutMs);
      Promise.resolve(pending).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}

/**
 * The RunContext a request's run() gets. A class, not an object literal: a literal with a
 * `get signal()` closure gets a fresh hidden class per request, and those (old-space objects)
 * made every request's garbage survive the young-generation GC, which cost an echo worker a
 * large share of its throughput (bench/README.md, "Measurements behind design choices"). The
 * getter lives on the prototype instead.
 *
 * The signal is made only when run() reads it: an AbortController and a 'close' listener per
 * request were a measurable share of an echo request's cost, and most modules never look. A
 * deadline that passes first is remembered and applied when the signal is made.
 * `cancellation` says only that the client left, without a signal: the context itself, read
 * when asked (a client that left shows as a destroyed response), so it costs nothing per
 * request. It leaves the deadline out on purpose: the engine has the deadline already (as
 * the call's timeout) and drops the request itself, while abandoning a call closes its
 * connection, and under overload that churn (a reconnect, a TIME_WAIT socket per call) cost
 * more than the call.
 */
class RequestContext implements RunContext, AbortState {
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  private controller: AbortController | undefined;
  /** Why the signal is (to be) aborted: the deadline or the client leaving. */
  private abortedWith: unknown;
  /** Set once the client is seen to have left. */
  private clientGone: Error | undefined;
  private onClose: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    ids: RequestIds,
    readonly headers: IncomingHttpHeaders,
    readonly logger: Logger,
    readonly deadline: number | undefined,
  ) {
    this.requestId = ids.requestId;
    this.clientRequestId = ids.clientRequestId === '' ? undefined : ids.clientRequestId;
  }

  get cancellation(): AbortState {
    return this;
  }

  /** The client has gone (its connection closed before the answer was complete). */
  get aborted(): boolean {
    if (this.clientGone === undefined && this.res.destroyed && !this.res.writableFinished) this.clientGone = clientLeftError();
    return this.clientGone !== undefined;
  }

  get reason(): unknown {
    return this.aborted ? this.clientGone : undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith);
      else if (this.res.destroyed) this.clientLeft();
      else {
        this.onClose = () => this.clientLeft();
        this.res.once('close', this.onClose);
      }
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.abortedWith ??= reason;
    this.controller?.abort(reason);
  }

  dispose(): void {
    if (this.onClose !== undefined) this.res.off('close', this.onClose);
  }

  private clientLeft(): void {
    if (!this.res.writableFinished) this.abort(clientLeftError());
  }
}

function clientLeftError(): Error {
  return new Error('the client closed the connection');
}

/**
 * Feeds the event loop's lag to admission control: a timer every LOOP_LAG_SAMPLE_MS, unref'd
 * (it never keeps the worker alive), that measures how late it ran.
 */
function sampleLoopLag(admission: AdmissionControl): void {
  let expected = performance.now() + LOOP_LAG_SAMPLE_MS;
  setInterval(() => {
    const now = performance.now();
    admission.observeLoopLag(Math.max(0, now - expected));
    expected = now + LOOP_LAG_SAMPLE_MS;
  }, LOOP_LAG_SAMPLE_MS).unref();
}

/** The request as a web Request (raw modules): the original URL, method, headers and body. */
function webRequest(req: IncomingMessage, method: string, body: Buffer | undefined): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  } catch {
    url = new URL(req.url ?? '/', 'http://localhost');
  }
  return new Request(url, { method, headers, body });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describeIssue(issue: unknown): string {
  const { path, message } = (issue ?? {}) as { path?: unknown[]; message?: string };
  const where = Array.isArray(path) && path.length > 0 ? `${path.join('.')}: ` : '';
  return `${where}${message ?? 'invalid'}`;
}
