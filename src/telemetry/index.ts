/**
 * OpenTelemetry for scoreline's processes: startTelemetry once per process (the engine's
 * start-up, each front-end worker), then @opentelemetry/api anywhere. See start-telemetry.ts.
 */
export { startTelemetry, type Telemetry, type StartTelemetryOptions } from './start-telemetry';
export { readTelemetrySettings, type TelemetrySettings } from './telemetry-settings';
export { readAppInsightsSettings, appInsightsFlagEnv } from './app-insights-settings';
export { tracingEnabled } from './tracing-state';
export { emitRequestLog, requestLogEnabled } from './request-log';
export { hrtimeToOtel } from './hrtime-clock';
export { TraceSettings, type TraceSettingValues } from './trace-settings';
export { InferSpan, startInferSpan, TRACER_NAME } from './infer-span';
