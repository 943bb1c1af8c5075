/**
 * The embedded inference engine: a model manager over a Triton model repository and the
 * KServe v2 HTTP server in front of it. `startEngine` resolves once the HTTP port listens
 * and the start-up models have been loaded (or failed to: a model that fails is
 * UNAVAILABLE with its reason, and the server still serves the others).
 */
import { createLogger, Logger } from '../logger';
import { packageVersion } from '../util/package-root';
import { ResponseCache } from './cache/response-cache';
import { configureModelConfigLimits } from './config/config-limits';
import { EngineOptions, EngineOptionsInput, resolveEngineOptions } from './engine-options';
import { RepositoryPoller, startRepositoryPoller } from './control/repository-poller';
import { EngineGrpcServer, startEngineGrpcServer } from './grpc/engine-grpc-server';
import { EngineHttpServer, startEngineHttpServer } from './http/engine-http-server';
import { createEngineMetrics } from './metrics/metrics-registry';
import { MetricsServer, startMetricsServer } from './metrics/metrics-server';
import { ModelManager } from './models/model-manager';
import { listModelNames } from './repository/scan-repository';
import { TraceSettings } from '../telemetry/trace-settings';
import { tracingEnabled } from '../telemetry/tracing-state';

export const ENGINE_EXTENSIONS = [
  'classification',
  'model_repository',
  'model_repository(unload_dependents)',
  'schedule_policy',
  'model_configuration',
  'binary_tensor_data',
  'parameters',
  'statistics',
  'trace',
] as const;

export interface Engine {
  readonly options: EngineOptions;
  readonly models: ModelManager;
  readonly httpPort: number;
  readonly url: string;
  /** The bound Prometheus metrics port; undefined when metrics are off (metricsPort -1). */
  readonly metricsPort: number | undefined;
  /** The bound gRPC port; undefined when gRPC is off (grpcPort -1). */
  readonly grpcPort: number | undefined;
  /** Stops accepting requests, lets accepted ones finish, unloads every model. */
  close(): Promise<void>;
}


export async function startEngine(input: EngineOptionsInput, logger?: Logger): Promise<Engine> {
  const options = resolveEngineOptions(input);
  const log = logger ?? createLogger({ level: options.logLevel });
  // Process-wide: every config this engine validates (loads, auto-complete, ensembles) uses them.
  configureModelConfigLimits(options.modelConfigLimits);
  const models = new ModelManager({
    repository: options.modelRepository,
    autoCompleteConfig: options.autoCompleteConfig,
    defaultMaxBatchSize: options.defaultMaxBatchSize,
    logger: log,
    // Triton refuses the load/unload API unless the mode is explicit.
    explicitModelControl: options.modelControlMode === 'explicit',
    loadTimeoutSecs: options.modelLoadTimeoutSecs,
    // One cache for every model, as Triton's local cache.
    responseCache: options.responseCacheBytes > 0 ? new ResponseCache({ capacityBytes: options.responseCacheBytes }) : undefined,
    latencySummaryQuantiles: options.metricsConfig.summaryLatencies ? options.metricsConfig.summaryQuantiles : undefined,
  });
  let live = true;
  let started = false;
  // What HTTP and gRPC both serve: one model manager, one notion of live and ready.
  const service = {
    models,
    serverName: 'scoreline',
    serverVersion: packageVersion(),
    extensions: ENGINE_EXTENSIONS,
    isLive: () => live,
    isReady: () => live && started && models.allReady(),
    isStarted: () => started,
    // Triton's trace extension; its default level follows whether this process traces (startTelemetry ran first).
    traceSettings: new TraceSettings(tracingEnabled()),
  };
  const http: EngineHttpServer = await startEngineHttpServer(
    { ...service, maxInputBytes: options.httpMaxInputSize },
    { host: options.host, port: options.httpPort, logger: log },
  );
  let metrics: MetricsServer | undefined;
  if (options.metricsPort >= 0) {
    const registry = createEngineMetrics({ versions: () => models.loadedVersions(), counterLatencies: options.metricsConfig.counterLatencies, logger: log });
    try {
      metrics = await startMetricsServer(registry, { host: options.metricsAddress ?? options.host, port: options.metricsPort, logger: log });
    } catch (err) {
      await http.close();
      throw err;
    }
  }
  let grpc: EngineGrpcServer | undefined;
  if (options.grpcPort >= 0) {
    try {
      grpc = await startEngineGrpcServer(service, {
        host: options.host,
        port: options.grpcPort,
        logger: log,
        // One setting bounds an HTTP body and a gRPC message alike.
        maxMessageBytes: options.httpMaxInputSize,
      });
    } catch (err) {
      await Promise.all([http.close(), metrics?.close()]);
      throw err;
    }
  }

  let poller: RepositoryPoller | undefined;
  try {
    if (options.modelControlMode === 'explicit') {
      const names = options.loadModels.includes('*') ? await listModelNames(options.modelRepository) : options.loadModels;
      await Promise.all(names.map((n) => models.load(n).catch(() => undefined)));
    } else if (options.modelControlMode === 'poll') {
      // The first poll is the start-up load; later ones apply the repository's changes.
      poller = await startRepositoryPoller(models, {
        repository: options.modelRepository,
        intervalSecs: options.repositoryPollSecs,
        logger: log,
      });
    } else {
      await models.loadAll();
    }
  } catch (err) {
    await Promise.all([http.close(), metrics?.close(), grpc?.close()]);
    await models.close();
    throw err;
  }
  started = true;
  // Before the HTTP line: whoever waits for that line (tests, the front end) finds this one already printed.
  if (metrics) log.info(`Metrics service listening on ${metrics.host}:${metrics.port}`);
  if (grpc) log.info(`GRPC service listening on ${options.host}:${grpc.port}`);
  log.info(`HTTP service listening on ${options.host}:${http.port}`);

  return {
    options,
    models,
    httpPort: http.port,
    url: `http://${options.host}:${http.port}`,
    metricsPort: metrics?.port,
    grpcPort: grpc?.port,
    async close() {
      live = false;
      await poller?.close();
      await Promise.all([http.close(), metrics?.close(), grpc?.close(), models.close()]);
    },
  };
}
