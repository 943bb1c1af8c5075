/**
 * The primary of `scoreline serve`, a Gunicorn-like supervisor: it starts the engine (or
 * waits for an external one), forks the workers that share the port, restarts workers
 * that die after they started (with back-off), stops everything when a worker cannot
 * start (a broken entry script would only fail again), replaces workers that reached
 * --max-requests-per-worker (without refusing a connection) and kills those whose event loop
 * stopped sending heartbeats (--worker-timeout-ms), and on SIGTERM/SIGINT drains:
 * workers stop accepting and finish what is in flight within the grace period, then the
 * engine stops, then the primary resolves with the exit status.
 *
 * Exit statuses: 0 after a signal, 3 when a worker could not start, 1 when the engine
 * could not be started or kept running.
 */
import cluster, { type Worker } from 'node:cluster';
import { extname, join } from 'node:path';
import { EngineProcess, waitForModels } from './engine-process';
import { modelDirReport } from '../http/model-dir-listing';
import { RestartBackoff } from './restart-backoff';
import { createLogger, type Logger } from '../../logger';
import { describeError } from '../../util/log-fields';
import type { ServeOptions } from '../serve-options';
import { WORKER_BOOT_FAILED, WORKER_CONFIG_ENV, type PrimaryMessage, type WorkerMessage } from '../worker/worker-process';
import { HEARTBEAT_INTERVAL_MS, HeartbeatWatchdog } from './worker-lifetime';
import { ClusterMetrics, WORKER_METRICS_TIMEOUT_MS, type WorkerMetricsRequest } from '../metrics/cluster-metrics';
import { startMetricsListener, type MetricsListener } from '../metrics/metrics-listener';
import type { MetricsSnapshot } from '../metrics/score-metrics';

export const EXIT_ENGINE_FAILED = 1;
/**
 * Beyond the init timeout (which the worker applies to loading the module and init()), how
 * long the primary waits for a worker to listen before killing it: only a worker whose
 * event loop is blocked, and so cannot apply its own timeout, gets this far.
 */
const BOOT_MARGIN_MS = 2_000;
/** Beyond the grace period, how long workers get to exit before they are killed. */
const EXIT_MARGIN_MS = 5_000;

/** `warnings`: start-up notes from option parsing (config-file keys without effect), logged first. */
export async function runPrimary(options: ServeOptions, warnings: readonly string[] = []): Promise<number> {
  const logger = createLogger({ level: options.logLevel, format: options.logFormat, prefix: 'serve primary:' });
  for (const warning of warnings) logger.warn(warning);
  if (options.configFile !== undefined) logger.info(`settings from ${options.configFile} (flags and environment variables win)`);
  let engine: EngineProcess | undefined;
  let engineUrl = options.engineUrl;
  let supervisor: Supervisor | undefined;
  const metrics = new ClusterMetrics();
  try {
    if (engineUrl !== undefined) {
      logger.info(`waiting for the engine at ${engineUrl}`);
      await waitForModels(engineUrl, options.engineStartTimeoutMs);
    } else if (options.modelRepository !== undefined) {
      engine = new EngineProcess({
        modelRepository: options.modelRepository,
        host: options.engineHost,
        httpPort: options.engineHttpPort,
        // Any free port on loopback: the public one is the primary's (below).
        metricsPort: 0,
        metricsConfig: options.engineMetricsConfig?.split(';').map((s) => s.trim()).filter((s) => s !== ''),
        grpcPort: options.engineGrpcPort,
        startTimeoutMs: options.engineStartTimeoutMs,
        logger,
        logFormat: options.logFormat,
        onGiveUp: (reason) => supervisor?.stop(EXIT_ENGINE_FAILED, reason),
        onRestarted: () => metrics.engineRestarted(),
      });
      engineUrl = await engine.start();
    }
  } catch (err) {
    logger.error(`the engine could not be started: ${describeError(err)}`);
    await engine?.stop();
    return EXIT_ENGINE_FAILED;
  }
  const embedded = engine;
  supervisor = new Supervisor({ ...options, engineUrl, engineEmbedded: engine !== undefined }, logger, engine, metrics);
  if (options.serveMetrics) {
    try {
      supervisor.metricsListener = await startMetricsListener({
        host: options.engineHost,
        port: options.engineMetricsPort,
        frontEnd: () => metrics.scrape(supervisor!.metricsRequests()),
        engineMetricsUrl: () => embedded?.metricsUrl,
        logger,
      });
    } catch (err) {
      logger.error(`the metrics port ${options.engineHost}:${options.engineMetricsPort} could not be bound (--engine-metrics-port): ${describeError(err)}`);
      await engine?.stop();
      return EXIT_ENGINE_FAILED;
    }
    logger.info(`metrics on http://${options.engineHost}:${supervisor.metricsListener.port}/metrics`);
  }
  return supervisor.run();
}

interface WorkerState {
  listening: boolean;
  bootTimer: NodeJS.Timeout;
  /** Asked to be replaced (max requests): its exit is expected, and a replacement is on its way. */
  retiring?: boolean;
  /** Told to drain. A retiring worker is, as soon as another worker accepts connections. */
  draining?: boolean;
}

class Supervisor {
  private readonly workers = new Map<Worker, WorkerState>();
  private readonly backoff = new RestartBackoff();
  private readonly watchdog: HeartbeatWatchdog<Worker>;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  private finish: (code: number) => void = () => {};
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (!this.stopping) {
      this.stop(0, signal);
      return;
    }
    this.logger.warn(`${signal} again: stopping now`);
    for (const worker of this.workers.keys()) worker.process.kill('SIGKILL');
  };

  /** Serve's /metrics, when it serves them; closed after the engine stops. */
  metricsListener: MetricsListener | undefined;
  private metricsRequestId = 0;
  private readonly metricsWaiting = new Map<number, (snapshot: MetricsSnapshot | undefined) => void>();
  /** Workers that sent their last values: a scrape no longer asks them (they would count twice). */
  private readonly departed = new WeakSet<Worker>();

  constructor(
    private readonly options: ServeOptions,
    private readonly logger: Logger,
    private readonly engine: EngineProcess | undefined,
    private readonly metrics: ClusterMetrics,
  ) {
    this.watchdog = new HeartbeatWatchdog(options.workerTimeoutMs);
  }

  run(): Promise<number> {
    cluster.setupPrimary({ exec: join(__dirname, '..', 'worker', `worker-main${extname(__filename)}`), execArgv: process.execArgv });
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
    const done = new Promise<number>((resolve) => {
      this.finish = resolve;
    });
    for (let i = 0; i < this.options.workerCount; i++) this.fork();
    if (this.options.workerTimeoutMs > 0) this.watchdogTimer = setInterval(() => this.killSilentWorkers(), HEARTBEAT_INTERVAL_MS);
    return done;
  }

  stop(code: number, reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.watchdogTimer);
    const log = code === 0 ? this.logger.info : this.logger.error;
    log(`stopping: ${reason}`, { exit_code: code, workers: this.workers.size, grace_ms: this.options.gracePeriodMs });
    void this.drain().then(() => {
      process.off('SIGTERM', this.onSignal);
      process.off('SIGINT', this.onSignal);
      this.logger.info('stopped', { exit_code: code });
      this.finish(code);
    });
  }

  private fork(): void {
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(this.options) });
    const bootMs = this.options.initTimeoutMs + BOOT_MARGIN_MS;
    const state: WorkerState = {
      listening: false,
      bootTimer: setTimeout(() => {
        if (state.listening || this.stopping) return;
        this.logger.error(
          `worker ${worker.id} did not start within ${bootMs} ms: is init() of ${this.options.entryScript} blocking the event loop?\n` +
            modelDirReport(this.options.modelDir),
        );
        worker.process.kill('SIGKILL');
      }, bootMs),
    };
    this.workers.set(worker, state);
    // One 'listening' per port the worker binds (the scoring port, and the health port when separate).
    let listens = 0;
    const ports = this.options.separateHealthEndpoint ? 2 : 1;
    worker.on('listening', () => {
      if (++listens < ports) return;
      state.listening = true;
      clearTimeout(state.bootTimer);
      this.watchdog.beat(worker, Date.now());
      this.drainRetiringWorkers();
      if (!this.started && [...this.workers.values()].every((each) => each.listening)) {
        this.started = true;
        const { host, port, workerCount, entryScript, engineUrl } = this.options;
        const health = this.options.separateHealthEndpoint ? { health_port: this.options.healthPort } : {};
        this.logger.info(`serving on http://${host}:${port}`, { workers: workerCount, entry_script: entryScript, engine: engineUrl ?? 'none', ...health });
      }
    });
    worker.on('message', (message: WorkerMessage) => this.received(worker, state, message));
    worker.on('exit', (code, signal) => this.exited(worker, state, code, signal));
  }

  /** One request per connected worker for its metrics' values (a scrape); a late answer is left out. */
  metricsRequests(): WorkerMetricsRequest[] {
    return [...this.workers.keys()]
      .filter((worker) => worker.isConnected() && !this.departed.has(worker))
      .map((worker) => () =>
        new Promise<MetricsSnapshot | undefined>((resolve) => {
          const id = ++this.metricsRequestId;
          const timer = setTimeout(() => {
            this.metricsWaiting.delete(id);
            resolve(undefined);
          }, WORKER_METRICS_TIMEOUT_MS);
          this.metricsWaiting.set(id, (snapshot) => {
            clearTimeout(timer);
            this.metricsWaiting.delete(id);
            resolve(snapshot);
          });
          worker.send({ type: 'metrics-request', id } satisfies PrimaryMessage, (err: Error | null) => {
            if (err !== null) this.metricsWaiting.get(id)?.(undefined);
          });
        }),
      );
  }

  private received(worker: Worker, state: WorkerState, message: WorkerMessage): void {
    if (message?.type === 'metrics') {
      this.metricsWaiting.get(message.id)?.(message.snapshot);
    } else if (message?.type === 'final-metrics') {
      this.departed.add(worker);
      void this.metrics.workerDeparted(message.snapshot);
    } else if (message?.type === 'heartbeat') {
      if (state.listening) this.watchdog.beat(worker, Date.now());
    } else if (message?.type === 'retire' && !state.retiring && !this.stopping) {
      state.retiring = true;
      this.logger.info(`worker ${worker.id} served ${message.requests} requests; replacing it`, { max_requests: message.limit });
      this.fork();
      this.drainRetiringWorkers();
    }
  }

  /**
   * Retiring workers drain as soon as another worker accepts connections (at once when one
   * does, as gunicorn's max_requests); the last one accepting serves on until a replacement
   * listens, so the port is never refused.
   */
  private drainRetiringWorkers(): void {
    const accepting = [...this.workers.values()].some((each) => each.listening && each.retiring !== true);
    if (!accepting) return;
    for (const [worker, state] of this.workers) {
      if (state.retiring !== true || state.draining === true || !worker.isConnected()) continue;
      state.draining = true;
      worker.send({ type: 'shutdown' } satisfies PrimaryMessage);
    }
  }

  /** gunicorn's worker timeout: a worker whose heartbeats stopped has a blocked event loop. */
  private killSilentWorkers(): void {
    for (const { worker, silentMs } of this.watchdog.overdue(Date.now())) {
      if (!this.workers.has(worker) || worker.isDead()) continue;
      this.logger.error(
        `worker ${worker.id} sent no heartbeat for ${silentMs} ms (--worker-timeout-ms ${this.options.workerTimeoutMs}): is run() of ${this.options.entryScript} blocking the event loop? Killing it`,
      );
      worker.process.kill('SIGKILL');
    }
  }

  private exited(worker: Worker, state: WorkerState, code: number | null, signal: string | null): void {
    clearTimeout(state.bootTimer);
    this.workers.delete(worker);
    this.watchdog.forget(worker);
    if (this.stopping) return;
    if (state.retiring) {
      this.logger.info(`worker ${worker.id} replaced`, { exit_code: code ?? signal });
      return;
    }
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    if (!state.listening) {
      this.stop(WORKER_BOOT_FAILED, `worker ${worker.id} could not start (${how}); see its log above`);
      return;
    }
    this.metrics.workerRestarted();
    const delay = this.backoff.next(Date.now());
    this.logger.error(`worker ${worker.id} died (${how}); starting a new one`, { delay_ms: delay });
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delay);
  }

  /** Workers first (they may still need the engine for requests in flight), then the engine. */
  private async drain(): Promise<void> {
    const exits = [...this.workers.keys()].map((worker) => {
      const exited = new Promise<void>((resolve) => {
        if (worker.isDead()) resolve();
        else worker.once('exit', () => resolve());
      });
      if (worker.isConnected()) worker.send({ type: 'shutdown' } satisfies PrimaryMessage, (err: Error | null) => {
        if (err !== null) worker.process.kill('SIGTERM');
      });
      else worker.process.kill('SIGTERM');
      return exited;
    });
    const killer = setTimeout(() => {
      for (const worker of this.workers.keys()) worker.process.kill('SIGKILL');
    }, this.options.gracePeriodMs + EXIT_MARGIN_MS);
    await Promise.all(exits);
    clearTimeout(killer);
    await this.engine?.stop();
    await this.metricsListener?.close();
  }
}
