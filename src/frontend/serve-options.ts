/**
 * `scoreline serve` options: every flag, its environment variable and its default in one
 * table, validated once (zod) when the primary starts. Flags win over environment
 * variables; messages name both. Workers get the validated result, never raw input.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { describeFlag, formatFlagHelp, readFlags, type FlagSpec } from '../cli/flag-table';
import { InvalidOptionError } from '../errors';
import { LOG_FORMATS, type LogLevel } from '../logger';
import { DEFAULT_ENGINE_PORTS } from '../util/default-ports';
import { packageRoot } from '../util/package-root';
import { DEFAULT_MAX_JSON_CONTAINERS, DEFAULT_MAX_JSON_VALUES } from '../util/json-structure-scan';
import { configSearchDirs, readConfigFile } from './azmlinfsrv-config-file';

/** Every serve setting has a variable; `aliases` are azmlinfsrv's spellings of the flag (`--entry_script`). */
interface OptionSpec extends FlagSpec {
  env: string;
  kind: 'string' | 'integer' | 'boolean';
}

/**
 * The one table of options (src/cli/flag-table.ts). Keys are ServeOptions fields; defaults are
 * the schema's below. API keys are env-only: flags show in `ps`.
 */
export const SERVE_OPTION_SPECS = {
  entryScript: { flag: 'entry-script', arg: 'FILE', aliases: ['entry_script'], env: 'AZUREML_ENTRY_SCRIPT', kind: 'string', help: 'score module (.ts, .js, .mjs, .cjs), relative to the app root' },
  appRoot: { flag: 'app-root', arg: 'DIR', env: 'AML_APP_ROOT', kind: 'string', help: "directory the entry script is resolved from ('.': the working directory)" },
  modelRepository: { flag: 'model-repository', arg: 'DIR', env: 'SCORELINE_MODEL_REPOSITORY', kind: 'string', help: 'Triton model repository: starts the embedded engine on it' },
  modelDir: { flag: 'model-dir', arg: 'DIR', aliases: ['model_dir'], env: 'AZUREML_MODEL_DIR', kind: 'string', help: "init()'s modelDir (default: the model repository)" },
  host: { flag: 'host', arg: 'HOST', env: 'SCORELINE_HOST', kind: 'string', help: 'address to listen on' },
  port: { flag: 'port', env: 'SCORELINE_PORT', kind: 'integer', help: 'port to listen on' },
  separateHealthEndpoint: { flag: 'separate-health-endpoint', env: 'SEPERATE_HEALTH_ENDPOINT', kind: 'boolean', help: "also serve on the health port (azmlinfsrv's separate health endpoint; the variable is spelled as AzureML spells it)" },
  healthPort: { flag: 'health-port', aliases: ['health_port'], env: 'HEALTH_PORT', kind: 'integer', help: 'the health port, with the separate health endpoint only' },
  configFile: { flag: 'config-file', arg: 'FILE', aliases: ['config_file'], env: 'AZUREML_CONFIG_FILE', kind: 'string', help: "azmlinfsrv's config.json: settings by environment variable name, weaker than flags and the environment (default: config.json in the app root or beside the entry script, when present)" },
  workerCount: { flag: 'worker-count', aliases: ['worker_count'], env: 'WORKER_COUNT', kind: 'integer', help: 'worker processes sharing the port' },
  engineUrl: { flag: 'engine-url', arg: 'URL', env: 'SCORELINE_ENGINE_URL', kind: 'string', help: 'use this engine (e.g. a Triton server) instead of starting one' },
  engineHost: { flag: 'engine-host', arg: 'HOST', env: 'SCORELINE_ENGINE_HOST', kind: 'string', help: 'address the embedded engine binds (0.0.0.0 lets Prometheus scrape its metrics port from outside)' },
  engineHttpPort: { flag: 'engine-http-port', env: 'SCORELINE_ENGINE_HTTP_PORT', kind: 'integer', help: "embedded engine's HTTP port (0: any free port)" },
  engineGrpcPort: { flag: 'engine-grpc-port', env: 'SCORELINE_ENGINE_GRPC_PORT', kind: 'integer', help: "embedded engine's gRPC port (0: any free port, -1: no gRPC)" },
  engineMetricsPort: { flag: 'engine-metrics-port', env: 'SCORELINE_ENGINE_METRICS_PORT', kind: 'integer', help: "serve's metrics port: the front end's and the embedded engine's metrics in one scrape (0: any free port; with --engine-url or no engine, served only when given)" },
  engineMetricsConfig: { flag: 'engine-metrics-config', arg: 'SETTINGS', env: 'SCORELINE_ENGINE_METRICS_CONFIG', kind: 'string', help: "the embedded engine's --metrics-config settings, separated by ';' (e.g. summary_latencies=true;summary_quantiles=0.5:0.05,0.99:0.001)" },
  engineConnections: { flag: 'engine-connections', env: 'SCORELINE_ENGINE_CONNECTIONS', kind: 'integer', help: "keep-alive connections from each worker's client to the engine (its requests beyond them wait in the client)" },
  engineTransport: { flag: 'engine-transport', arg: 'lean|undici', env: 'SCORELINE_ENGINE_TRANSPORT', kind: 'string', help: "HTTP client of the workers' engine client: lean (scoreline's own keep-alive HTTP/1.1, http: only) or undici (default: lean, undici for an https engine URL)" },
  coalesceInfer: { flag: 'coalesce-infer', env: 'SCORELINE_COALESCE_INFER', kind: 'boolean', help: "the workers' engine client merges the concurrent infer() calls a worker makes to a batching model into one request (--no-coalesce-infer: one request per call)" },
  engineStartTimeoutMs: { flag: 'engine-start-timeout-ms', env: 'SCORELINE_ENGINE_START_TIMEOUT_MS', kind: 'integer', help: 'how long to wait for the engine and its models to be ready' },
  scoringTimeoutMs: { flag: 'scoring-timeout-ms', env: 'SCORING_TIMEOUT_MS', kind: 'integer', help: 'run() deadline; the client gets 500 "Scoring timeout after N ms" when it passes, as from azmlinfsrv' },
  initTimeoutMs: { flag: 'init-timeout-ms', env: 'SCORELINE_INIT_TIMEOUT_MS', kind: 'integer', help: 'deadline for loading the entry script and init(); the server exits when it passes' },
  gracePeriodMs: { flag: 'grace-period-ms', env: 'SCORELINE_GRACE_PERIOD_MS', kind: 'integer', help: 'on SIGTERM/SIGINT, how long in-flight requests may take to finish' },
  maxBodyBytes: { flag: 'max-body-bytes', env: 'SCORELINE_MAX_BODY_BYTES', kind: 'integer', help: 'larger request bodies get 413' },
  maxJsonContainers: { flag: 'max-json-containers', env: 'SCORELINE_MAX_JSON_CONTAINERS', kind: 'integer', help: 'JSON arrays and objects a /score body may hold (413 beyond: JSON.parse builds ~55 bytes of heap per 3-byte [])' },
  maxJsonValues: { flag: 'max-json-values', env: 'SCORELINE_MAX_JSON_VALUES', kind: 'integer', help: 'JSON values (numbers, strings, literals, keys, containers) a /score body may hold (413 beyond)' },
  overloadProtection: { flag: 'overload-protection', env: 'SCORELINE_OVERLOAD_PROTECTION', kind: 'boolean', help: "each /score request's deadline (SCORING_TIMEOUT_MS, or the caller's x-scoreline-timeout-ms) travels to the engine and requests that could not finish within it are refused at once with 429 (--no-overload-protection: neither)" },
  maxConcurrency: { flag: 'max-concurrency', env: 'SCORELINE_MAX_CONCURRENCY', kind: 'integer', help: 'per-worker in-flight /score limit, 429 beyond it (0: no limit)' },
  // Hardening (test/faults): recycling leaky workers, cutting slow clients, killing blocked workers.
  maxRequestsPerWorker: { flag: 'max-requests-per-worker', env: 'SCORELINE_MAX_REQUESTS_PER_WORKER', kind: 'integer', help: "replace a worker, without dropping requests, after it served this many (0: never), as gunicorn's max_requests" },
  maxRequestsJitter: { flag: 'max-requests-jitter', env: 'SCORELINE_MAX_REQUESTS_JITTER', kind: 'integer', help: 'add a random 0..N to each worker\'s max requests, so workers are not replaced all at once' },
  headersTimeoutMs: { flag: 'headers-timeout-ms', env: 'SCORELINE_HEADERS_TIMEOUT_MS', kind: 'integer', help: 'a client must send its request headers within this time (408 and close after)' },
  requestTimeoutMs: { flag: 'request-timeout-ms', env: 'SCORELINE_REQUEST_TIMEOUT_MS', kind: 'integer', help: 'a client must send its whole request, body included, within this time (408 and close after)' },
  workerTimeoutMs: { flag: 'worker-timeout-ms', env: 'SCORELINE_WORKER_TIMEOUT_MS', kind: 'integer', help: "kill and replace a worker whose event loop is blocked this long, as gunicorn's timeout (0: never)" },
  corsOrigins: { flag: 'cors-origins', arg: 'ORIGINS', aliases: ['access_control_allow_origins'], env: 'AML_CORS_ORIGINS', kind: 'string', help: 'comma-separated origins allowed by CORS, or *' },
  apiKey: { env: 'SCORELINE_API_KEY', kind: 'string', help: 'require Authorization: Bearer <key> on /score' },
  appInsightsKey: { flag: 'appinsights-instrumentation-key', arg: 'KEY', aliases: ['appinsights_instrumentation_key'], env: 'AML_APP_INSIGHTS_KEY', kind: 'string', help: "App Insights instrumentation key; the flag also sets AML_APP_INSIGHTS_ENABLED=true, as azmlinfsrv's does (src/telemetry/app-insights-settings.ts)" },
  logLevel: { flag: 'log-level', arg: 'LEVEL', env: 'SCORELINE_LOG_LEVEL', kind: 'string', help: 'error, warn, info or verbose' },
  azuremlLogLevel: { env: 'AZUREML_LOG_LEVEL', kind: 'string', help: "azmlinfsrv's log level, used when --log-level is not given: DEBUG or NOTSET (verbose), INFO, WARNING or WARN (warn), ERROR, CRITICAL or FATAL (error)" },
  logFormat: { flag: 'log-format', arg: 'text|json', env: 'SCORELINE_LOG_FORMAT', kind: 'string', help: 'text, or json: one object per line (time, level, logger, message, trace_id, span_id, request_id and the other fields)' },
  logBodies: { flag: 'log-bodies', env: 'SCORELINE_LOG_BODIES', kind: 'boolean', help: 'add request bodies (first 1 KiB) to the request log' },
  serviceName: { flag: 'service-name', arg: 'NAME', env: 'SERVICE_NAME', kind: 'string', help: 'title of /swagger.json' },
  serviceVersion: { flag: 'service-version', arg: 'VERSION', env: 'SERVICE_VERSION', kind: 'string', help: 'version of /swagger.json' },
  serverVersionHeader: { flag: 'server-version-header', env: 'SERVER_VERSION_LOG_RESPONSE_ENABLED', kind: 'boolean', help: 'send x-ms-server-version: scoreline/<version> on every response, as azmlinfsrv does (--no-server-version-header: omit it)' },
} as const satisfies Record<string, OptionSpec>;

type OptionKey = keyof typeof SERVE_OPTION_SPECS;

/** AZUREML_LOG_LEVEL's values (Python's logging level names) on scoreline's levels. */
const AZUREML_LOG_LEVELS = {
  NOTSET: 'verbose',
  DEBUG: 'verbose',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
  FATAL: 'error',
} as const satisfies Record<string, LogLevel>;
type AzuremlLogLevel = keyof typeof AZUREML_LOG_LEVELS;

const port = z.number().int().min(0).max(65535);
const positive = z.number().int().min(1);
const optionalPath = z.string().min(1).optional();

/** Defaults live here and nowhere else. */
const serveOptionsSchema = z.strictObject({
  entryScript: z.string().min(1).default('scoring/score.ts'),
  appRoot: z.string().min(1).default('.'),
  modelRepository: optionalPath,
  modelDir: optionalPath,
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(5001),
  separateHealthEndpoint: z.boolean().default(false),
  healthPort: port.min(1).default(5000),
  configFile: optionalPath,
  workerCount: positive.max(256).default(1),
  engineUrl: z.url({ protocol: /^https?$/ }).optional(),
  engineHost: z.string().min(1).default('127.0.0.1'),
  engineHttpPort: port.default(DEFAULT_ENGINE_PORTS.http),
  engineGrpcPort: z.number().int().min(-1).max(65535).default(DEFAULT_ENGINE_PORTS.grpc),
  engineMetricsPort: port.default(DEFAULT_ENGINE_PORTS.metrics),
  engineMetricsConfig: z.string().optional(),
  engineStartTimeoutMs: positive.default(120_000),
  scoringTimeoutMs: positive.default(3_600_000),
  initTimeoutMs: positive.default(300_000),
  gracePeriodMs: z.number().int().min(0).default(30_000),
  maxBodyBytes: positive.default(100 * 1024 * 1024),
  // Checked by a byte scan before JSON.parse (json-structure-scan.ts).
  maxJsonContainers: positive.default(DEFAULT_MAX_JSON_CONTAINERS),
  maxJsonValues: positive.default(DEFAULT_MAX_JSON_VALUES),
  maxConcurrency: z.number().int().min(0).default(0),
  overloadProtection: z.boolean().default(true),
  // The client's own default (16) held back a worker with more requests in flight than that:
  // they waited in the client instead of reaching the engine's batcher (bench/README.md,
  // "Measurements behind design choices").
  engineConnections: positive.max(1024).default(128),
  // Left undefined: finish() picks lean, or undici for an https engine URL (lean is http only).
  // Lean rather than undici: the hop is a worker's own hot path, and undici's per-request
  // work shows there (bench/README.md, "Measurements behind design choices").
  engineTransport: z.enum(['lean', 'undici']).optional(),
  // Each infer() call is a whole HTTP exchange with the engine; merging the calls a worker
  // starts in one event-loop turn saves those exchanges' CPU (bench/README.md,
  // "Measurements behind design choices").
  coalesceInfer: z.boolean().default(true),
  maxRequestsPerWorker: z.number().int().min(0).default(0),
  maxRequestsJitter: z.number().int().min(0).default(0),
  // Node's own defaults for headers and whole requests; both also bound a slow client's hold on a socket.
  headersTimeoutMs: positive.default(60_000),
  requestTimeoutMs: positive.default(300_000),
  workerTimeoutMs: z.number().int().min(0).default(30_000),
  corsOrigins: z.string().optional(),
  apiKey: z.string().min(1).optional(),
  appInsightsKey: z.string().min(1).optional(),
  logLevel: z.enum(['error', 'warn', 'info', 'verbose']).default('info'),
  // Python's level names, any case (azmlinfsrv reads the variable as a string, default INFO).
  azuremlLogLevel: z.preprocess((v) => (typeof v === 'string' ? v.trim().toUpperCase() : v), z.enum(Object.keys(AZUREML_LOG_LEVELS) as [AzuremlLogLevel])).optional(),
  logFormat: z.enum(LOG_FORMATS).default('text'),
  logBodies: z.boolean().default(false),
  serviceName: z.string().default('ML service'),
  serviceVersion: z.string().default('1.0'),
  serverVersionHeader: z.boolean().default(true),
});

type ParsedOptions = z.infer<typeof serveOptionsSchema>;

/** The validated options, paths made absolute; what the primary and every worker run with. */
export interface ServeOptions extends Omit<ParsedOptions, 'corsOrigins' | 'appRoot' | 'engineTransport' | 'azuremlLogLevel'> {
  appRoot: string;
  engineTransport: 'lean' | 'undici';
  /** Absolute path of the score module. */
  entryScript: string;
  /** Set by the primary for its workers: the engine at engineUrl is the one it started (and restarts). */
  engineEmbedded?: boolean;
  /**
   * Whether the primary serves GET /metrics on engineMetricsPort: always with the embedded
   * engine (whose port it takes over), otherwise only when the port was given.
   */
  serveMetrics: boolean;
  corsOrigins: string[];
}

/** `warnings`: what the primary logs at start-up (config-file keys without effect). */
export type ServeArgs = { help: true } | { help: false; options: ServeOptions; warnings: string[] };

/** Parses flags and environment; throws InvalidOptionError naming the flag and variable. */
export function resolveServeOptions(args: readonly string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): ServeArgs {
  const flags = readFlags(SERVE_OPTION_SPECS, args, { command: 'serve', negatableSwitches: true });
  if (flags.help) return { help: true };

  const specs = Object.entries(SERVE_OPTION_SPECS) as [OptionKey, OptionSpec][];
  const textOf = (key: OptionKey): string | undefined => {
    const flag = flags.values[key];
    return (flag === undefined ? undefined : String(flag)) ?? nonEmpty(env[SERVE_OPTION_SPECS[key].env]);
  };
  const configFile = readConfigFile(
    textOf('configFile'),
    configSearchDirs(resolve(cwd, textOf('appRoot') ?? '.'), textOf('entryScript')),
    new Set(specs.map(([, spec]) => spec.env)),
    cwd,
  );
  const raw: Record<string, unknown> = {};
  const given = new Set<OptionKey>();
  for (const [key, spec] of specs) {
    const text = textOf(key) ?? configFile?.values.get(spec.env);
    if (text === undefined) continue;
    given.add(key);
    raw[key] = convert(text, spec.kind);
  }

  const parsed = serveOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path[0] as OptionKey;
    throw new InvalidOptionError(`${describeOption(key)}: ${issue.message} (got ${JSON.stringify(raw[key])})`);
  }
  const options = finish(parsed.data, given, cwd, configFile?.path);
  return { help: false, options, warnings: configFile?.warnings ?? [] };
}

/** `--port (SCORELINE_PORT)`: how messages name an option. */
export function describeOption(key: OptionKey): string {
  return describeFlag(SERVE_OPTION_SPECS[key]);
}

export function serveUsage(): string {
  const lines = ['Usage: scoreline serve [options]', '', 'Options (each also read from the environment variable shown; flags win):'];
  lines.push(...formatFlagHelp(SERVE_OPTION_SPECS, { defaults: serveOptionsSchema.parse({}), negatableSwitches: true }));
  return lines.join('\n');
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}

/** Strings from flags and env become typed values; what does not convert stays a string for zod to reject. */
function convert(text: string, kind: OptionSpec['kind']): unknown {
  const trimmed = text.trim();
  if (kind === 'integer') return /^-?\d+$/.test(trimmed) ? Number(trimmed) : text;
  if (kind === 'boolean') {
    const lower = trimmed.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
    if (['0', 'false', 'no', 'off'].includes(lower)) return false;
    return text;
  }
  return text;
}

function finish(data: ParsedOptions, given: Set<OptionKey>, cwd: string, configFile: string | undefined): ServeOptions {
  const appRoot = resolve(cwd, data.appRoot);
  const modelRepository = data.modelRepository === undefined ? undefined : resolve(cwd, data.modelRepository);
  const modelDir = data.modelDir === undefined ? modelRepository : resolve(cwd, data.modelDir);
  if (modelRepository !== undefined && data.engineUrl === undefined) requireDirectory(modelRepository, 'modelRepository');
  if (given.has('appRoot')) requireDirectory(appRoot, 'appRoot');
  const httpsEngine = data.engineUrl?.startsWith('https:') === true;
  if (given.has('healthPort') && !data.separateHealthEndpoint) {
    // azmlinfsrv ignores a health port without the separate endpoint; a setting that does nothing is refused here.
    throw new InvalidOptionError(`${describeOption('healthPort')} has no effect without ${describeOption('separateHealthEndpoint')}=true`);
  }
  if (data.separateHealthEndpoint && data.healthPort === data.port) {
    throw new InvalidOptionError(`${describeOption('healthPort')}: ${data.healthPort} is also the scoring port (${describeOption('port')})`);
  }
  if (httpsEngine && data.engineTransport === 'lean') {
    throw new InvalidOptionError(`${describeOption('engineTransport')}: lean speaks plain HTTP only; use undici for ${data.engineUrl}`);
  }
  return {
    ...data,
    configFile,
    appRoot,
    entryScript: findEntryScript(data.entryScript, appRoot, given.has('entryScript')),
    modelRepository,
    modelDir,
    engineUrl: data.engineUrl?.replace(/\/+$/, ''),
    serveMetrics: (modelRepository !== undefined && data.engineUrl === undefined) || given.has('engineMetricsPort'),
    engineTransport: data.engineTransport ?? (httpsEngine ? 'undici' : 'lean'),
    // --log-level / SCORELINE_LOG_LEVEL win over azmlinfsrv's AZUREML_LOG_LEVEL.
    logLevel: given.has('logLevel') || data.azuremlLogLevel === undefined ? data.logLevel : AZUREML_LOG_LEVELS[data.azuremlLogLevel],
    corsOrigins: (data.corsOrigins ?? '').split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''),
  };
}

/**
 * The entry script resolves from the app root (as AzureML's does). When none was named and
 * the app root has no scoring/score.ts, the package's own default serves: `npx scoreline
 * serve --model-repository DIR` works from any directory.
 */
function findEntryScript(entryScript: string, appRoot: string, given: boolean): string {
  const path = isAbsolute(entryScript) ? entryScript : join(appRoot, entryScript);
  if (existsSync(path) && statSync(path).isFile()) return path;
  if (!given) {
    const packaged = join(packageRoot(), 'scoring', 'score.ts');
    if (existsSync(packaged)) return packaged;
  }
  throw new InvalidOptionError(`${describeOption('entryScript')}: no such file: ${path}`);
}

function requireDirectory(path: string, key: OptionKey): void {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new InvalidOptionError(`${describeOption(key)}: no such directory: ${path}`);
  }
}
