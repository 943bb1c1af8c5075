/**
 * The front end's spans, with `@opentelemetry/api` only (the SDK is the process's, set up by
 * src/telemetry when tracing is configured): a SERVER span per /score request that continues the
 * caller's W3C `traceparent`, and a `run()` span inside it. Engine calls that run() makes
 * through the worker's client become CLIENT spans below `run()` (client/infer-tracing.ts), and
 * the engine's own spans below those. docs/observability.md, "Traces", reads a trace.
 *
 * Only made when tracing is on: the scoring app holds a ScoreTracing or nothing, so an
 * untraced request pays one `undefined` check.
 */
import type { IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';

const TRACER_NAME = 'scoreline.frontend';

export class ScoreTracing {
  private readonly tracer: Tracer;

  constructor(tracer: Tracer = trace.getTracer(TRACER_NAME)) {
    this.tracer = tracer;
  }

  /** The SERVER span of a /score request, and the context its handling runs in. */
  startRequest(req: IncomingMessage, method: string): { span: Span; context: Context } {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = this.tracer.startSpan(
      `${method} /score`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'http.route': '/score',
          'url.path': '/score',
          'url.scheme': 'http',
          ...(req.socket.localPort === undefined ? {} : { 'server.port': req.socket.localPort }),
          ...(req.socket.remoteAddress === undefined ? {} : { 'client.address': req.socket.remoteAddress }),
          ...(typeof req.headers['user-agent'] === 'string' ? { 'user_agent.original': req.headers['user-agent'] } : {}),
        },
      },
      parent,
    );
    return { span, context: trace.setSpan(parent, span) };
  }

  /**
   * Ends the request's span. OpenTelemetry's HTTP server convention: only 5xx is an error
   * (a 4xx is the client's); 499 says the client left first.
   */
  endRequest(span: Span, status: number, requestId: string | undefined): void {
    span.setAttribute('http.response.status_code', status);
    if (requestId !== undefined) span.setAttribute('scoreline.request_id', requestId);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /**
   * Starts the `run()` span, a child of the active (request) span, and calls `call` with it
   * active: what run() awaits keeps it as the parent (the context manager follows async calls).
   */
  startRun<T>(call: () => T): { span: Span; value: T } {
    const parent = context.active();
    const span = this.tracer.startSpan('run()', { kind: SpanKind.INTERNAL }, parent);
    return { span, value: context.with(trace.setSpan(parent, span), call) };
  }

  /** Ends a `run()` span; `err`: what run() threw (or the deadline that passed). */
  endRun(span: Span, err?: unknown): void {
    if (err !== undefined) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    }
    span.end();
  }
}
