/**
 * The OTEL_* and App Insights settings as startTelemetry reads them: off unless configured,
 * the specification's defaults and precedence, and a start-up error naming the variable
 * and what it accepts for each setting that cannot be used.
 */
import { readAppInsightsSettings } from '../../src/telemetry/app-insights-settings';
import { readTelemetrySettings } from '../../src/telemetry/telemetry-settings';

const KEY = '0f2c3b4a-1111-4222-8333-944445555666';
const read = (env: Record<string, string>) => readTelemetrySettings(env, 'scoreline-engine');

describe('readTelemetrySettings', () => {
  it('is off unless an endpoint, an exporter or App Insights is set', () => {
    expect(read({})).toBeUndefined();
    expect(read({ OTEL_SERVICE_NAME: 'x', OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toBeUndefined();
    expect(read({ OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('sends to <endpoint>/v1/traces over http/protobuf by default, with the spec defaults', () => {
    const s = read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })!;
    expect(s.exporters).toEqual([{ kind: 'otlp', otlp: { protocol: 'http/protobuf', url: 'http://collector:4318/v1/traces', headers: {}, timeoutMillis: 10_000 } }]);
    expect(s.serviceName).toBe('scoreline-engine');
    expect(s.sampler).toEqual({ kind: 'parentbased_always_on', ratio: 1 });
    expect(s.batch).toEqual({ scheduledDelayMillis: 5000, maxQueueSize: 2048, maxExportBatchSize: 512, exportTimeoutMillis: 30000 });
    expect(s.propagators).toEqual(['tracecontext', 'baggage']);
  });

  it('uses the traces endpoint as given, the traces protocol over the general one, and grpc addresses alone', () => {
    const s = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:1',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example/custom',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,x=1',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    })!;
    expect(s.exporters[0]).toEqual({ kind: 'otlp', otlp: { protocol: 'http/json', url: 'https://c.example/custom', headers: { 'api-key': 'a b', x: '1' }, timeoutMillis: 2500 } });
    const g = read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })!;
    expect(g.exporters[0]).toMatchObject({ otlp: { protocol: 'grpc', url: 'http://c:4317/' } });
  });

  it('takes the service name from OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES', () => {
    expect(read({ OTEL_TRACES_EXPORTER: 'console', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,deployment.environment=prod' })!.serviceName).toBe('from-attrs');
    const s = read({ OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'named', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' })!;
    expect(s.serviceName).toBe('named');
    expect(s.exporters).toEqual([{ kind: 'console' }]);
  });

  it('reads the sampler and its ratio', () => {
    expect(read({ OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })!.sampler).toEqual({ kind: 'parentbased_traceidratio', ratio: 0.25 });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, /OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' is not a URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c:21' }, /OTEL_EXPORTER_OTLP_ENDPOINT: .* must be an http:\/\/ or https:\/\/ URL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }, /OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' is not one of grpc, http\/protobuf, http\/json/],
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER: 'zipkin' is not one of otlp, console, none/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER: 'sometimes' is not one of always_on, always_off, traceidratio/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG: '2' is not a ratio between 0 and 1/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: 'soon' }, /OTEL_BSP_SCHEDULE_DELAY: 'soon' is not an integer >= 0/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_MAX_QUEUE_SIZE: '0' }, /OTEL_BSP_MAX_QUEUE_SIZE: '0' is not an integer >= 1/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' }, /OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 20 exceeds OTEL_BSP_MAX_QUEUE_SIZE \(10\)/],
    [{ OTEL_TRACES_EXPORTER: 'console', OTEL_PROPAGATORS: 'b3' }, /OTEL_PROPAGATORS: 'b3' is not one of tracecontext, baggage, none/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:1', OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, /OTEL_EXPORTER_OTLP_HEADERS: 'novalue' is not key=value/],
    [{ OTEL_SDK_DISABLED: 'maybe' }, /OTEL_SDK_DISABLED: 'maybe' is not true or false/],
  ])('refuses %j', (env, message) => {
    let error: unknown;
    try {
      read(env as Record<string, string>);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'SCORELINE_INVALID_OPTION' });
    expect((error as Error).message).toMatch(message);
  });
});

describe("AzureML's App Insights settings", () => {
  it('needs AML_APP_INSIGHTS_ENABLED=true and a key, as azmlinfsrv; the key alone is the default ingestion endpoint', () => {
    expect(readAppInsightsSettings({ AML_APP_INSIGHTS_KEY: KEY })).toBeUndefined();
    expect(readAppInsightsSettings({ AML_APP_INSIGHTS_ENABLED: 'false', AML_APP_INSIGHTS_KEY: KEY })).toBeUndefined();
    expect(readAppInsightsSettings({ AML_APP_INSIGHTS_ENABLED: 'true', AML_APP_INSIGHTS_KEY: KEY })).toEqual({ connectionString: `InstrumentationKey=${KEY}`, source: 'AML_APP_INSIGHTS_KEY' });
  });

  it('prefers APPLICATIONINSIGHTS_CONNECTION_STRING, which also turns it on by itself unless ENABLED=false', () => {
    const cs = `InstrumentationKey=${KEY};IngestionEndpoint=http://127.0.0.1:9/`;
    expect(readAppInsightsSettings({ AML_APP_INSIGHTS_ENABLED: 'true', AML_APP_INSIGHTS_KEY: KEY, APPLICATIONINSIGHTS_CONNECTION_STRING: cs })).toEqual({ connectionString: cs, source: 'APPLICATIONINSIGHTS_CONNECTION_STRING' });
    expect(readAppInsightsSettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: cs })?.connectionString).toBe(cs);
    expect(readAppInsightsSettings({ AML_APP_INSIGHTS_ENABLED: 'false', APPLICATIONINSIGHTS_CONNECTION_STRING: cs })).toBeUndefined();
    // App Insights alone turns tracing on.
    expect(read({ APPLICATIONINSIGHTS_CONNECTION_STRING: cs })).toMatchObject({ exporters: [], appInsights: { connectionString: cs } });
  });

  it.each([
    [{ AML_APP_INSIGHTS_ENABLED: 'yes please' }, /AML_APP_INSIGHTS_ENABLED: 'yes please' is not true or false/],
    [{ AML_APP_INSIGHTS_ENABLED: 'true' }, /AML_APP_INSIGHTS_ENABLED=true needs AML_APP_INSIGHTS_KEY/],
    [{ AML_APP_INSIGHTS_ENABLED: 'true', AML_APP_INSIGHTS_KEY: 'abc' }, /AML_APP_INSIGHTS_KEY: not a valid instrumentation key/],
    [{ APPLICATIONINSIGHTS_CONNECTION_STRING: 'IngestionEndpoint=http://x/' }, /APPLICATIONINSIGHTS_CONNECTION_STRING: has no InstrumentationKey/],
    [{ APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${KEY};IngestionEndpoint=nowhere` }, /IngestionEndpoint 'nowhere' is not an http\(s\) URL/],
  ])('refuses %j', (env, message) => {
    expect(() => readAppInsightsSettings(env)).toThrow(message);
  });
});
