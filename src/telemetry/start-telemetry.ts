/**
 * Sets up OpenTelemetry tracing for this process, from the standard environment
 * (telemetry-settings.ts): a NodeTracerProvider with a BatchSpanProcessor per exporter
 * (OTLP over grpc / http/protobuf / http/json, console, Azure Monitor), registered as the
 * global provider with the W3C propagators and an AsyncLocalStorage context manager.
 * Everything else in scoreline uses @opentelemetry/api only, which is a no-op until this ran.
 *
 * A request never waits for an exporter: spans go to the processor's bounded queue (dropped
 * when it is full), batches are exported on the processor's timer, and export failures are
 * logged rate-limited (rate-limited-exporter.ts). With App Insights on, request log records
 * go to Azure Monitor's log exporter the same way (request-log.ts).
 */
import { Metadata } from '@grpc/grpc-js';
import { context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Logger } from '../logger';
import { RateLimitedExporter } from './rate-limited-exporter';
import { setRequestLogEmitter } from './request-log';
import { type OtlpSettings, type TelemetrySettings, readTelemetrySettings } from './telemetry-settings';
import { setTracingEnabled, tracingEnabled } from './tracing-state';

export interface Telemetry {
  readonly settings: TelemetrySettings;
  /** Exports what is queued, then stops the exporters (bounded by OTEL_BSP_EXPORT_TIMEOUT). */
  shutdown(): Promise<void>;
}

export interface StartTelemetryOptions {
  /** service.name unless OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise. */
  serviceName: string;
  env?: Readonly<Record<string, string | undefined>>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

function sampler(s: TelemetrySettings['sampler']): Sampler {
  switch (s.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(s.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) });
  }
}

function otlpExporter(o: OtlpSettings): SpanExporter {
  // Loaded on demand (require, as main.ts loads commands): a process uses one protocol, and
  // each exporter package costs start-up time.
  if (o.protocol === 'grpc') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-grpc');
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(o.headers)) metadata.set(k, v);
    return new OTLPTraceExporter({ url: o.url, metadata, timeoutMillis: o.timeoutMillis });
  }
  if (o.protocol === 'http/json') {
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url: o.url, headers: o.headers, timeoutMillis: o.timeoutMillis });
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: o.url, headers: o.headers, timeoutMillis: o.timeoutMillis });
}

function propagator(kinds: TelemetrySettings['propagators']): TextMapPropagator {
  return new CompositePropagator({
    propagators: kinds.map((k) => (k === 'tracecontext' ? new W3CTraceContextPropagator() : new W3CBaggagePropagator())),
  });
}

/**
 * Starts tracing when the environment configures it; resolves undefined (and registers
 * nothing) when it does not. Throws InvalidOptionError for a setting it cannot use. Once per
 * process: a second call while one is running resolves undefined.
 */
export async function startTelemetry(options: StartTelemetryOptions): Promise<Telemetry | undefined> {
  const env = options.env ?? process.env;
  const settings = readTelemetrySettings(env, options.serviceName);
  if (settings === undefined) return undefined;
  const { logger } = options;
  if (tracingEnabled()) {
    logger.warn('tracing is already set up in this process; the second start is ignored');
    return undefined;
  }
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...settings.resourceAttributes, 'service.name': settings.serviceName }),
  );
  const exporters: Array<{ name: string; exporter: SpanExporter }> = [];
  for (const e of settings.exporters) {
    if (e.kind === 'console') exporters.push({ name: 'the console', exporter: new ConsoleSpanExporter() });
    else exporters.push({ name: `${e.otlp.url} (${e.otlp.protocol})`, exporter: otlpExporter(e.otlp) });
  }
  let shutdownLogs: (() => Promise<void>) | undefined;
  if (settings.appInsights) {
    const azure = require('@azure/monitor-opentelemetry-exporter') as typeof import('@azure/monitor-opentelemetry-exporter');
    // No offline storage: spans an outage keeps from Azure are dropped, as OTLP's are, and a
    // scoring container's disk does not fill with retries (nor a test's temp directory).
    const azureOptions = { connectionString: settings.appInsights.connectionString, disableOfflineStorage: true };
    exporters.push({ name: 'Azure Monitor', exporter: new azure.AzureMonitorTraceExporter(azureOptions) });
    const logs = require('@opentelemetry/sdk-logs') as typeof import('@opentelemetry/sdk-logs');
    const provider = new logs.LoggerProvider({
      resource,
      processors: [
        new logs.BatchLogRecordProcessor(new azure.AzureMonitorLogExporter(azureOptions), {
          scheduledDelayMillis: settings.batch.scheduledDelayMillis,
          maxQueueSize: settings.batch.maxQueueSize,
          maxExportBatchSize: settings.batch.maxExportBatchSize,
          exportTimeoutMillis: settings.batch.exportTimeoutMillis,
        }),
      ],
    });
    setRequestLogEmitter(provider.getLogger('scoreline'));
    shutdownLogs = async () => {
      setRequestLogEmitter(undefined);
      await provider.shutdown();
    };
  }
  const provider = new NodeTracerProvider({
    resource,
    sampler: sampler(settings.sampler),
    spanProcessors: exporters.map(
      ({ name, exporter }) =>
        new BatchSpanProcessor(new RateLimitedExporter(exporter, name, logger), {
          scheduledDelayMillis: settings.batch.scheduledDelayMillis,
          maxQueueSize: settings.batch.maxQueueSize,
          maxExportBatchSize: settings.batch.maxExportBatchSize,
          exportTimeoutMillis: settings.batch.exportTimeoutMillis,
        }),
    ),
  });
  // contextManager left undefined: the SDK's default, AsyncLocalStorage.
  provider.register({ propagator: propagator(settings.propagators) });
  setTracingEnabled(true);
  const sinks = exporters.map((e) => e.name).join(', ') || 'nowhere';
  logger.info(`tracing on: service '${settings.serviceName}', sampler ${settings.sampler.kind}, exporting to ${sinks}`);
  let stopped: Promise<void> | undefined;
  return {
    settings,
    shutdown: () =>
      (stopped ??= (async () => {
        setTracingEnabled(false);
        try {
          await Promise.all([provider.shutdown(), shutdownLogs?.()]);
        } catch (err) {
          logger.warn(`tracing shutdown: ${(err as Error).message}`);
        }
        // Unregistered, so a later startTelemetry in the same process (tests) starts clean.
        trace.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}
