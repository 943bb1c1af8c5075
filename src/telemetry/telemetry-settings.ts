/**
 * Tracing settings, read from OpenTelemetry's standard environment variables only (the
 * SDK specification's names and defaults), and AzureML's App Insights settings
 * (app-insights-settings.ts). Parsed and checked once at start-up: a setting that cannot be
 * used is an InvalidOptionError naming the variable and what it accepts, never a silent
 * fallback (the SDK's own env reader logs and falls back, which hides a typo for good).
 *
 * Tracing is off unless asked for: an OTLP endpoint, OTEL_TRACES_EXPORTER set explicitly,
 * or App Insights enabled. OTEL_SDK_DISABLED=true turns it off whatever else is set.
 */
import { InvalidOptionError } from '../errors';
import { AppInsightsSettings, readAppInsightsSettings } from './app-insights-settings';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export type TracesExporterKind = 'otlp' | 'console' | 'none';
export type SamplerKind =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';
export type PropagatorKind = 'tracecontext' | 'baggage';

const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];
const EXPORTERS: readonly TracesExporterKind[] = ['otlp', 'console', 'none'];
const SAMPLERS: readonly SamplerKind[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];
const PROPAGATORS: readonly PropagatorKind[] = ['tracecontext', 'baggage'];

export interface OtlpSettings {
  protocol: OtlpProtocol;
  /** The full URL spans are sent to (http: with /v1/traces; grpc: the collector's address). */
  url: string;
  headers: Record<string, string>;
  timeoutMillis: number;
}

/** OTEL_BSP_*: the BatchSpanProcessor's queue and schedule. */
export interface BatchSettings {
  scheduledDelayMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
  exportTimeoutMillis: number;
}

export interface TelemetrySettings {
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** Empty: nothing exported to an OTLP/console sink (App Insights may still be on). */
  exporters: Array<{ kind: 'console' } | { kind: 'otlp'; otlp: OtlpSettings }>;
  sampler: { kind: SamplerKind; ratio: number };
  batch: BatchSettings;
  propagators: PropagatorKind[];
  appInsights: AppInsightsSettings | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[]): T | undefined {
  const v = text(env, name);
  if (v === undefined) return undefined;
  const lower = v.toLowerCase() as T;
  if (!allowed.includes(lower)) throw new InvalidOptionError(`${name}: '${v}' is not one of ${allowed.join(', ')}`);
  return lower;
}

function nonNegativeInteger(env: Env, name: string, fallback: number, min = 0): number {
  const v = text(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new InvalidOptionError(`${name}: '${v}' is not an integer >= ${min}`);
  }
  return Number(v);
}

function booleanSetting(env: Env, name: string): boolean {
  const v = text(env, name);
  if (v === undefined) return false;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new InvalidOptionError(`${name}: '${v}' is not true or false`);
}

function httpUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionError(`${name}: '${value}' is not a URL (expected http://host:port or https://host:port)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError(`${name}: '${value}' must be an http:// or https:// URL`);
  }
  return url;
}

/**
 * W3C Baggage-style list (`k=v,k2=v2`, values percent-encoded), as OTEL_EXPORTER_OTLP_HEADERS
 * and OTEL_RESOURCE_ATTRIBUTES are written.
 */
function keyValueList(env: Env, name: string): Record<string, string> {
  const v = text(env, name);
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  for (const entry of v.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    const key = eq < 0 ? '' : entry.slice(0, eq).trim();
    if (key === '') throw new InvalidOptionError(`${name}: '${entry.trim()}' is not key=value (expected k1=v1,k2=v2)`);
    let value: string;
    try {
      value = decodeURIComponent(entry.slice(eq + 1).trim());
    } catch {
      throw new InvalidOptionError(`${name}: the value of '${key}' is not valid percent-encoding`);
    }
    out[key] = value;
  }
  return out;
}

function otlpSettings(env: Env): OtlpSettings {
  const protocol =
    oneOf(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', PROTOCOLS) ?? oneOf(env, 'OTEL_EXPORTER_OTLP_PROTOCOL', PROTOCOLS) ?? 'http/protobuf';
  const tracesEndpoint = text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let url: string;
  if (tracesEndpoint !== undefined) {
    // The signal-specific endpoint is used as given (the specification's rule).
    url = httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint).href;
  } else {
    const defaultBase = protocol === 'grpc' ? 'http://localhost:4317' : 'http://localhost:4318';
    const base = httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint ?? defaultBase);
    // The base endpoint gets the signal's path over HTTP; gRPC takes the address alone.
    url = protocol === 'grpc' ? base.href : `${base.href.replace(/\/+$/, '')}/v1/traces`;
  }
  const headers = { ...keyValueList(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...keyValueList(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') };
  const timeoutMillis = nonNegativeInteger(
    env,
    'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
    nonNegativeInteger(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', 10_000, 1),
    1,
  );
  return { protocol, url, headers, timeoutMillis };
}

function samplerSettings(env: Env): { kind: SamplerKind; ratio: number } {
  const kind = oneOf(env, 'OTEL_TRACES_SAMPLER', SAMPLERS) ?? 'parentbased_always_on';
  const arg = text(env, 'OTEL_TRACES_SAMPLER_ARG');
  let ratio = 1;
  if (kind.endsWith('traceidratio') && arg !== undefined) {
    ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      throw new InvalidOptionError(`OTEL_TRACES_SAMPLER_ARG: '${arg}' is not a ratio between 0 and 1 (for ${kind})`);
    }
  }
  return { kind, ratio };
}

function propagatorSettings(env: Env): PropagatorKind[] {
  const v = text(env, 'OTEL_PROPAGATORS');
  if (v === undefined) return ['tracecontext', 'baggage'];
  const out: PropagatorKind[] = [];
  for (const raw of v.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '' || name === 'none') continue;
    if (!PROPAGATORS.includes(name as PropagatorKind)) {
      throw new InvalidOptionError(`OTEL_PROPAGATORS: '${raw.trim()}' is not one of ${PROPAGATORS.join(', ')}, none`);
    }
    if (!out.includes(name as PropagatorKind)) out.push(name as PropagatorKind);
  }
  return out;
}

/**
 * The settings, or undefined when tracing is not configured (or OTEL_SDK_DISABLED=true).
 * Only what tracing would use is checked: a process without tracing never fails on a
 * stale OTEL_BSP_* left in its environment.
 */
export function readTelemetrySettings(env: Env, defaultServiceName: string): TelemetrySettings | undefined {
  if (booleanSetting(env, 'OTEL_SDK_DISABLED')) return undefined;
  const exporterList = text(env, 'OTEL_TRACES_EXPORTER');
  const endpointSet = text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined || text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined;
  const appInsights = readAppInsightsSettings(env);
  if (exporterList === undefined && !endpointSet && appInsights === undefined) return undefined;

  const kinds: TracesExporterKind[] = [];
  if (exporterList === undefined) {
    if (endpointSet) kinds.push('otlp');
  } else {
    for (const raw of exporterList.split(',')) {
      const kind = raw.trim().toLowerCase() as TracesExporterKind;
      if (!EXPORTERS.includes(kind)) {
        throw new InvalidOptionError(`OTEL_TRACES_EXPORTER: '${raw.trim()}' is not one of ${EXPORTERS.join(', ')}`);
      }
      if (kind !== 'none' && !kinds.includes(kind)) kinds.push(kind);
    }
  }
  if (kinds.length === 0 && appInsights === undefined) return undefined;
  const exporters: TelemetrySettings['exporters'] = kinds.map((kind) =>
    kind === 'console' ? { kind: 'console' as const } : { kind: 'otlp' as const, otlp: otlpSettings(env) },
  );
  const resourceAttributes = keyValueList(env, 'OTEL_RESOURCE_ATTRIBUTES');
  // OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES (the specification's order).
  const serviceName = text(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? defaultServiceName;
  const batch: BatchSettings = {
    scheduledDelayMillis: nonNegativeInteger(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000),
    maxQueueSize: nonNegativeInteger(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2_048, 1),
    maxExportBatchSize: nonNegativeInteger(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, 1),
    exportTimeoutMillis: nonNegativeInteger(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30_000, 1),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) {
    throw new InvalidOptionError(
      `OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ${batch.maxExportBatchSize} exceeds OTEL_BSP_MAX_QUEUE_SIZE (${batch.maxQueueSize})`,
    );
  }
  return {
    serviceName,
    resourceAttributes,
    exporters,
    sampler: samplerSettings(env),
    batch,
    propagators: propagatorSettings(env),
    appInsights,
  };
}
