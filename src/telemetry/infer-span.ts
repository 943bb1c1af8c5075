/**
 * The engine's span per infer request (HTTP and gRPC alike): a SERVER span that continues
 * the caller's `traceparent`, with two children built after the fact from the timestamps
 * the model version already took for its statistics (no clock read for tracing's sake):
 *
 *   POST /v2/models/{model}/infer  (or inference.GRPCInferenceService/ModelInfer)
 *   ├─ queue    enqueued → its batch handed to an instance
 *   └─ compute  hand-over → outputs split; scoreline.batch_size = rows in that batch
 *
 * Callers check tracingEnabled() first; startInferSpan returns undefined when the trace
 * extension's settings (trace-settings.ts) leave the request untraced.
 */
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  propagation,
  trace,
} from '@opentelemetry/api';
import { hrtimeToOtel } from './hrtime-clock';
import { emitRequestLog, requestLogEnabled } from './request-log';
import type { TraceSettings } from './trace-settings';

export const TRACER_NAME = 'scoreline';

export interface InferSpanStart {
  /** `POST /v2/models/{model}/infer` or `inference.GRPCInferenceService/ModelInfer`. */
  name: string;
  model: string;
  /** The version the request named, if any (the answered one replaces it on success). */
  version?: string;
  /** Carrier with `traceparent` (and `tracestate`, `baggage`): HTTP headers, or gRPC metadata read into an object. */
  carrier: Record<string, unknown>;
  attributes: Attributes;
}

/**
 * What a span reads from an answered request: the engine's InferenceResponse satisfies it.
 * Declared here, not imported, because telemetry sits below the engine (docs/architecture.md).
 */
export interface AnsweredInference {
  modelVersion: string;
  timings?: {
    queueNs: number;
    computeInputNs: number;
    computeInferNs: number;
    computeOutputNs: number;
    batchSize?: number;
    enqueuedAtNs?: bigint;
    dequeuedAtNs?: bigint;
    batchStartNs?: bigint;
    batchEndNs?: bigint;
  };
}

export class InferSpan {
  /** An encoding failure after succeed() must not end the span twice. */
  private ended = false;

  constructor(
    readonly span: Span,
    /** The span's context: its children are started in it explicitly (the engine never runs a request in context.with). */
    readonly context: Context,
    private readonly name: string,
    private readonly startedAtNs: bigint,
  ) {}

  /** What the request log record repeats of the span's attributes (the model, the request id). */
  private readonly logAttributes: Attributes = {};

  setRequestId(id: string | undefined): void {
    if (id === undefined || id === '') return;
    this.span.setAttribute('scoreline.request_id', id);
    this.logAttributes['scoreline.request_id'] = id;
  }

  noteModel(model: string): void {
    this.logAttributes['scoreline.model.name'] = model;
  }

  /** Ends the span for an answered request, with the queue and compute children from its timings. */
  succeed(response: AnsweredInference, attributes: Attributes): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    span.setAttributes(attributes);
    span.setAttribute('scoreline.model.version', response.modelVersion);
    this.logAttributes['scoreline.model.version'] = response.modelVersion;
    const t = response.timings;
    if (t && span.isRecording()) {
      span.setAttribute('scoreline.queue_ns', t.queueNs);
      span.setAttribute('scoreline.compute.input_ns', t.computeInputNs);
      span.setAttribute('scoreline.compute.infer_ns', t.computeInferNs);
      span.setAttribute('scoreline.compute.output_ns', t.computeOutputNs);
      if (t.batchSize !== undefined) span.setAttribute('scoreline.batch_size', t.batchSize);
      if (t.enqueuedAtNs !== undefined && t.dequeuedAtNs !== undefined && t.batchStartNs !== undefined && t.batchEndNs !== undefined) {
        const tracer = trace.getTracer(TRACER_NAME);
        tracer
          .startSpan('queue', { kind: SpanKind.INTERNAL, startTime: hrtimeToOtel(t.enqueuedAtNs) }, this.context)
          .end(hrtimeToOtel(t.dequeuedAtNs));
        tracer
          .startSpan(
            'compute',
            {
              kind: SpanKind.INTERNAL,
              startTime: hrtimeToOtel(t.batchStartNs),
              attributes: {
                'scoreline.batch_size': t.batchSize ?? 1,
                'scoreline.compute.input_ns': t.computeInputNs,
                'scoreline.compute.infer_ns': t.computeInferNs,
                'scoreline.compute.output_ns': t.computeOutputNs,
              },
            },
            this.context,
          )
          .end(hrtimeToOtel(t.batchEndNs));
      } else if (t.queueNs === 0 && t.computeInferNs === 0) {
        // Answered without running the model: a response-cache hit.
        span.setAttribute('scoreline.cache_hit', true);
      }
    }
    this.end(attributes, false);
  }

  /** Ends the span for a failed request: ERROR status with the message, the exception recorded. */
  fail(error: unknown, attributes: Attributes): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    span.setAttributes(attributes);
    const message = error instanceof Error ? error.message : String(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
    const code = (error as { code?: unknown }).code;
    span.recordException({ name: typeof code === 'string' ? code : 'Error', message });
    this.end(attributes, true);
  }

  /** Ends the span on the engine's clock (the one its children's times come from), with the request log record. */
  private end(attributes: Attributes, failed: boolean): void {
    const endNs = process.hrtime.bigint();
    if (requestLogEnabled()) {
      const status = attributes['http.response.status_code'] ?? attributes['rpc.grpc.status_code'];
      const durationMs = Number(endNs - this.startedAtNs) / 1e6;
      emitRequestLog(this.span, status === undefined ? this.name : `${this.name} ${status}`, { ...this.logAttributes, ...attributes, 'scoreline.duration_ms': Math.round(durationMs * 1000) / 1000 }, failed);
    }
    // An unsampled span's end is a no-op: no time to convert.
    if (this.span.isRecording()) this.span.end(hrtimeToOtel(endNs));
  }
}

/**
 * Starts the server span, continuing the carrier's trace; undefined when the trace settings
 * leave this request untraced (level OFF for the model, trace_count used up, or not the
 * 1-in-trace_rate of requests without a sampled parent).
 */
export function startInferSpan(settings: TraceSettings | undefined, start: InferSpanStart): InferSpan | undefined {
  const parent = propagation.extract(ROOT_CONTEXT, start.carrier);
  const parentSpan = trace.getSpanContext(parent);
  const sampledParent = parentSpan !== undefined && (parentSpan.traceFlags & TraceFlags.SAMPLED) !== 0;
  if (settings && !settings.admit(start.model, sampledParent)) return undefined;
  const attributes: Attributes = { ...start.attributes, 'scoreline.model.name': start.model };
  if (start.version !== undefined) attributes['scoreline.model.version'] = start.version;
  const startNs = process.hrtime.bigint();
  const span = trace.getTracer(TRACER_NAME).startSpan(start.name, { kind: SpanKind.SERVER, attributes, startTime: hrtimeToOtel(startNs) }, parent);
  const inferSpan = new InferSpan(span, trace.setSpan(parent, span), start.name, startNs);
  inferSpan.noteModel(start.model);
  return inferSpan;
}
