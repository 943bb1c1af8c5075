/**
 * AzureML's Application Insights settings, as azmlinfsrv 1.x reads them
 * (azureml_inference_server_http/amlserver.py and server/appinsights_client.py):
 *
 * - `AML_APP_INSIGHTS_ENABLED=true` with `AML_APP_INSIGHTS_KEY=<instrumentation key>` turns
 *   it on; the key alone does nothing (azmlinfsrv needs both). The exporter's connection
 *   string is then `InstrumentationKey=<key>`, i.e. the default ingestion endpoint.
 * - azmlinfsrv's `--appinsights_instrumentation_key KEY` sets both variables
 *   (appInsightsFlagEnv below; `scoreline serve` accepts the flag).
 * - `APPLICATIONINSIGHTS_CONNECTION_STRING`, the Azure Monitor SDKs' own setting, names the
 *   ingestion endpoint too. azmlinfsrv does not read it; here it wins over the key (it is
 *   the more specific of the two) and turns App Insights on by itself unless
 *   AML_APP_INSIGHTS_ENABLED=false says otherwise.
 *
 * Departure: azmlinfsrv prints "Invalid Application Insights instrumentation key provided"
 * and serves without App Insights when the key is not a UUID (or ENABLED is neither true nor
 * false); here both are start-up errors, as every other bad setting is.
 */
import { InvalidOptionError } from '../errors';

export interface AppInsightsSettings {
  connectionString: string;
  /** The variable the connection string came from, for log lines. */
  source: 'APPLICATIONINSIGHTS_CONNECTION_STRING' | 'AML_APP_INSIGHTS_KEY';
}

type Env = Readonly<Record<string, string | undefined>>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Checks a connection string's shape: `Key=Value;...` with an InstrumentationKey, an http(s) IngestionEndpoint if any. */
function checkConnectionString(value: string): void {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidOptionError(`APPLICATIONINSIGHTS_CONNECTION_STRING: '${part.trim()}' is not Key=Value`);
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  if (!fields.get('instrumentationkey')) {
    throw new InvalidOptionError('APPLICATIONINSIGHTS_CONNECTION_STRING: has no InstrumentationKey=<key>');
  }
  const endpoint = fields.get('ingestionendpoint');
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) throw new InvalidOptionError(`APPLICATIONINSIGHTS_CONNECTION_STRING: IngestionEndpoint '${endpoint}' is not an http(s) URL`);
  }
}

/** The connection string App Insights exports with, or undefined when it is off. */
export function readAppInsightsSettings(env: Env): AppInsightsSettings | undefined {
  const enabledText = text(env, 'AML_APP_INSIGHTS_ENABLED');
  let enabled: boolean | undefined;
  if (enabledText !== undefined) {
    const lower = enabledText.toLowerCase();
    if (lower !== 'true' && lower !== 'false') {
      throw new InvalidOptionError(`AML_APP_INSIGHTS_ENABLED: '${enabledText}' is not true or false`);
    }
    enabled = lower === 'true';
  }
  if (enabled === false) return undefined;
  const connectionString = text(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING');
  if (connectionString !== undefined) {
    checkConnectionString(connectionString);
    return { connectionString, source: 'APPLICATIONINSIGHTS_CONNECTION_STRING' };
  }
  if (enabled !== true) return undefined;
  const key = text(env, 'AML_APP_INSIGHTS_KEY');
  if (key === undefined) {
    throw new InvalidOptionError(
      'AML_APP_INSIGHTS_ENABLED=true needs AML_APP_INSIGHTS_KEY (the instrumentation key) or APPLICATIONINSIGHTS_CONNECTION_STRING',
    );
  }
  if (!UUID.test(key)) throw new InvalidOptionError('AML_APP_INSIGHTS_KEY: not a valid instrumentation key (expected a UUID)');
  return { connectionString: `InstrumentationKey=${key}`, source: 'AML_APP_INSIGHTS_KEY' };
}

/** What azmlinfsrv's `--appinsights_instrumentation_key KEY` does: sets both variables for the processes it starts. */
export function appInsightsFlagEnv(instrumentationKey: string): Record<string, string> {
  return { AML_APP_INSIGHTS_ENABLED: 'true', AML_APP_INSIGHTS_KEY: instrumentationKey };
}
