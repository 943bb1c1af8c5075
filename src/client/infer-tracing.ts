/**
 * OpenTelemetry for the client, the way instrumented libraries do it: only
 * `@opentelemetry/api`, which is a no-op until an application registers an SDK. An infer()
 * made while a recording span is active (a scoring worker's `run()` span, or the caller's own)
 * gets a CLIENT span, and the engine request carries its W3C `traceparent`, so the engine's
 * span continues the trace. Calls made outside a recording span cost one context lookup and
 * send no trace headers (docs/observability.md, "Traces").
 *
 * Merged calls (serve's front end, src/frontend/worker/coalescing-engine-client.ts): each call keeps
 * its own CLIENT span (from infer() to its rows' answer); the merged request is sent from the
 * context of the call that opened the group, so the engine's span is a child of that call's
 * span only.
 */
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from '@opentelemetry/api';
import { InferenceServerError } from '../errors';

const TRACER_NAME = 'scoreline.client';

/** The recording span of the current context, if any: only then is an infer() traced. */
export function activeRecordingSpan(): Span | undefined {
  const span = trace.getSpan(context.active());
  return span !== undefined && span.isRecording() ? span : undefined;
}

/**
 * Runs `call` inside a CLIENT span named as the route it requests (OpenTelemetry's HTTP
 * client convention: method and route template), ended with the answer's status.
 */
export async function tracedInfer<T>(origin: URL, modelName: string, modelVersion: string | number | undefined, call: () => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  const version = modelVersion === undefined || modelVersion === '' ? undefined : String(modelVersion);
  const route = version === undefined ? '/v2/models/{model_name}/infer' : '/v2/models/{model_name}/versions/{model_version}/infer';
  return tracer.startActiveSpan(
    `POST ${route}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': 'POST',
        'url.template': route,
        'server.address': origin.hostname,
        'server.port': Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)),
        'scoreline.model.name': modelName,
        ...(version === undefined ? {} : { 'scoreline.model.version': version }),
      },
    },
    async (span) => {
      try {
        const result = await call();
        span.setAttribute('http.response.status_code', 200);
        return result;
      } catch (err) {
        if (err instanceof InferenceServerError && err.status !== undefined) span.setAttribute('http.response.status_code', err.status);
        span.setAttribute('error.type', (err as Error)?.constructor?.name ?? 'Error');
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Adds `traceparent` (and `tracestate`) for the current span to an engine request's headers. */
export function injectTraceHeaders(headers: Record<string, string>): void {
  if (activeRecordingSpan() === undefined) return;
  propagation.inject(context.active(), headers);
}
