/**
 * startTelemetry in this process: it registers the global provider and the W3C propagator
 * when configured (and unregisters them on shutdown), resolves undefined without a
 * setting, and fails naming a bad one. The exporters' own traffic is tested with real
 * engine processes (engine-traces.test.ts, otlp-protobuf.test.ts, otlp-grpc.test.ts): the OTLP exporters load
 * their transport by a dynamic import, which jest's module sandbox refuses.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import type { Logger } from '../../src/logger';
import { startTelemetry } from '../../src/telemetry/start-telemetry';
import { tracingEnabled } from '../../src/telemetry/tracing-state';

function captureLogger(lines: string[]): Pick<Logger, 'info' | 'warn'> {
  return { warn: (m) => lines.push(`WARN ${m}`), info: (m) => lines.push(`INFO ${m}`) };
}

it('registers the provider and the W3C propagator, and unregisters them on shutdown', async () => {
  const lines: string[] = [];
  // always_off: spans are not recorded, so the console exporter prints nothing.
  const telemetry = await startTelemetry({ serviceName: 'x', logger: captureLogger(lines), env: { OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'always_off', OTEL_SERVICE_NAME: 'unit' } });
  expect(telemetry?.settings.serviceName).toBe('unit');
  expect(tracingEnabled()).toBe(true);
  expect(lines).toEqual(["INFO tracing on: service 'unit', sampler always_off, exporting to the console"]);
  // The SDK's tracer makes real ids even for an unsampled span; the propagator writes them.
  const span = trace.getTracer('test').startSpan('s');
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  expect(carrier.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-00`);
  span.end();
  // A second start in the same process is refused, not stacked.
  expect(await startTelemetry({ serviceName: 'x', logger: captureLogger(lines), env: { OTEL_TRACES_EXPORTER: 'console' } })).toBeUndefined();
  await telemetry!.shutdown();
  expect(tracingEnabled()).toBe(false);
  const after: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), trace.getTracer('test').startSpan('after')), after);
  expect(after).toEqual({});
});

it('resolves undefined and registers nothing when tracing is not configured', async () => {
  expect(await startTelemetry({ serviceName: 'x', logger: captureLogger([]), env: {} })).toBeUndefined();
  expect(tracingEnabled()).toBe(false);
});

it('fails the start-up with the setting named', async () => {
  await expect(
    startTelemetry({ serviceName: 'x', logger: captureLogger([]), env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' } }),
  ).rejects.toThrow("OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' is not one of grpc, http/protobuf, http/json");
});
