/**
 * One worker process: load the score module, init() it once (bounded by the init timeout),
 * then serve on the port the primary shares. A worker that cannot start exits with
 * WORKER_BOOT_FAILED after logging the script, the error and the model directory's
 * contents; the primary then stops the server.
 *
 * Shutdown (the primary's message, SIGTERM/SIGINT, or the primary going away): stop
 * accepting, answer what is in flight with `Connection: close`, exit 0 when none is left or
 * the grace period ends.
 */
import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import { engineClient } from './coalescing-engine-client';
import { ScoreModuleError } from '../../errors';
import { loadScoreModule, type LoadedScoreModule } from './load-score-module';
import { modelDirReport } from '../http/model-dir-listing';
import { describeError } from '../../util/log-fields';
import { createLogger, type Logger } from '../../logger';
import type { InitContext } from './score-module';
import { ScoreRunner } from '../http/score-runner';
import { ScoringApp } from '../http/scoring-app';
import type { ServeOptions } from '../serve-options';
import { SwaggerDocuments } from '../http/swagger';
import { clientErrorHandler, expectationFailed } from '../http/client-error';
import { drainServer } from './drain-server';
import { HEARTBEAT_INTERVAL_MS, requestLimit } from '../supervisor/worker-lifetime';
import { packageVersion } from '../../util/package-root';
import { ScoreMetrics, type MetricsSnapshot } from '../metrics/score-metrics';
import { ScoreTracing } from '../http/score-tracing';
import { startTelemetry, type Telemetry } from '../../telemetry';

/** The workers' OpenTelemetry service name unless OTEL_SERVICE_NAME names one. */
export const FRONTEND_SERVICE_NAME = 'scoreline-frontend';

/** Exit status of a worker that failed before serving (gunicorn's boot-error status). */
export const WORKER_BOOT_FAILED = 3;
/** How the primary hands a worker its options. */
export const WORKER_CONFIG_ENV = 'SCORELINE_WORKER_CONFIG';

/** Primary → worker: drain and exit; send your metrics' values (a scrape, metrics/cluster-metrics.ts). */
export type PrimaryMessage = { type: 'shutdown' } | { type: 'metrics-request'; id: number };
/**
 * Worker → primary: replace me (max requests reached); I am alive (the watchdog's heartbeat);
 * my metrics' values (the answer to a scrape, or the last ones as I exit on purpose).
 */
export type WorkerMessage =
  | { type: 'retire'; requests: number; limit: number }
  | { type: 'heartbeat' }
  | { type: 'metrics'; id: number; snapshot: MetricsSnapshot }
  | { type: 'final-metrics'; snapshot: MetricsSnapshot };

const ENGINE_PROBE_TIMEOUT_MS = 2000;

export async function runWorker(options: ServeOptions): Promise<void> {
  const workerId = cluster.worker?.id ?? 0;
  const logger = createLogger({ level: options.logLevel, format: options.logFormat, prefix: `serve worker ${workerId}:` });
  // Installed first: a worker told to stop while still in init() just exits.
  let serving: { servers: Server[]; app: ScoringApp } | undefined;
  let telemetry: Telemetry | undefined;
  let stopping = false;
  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    if (serving === undefined) process.exit(0);
    void shutdown(serving.servers, serving.app, options.gracePeriodMs, logger, reason, metrics, telemetry);
  };
  const metrics = new ScoreMetrics();
  process.on('message', (message: PrimaryMessage) => {
    if (message?.type === 'shutdown') stop('primary asked');
    else if (message?.type === 'metrics-request') sendMetrics(metrics, message.id);
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('disconnect', () => stop('primary went away'));
  if (options.modelDir !== undefined) process.env.AZUREML_MODEL_DIR = options.modelDir;
  // Before init(): a module's own spans in init() and run() join the worker's provider. The
  // primary has checked the settings already (serve-command.ts).
  try {
    telemetry = await startTelemetry({ serviceName: FRONTEND_SERVICE_NAME, env: process.env, logger });
  } catch (err) {
    bootFailed(logger, options, 'could not start tracing', err);
  }
  const tracing = telemetry === undefined ? undefined : new ScoreTracing();

  const client =
    options.engineUrl === undefined
      ? undefined
      : engineClient(options.coalesceInfer, {
          url: options.engineUrl,
          concurrency: options.engineConnections,
          transport: options.engineTransport,
          // The engine the primary started is restarted on the same port when it dies: calls
          // held meanwhile are resent when it is ready, within each call's own timeout. An
          // external engine (--engine-url) may never come back: its calls fail at once.
          resendAfterOutage: options.engineEmbedded === true ? {} : false,
        });
  let module: LoadedScoreModule;
  try {
    module = await startScoreModule(options, { modelDir: options.modelDir, engineUrl: options.engineUrl, client, logger, workerId });
  } catch (err) {
    bootFailed(logger, options, `could not start the score module ${options.entryScript}`, err);
  }

  const app = new ScoringApp({
    runner: new ScoreRunner({ ...options, module, logger, metrics, tracing }),
    swagger: new SwaggerDocuments({ ...options, inputSchema: module.inputSchema, outputSchema: module.outputSchema, apiKey: options.apiKey !== undefined }),
    corsOrigins: options.corsOrigins,
    serverVersion: options.serverVersionHeader ? `scoreline/${packageVersion()}` : undefined,
    engineReady: client === undefined ? undefined : () => withTimeout(client.isServerReady(), ENGINE_PROBE_TIMEOUT_MS),
    logger,
    metrics,
    tracing,
  });
  // The scoring port and, with SEPERATE_HEALTH_ENDPOINT, the health port: as gunicorn binds
  // both for azmlinfsrv, each serves every route, and requests from both count in one app.
  const ports = options.separateHealthEndpoint ? [options.port, options.healthPort] : [options.port];
  const servers = ports.map(() => createServer(
    {
      keepAliveTimeout: 65_000,
      // Slow clients (slow headers, trickled bodies) are cut after these, not after Node's
      // defaults alone: its timeouts are only checked every connectionsCheckingInterval
      // (30 s by default). Node refuses a headers timeout over the request timeout.
      headersTimeout: Math.min(options.headersTimeoutMs, options.requestTimeoutMs),
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
      // As gunicorn (AzureML's server): a request without Host is served, not refused with Node's empty 400.
      requireHostHeader: false,
    },
    app.handle,
  ));
  for (const [i, server] of servers.entries()) {
    server.on('clientError', clientErrorHandler(logger));
    server.on('checkExpectation', expectationFailed);
    server.listen({ host: options.host, port: ports[i] });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    }).catch((err: unknown) => bootFailed(logger, options, `could not listen on ${options.host}:${ports[i]}`, err));
  }
  watchLifetime(servers, options, logger);
  serving = { servers, app };
  logger.info('serving', { pid: process.pid, entry_script: options.entryScript });
}

/**
 * Loads the module and runs init(), both within the init timeout. A module that blocks the
 * event loop blocks this timer too; the primary's own deadline covers that case.
 */
async function startScoreModule(options: ServeOptions, context: InitContext): Promise<LoadedScoreModule> {
  const timeoutMs = options.initTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScoreModuleError(`loading the module and init() did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  const start = async (): Promise<LoadedScoreModule> => {
    const module = await loadScoreModule(options.entryScript);
    await module.init(context);
    return module;
  };
  try {
    return await Promise.race([start(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function bootFailed(logger: Logger, options: ServeOptions, what: string, err: unknown): never {
  logger.error(`${what}: ${describeError(err)}\n${modelDirReport(options.modelDir)}`);
  process.exit(WORKER_BOOT_FAILED);
}

async function shutdown(servers: Server[], app: ScoringApp, graceMs: number, logger: Logger, reason: string, metrics: ScoreMetrics, telemetry: Telemetry | undefined): Promise<void> {
  logger.info(`draining (${reason})`, { in_flight: app.requestsInFlight, grace_ms: graceMs });
  // drainServer, not server.close(): the latter drops requests clients have just sent on kept-alive connections.
  const clean = (await Promise.all(servers.map((server) => drainServer(server, app, graceMs)))).every(Boolean);
  if (!clean) logger.warn('grace period over; closing connections with requests in flight', { in_flight: app.requestsInFlight });
  await sendFinalMetrics(metrics);
  // The spans still queued are exported (bounded by OTEL_BSP_EXPORT_TIMEOUT).
  await telemetry?.shutdown();
  process.exit(0);
}

/** Answers the primary's scrape with this worker's values. */
function sendMetrics(metrics: ScoreMetrics, id: number): void {
  void metrics.snapshot().then((snapshot) => {
    if (process.connected) process.send?.({ type: 'metrics', id, snapshot } satisfies WorkerMessage, undefined, undefined, () => undefined);
  });
}

/** The last values, so the cluster's counters do not step back when this worker is gone. */
async function sendFinalMetrics(metrics: ScoreMetrics): Promise<void> {
  if (process.send === undefined || !process.connected) return;
  const snapshot = await metrics.snapshot();
  await new Promise<void>((resolve) => {
    if (!process.connected) resolve();
    else process.send!({ type: 'final-metrics', snapshot } satisfies WorkerMessage, undefined, undefined, () => resolve());
  });
}

/**
 * gunicorn's max_requests and timeout (see worker-lifetime.ts): counts requests and asks the
 * primary for a replacement at the limit (the primary tells this worker to drain once another
 * worker accepts connections, so none is refused meanwhile), and sends heartbeats from the
 * event loop for the primary's watchdog. Outside a cluster (no IPC channel) there is nobody
 * to tell, and nothing is done.
 */
function watchLifetime(servers: readonly Server[], options: ServeOptions, logger: Logger): void {
  const send = process.send?.bind(process);
  if (send === undefined) return;
  const post = (message: WorkerMessage): void => {
    if (process.connected) send(message, undefined, undefined, () => undefined);
  };
  const limit = requestLimit(options.maxRequestsPerWorker, options.maxRequestsJitter);
  if (limit > 0) {
    let requests = 0;
    const count = (): void => {
      if (++requests !== limit) return;
      logger.info(`served ${requests} requests: asking for a replacement`, { max_requests: limit });
      post({ type: 'retire', requests, limit });
    };
    for (const server of servers) server.on('request', count);
  }
  if (options.workerTimeoutMs > 0) setInterval(() => post({ type: 'heartbeat' }), HEARTBEAT_INTERVAL_MS).unref();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
