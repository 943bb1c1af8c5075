/**
 * One log record per served request, for App Insights (azmlinfsrv sends its request log
 * lines there): exported by Azure Monitor's log exporter, carrying the request's trace and
 * span ids so the portal shows it under the request's operation. A no-op unless
 * startTelemetry set App Insights up.
 */
import { type Attributes, ROOT_CONTEXT, type Span, trace } from '@opentelemetry/api';
import type { Logger as OtelLogger } from '@opentelemetry/api-logs';

let emitter: OtelLogger | undefined;

/** Set by startTelemetry (App Insights on) and its shutdown. */
export function setRequestLogEmitter(logger: OtelLogger | undefined): void {
  emitter = logger;
}

export function requestLogEnabled(): boolean {
  return emitter !== undefined;
}

/** Emits `body` with `attributes` as a log record in `span`'s trace (INFO, or WARN for a failure). */
export function emitRequestLog(span: Span, body: string, attributes: Attributes, failed: boolean): void {
  if (emitter === undefined) return;
  emitter.emit({
    body,
    attributes,
    severityText: failed ? 'WARN' : 'INFO',
    severityNumber: failed ? 13 : 9,
    context: trace.setSpan(ROOT_CONTEXT, span),
  });
}
