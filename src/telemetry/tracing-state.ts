/**
 * Whether this process registered a tracer provider (startTelemetry). Instrumented code
 * checks this one boolean before it does anything for tracing, so with tracing off a
 * request pays one property read, not the API's no-op calls and the objects they allocate.
 */
let enabled = false;

export function tracingEnabled(): boolean {
  return enabled;
}

/** Set by startTelemetry / Telemetry.shutdown only. */
export function setTracingEnabled(value: boolean): void {
  enabled = value;
}
