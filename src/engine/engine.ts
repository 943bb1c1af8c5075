/**
 * The embedded inference engine: a model manager over a Triton model repository and the
 * KServe v2 HTTP server in front of it. `startEngine` resolves once the HTTP port listens
 * and the start-up models have been loaded (or failed to: a model that fails is
 * UNAVAILABLE with its reason, and the server still serves the others).
 */
import { createLogger, Logger } from '../logger';
import { EngineOptions, EngineOptionsInput, resolveEngineOptions } from './engine-options';
import { EngineHttpServer, startEngineHttpServer } from './http/engine-http-server';
import { ModelManager } from './models/model-manager';
import { listModelNames } from './repository/scan-repository';

export const ENGINE_EXTENSIONS = [
  'classification',
  'model_repository',
  'model_repository(unload_dependents)',
  'schedule_policy',
  'model_configuration',
  'binary_tensor_data',
  'parameters',
  'statistics',
] as const;

export interface Engine {
  readonly options: EngineOptions;
  readonly models: ModelManager;
  readonly httpPort: number;
  readonly url: string;
  /** Stops accepting requests, lets accepted ones finish, unloads every model. */
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export async function startEngine(input: EngineOptionsInput, logger?: Logger): Promise<Engine> {
  const options = resolveEngineOptions(input);
  const log = logger ?? createLogger({ level: options.logLevel });
  const models = new ModelManager({
    repository: options.modelRepository,
    autoCompleteConfig: options.autoCompleteConfig,
    defaultMaxBatchSize: options.defaultMaxBatchSize,
    logger: log,
  });
  let live = true;
  let started = false;
  const http: EngineHttpServer = await startEngineHttpServer(
    {
      models,
      serverName: 'scoreline',
      serverVersion: packageVersion(),
      extensions: ENGINE_EXTENSIONS,
      maxInputBytes: options.httpMaxInputSize,
      isLive: () => live,
      isReady: () => live && started && models.allReady(),
    },
    { host: options.host, port: options.httpPort, logger: log },
  );

  try {
    if (options.modelControlMode === 'explicit') {
      const names = options.loadModels.includes('*') ? await listModelNames(options.modelRepository) : options.loadModels;
      await Promise.all(names.map((n) => models.load(n).catch(() => undefined)));
    } else {
      await models.loadAll();
    }
  } catch (err) {
    await http.close();
    await models.close();
    throw err;
  }
  started = true;
  log.info(`HTTP service listening on ${options.host}:${http.port}`);

  return {
    options,
    models,
    httpPort: http.port,
    url: `http://${options.host}:${http.port}`,
    async close() {
      live = false;
      await Promise.all([http.close(), models.close()]);
    },
  };
}
