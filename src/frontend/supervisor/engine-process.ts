/**
 * The embedded engine as a child process of the primary: `scoreline engine` on the model
 * repository. The front end never imports the engine; it starts it with an IPC channel, learns
 * its ports from the engine's message on it (src/util/engine-ipc.ts; the log lines are for
 * people), waits until the engine reports its models ready (through the client, on the wire),
 * and restarts it if it dies.
 *
 * Ownership: the engine runs in its own process group, so a terminal's Ctrl+C reaches the
 * primary and the workers but not the engine, which must keep answering while workers
 * drain; the primary stops it last (and kills it if the primary itself exits). A primary
 * that dies without running any handler (SIGKILL, the OOM killer) cannot do either, and an
 * engine in another process group gets no signal from its death: the kernel closes the IPC
 * channel's socket when the primary dies, and the engine stops when its channel disconnects
 * (engine-command.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { InferenceServerClient } from '../../client';
import { UnavailableError } from '../../errors';
import { packageRoot } from '../../util/package-root';
import { RestartBackoff } from './restart-backoff';
import type { LogFormat, Logger } from '../../logger';
import { describeError } from '../../util/log-fields';
import { isEngineListeningMessage, loopbackFor } from '../../util/engine-ipc';

export interface EngineProcessOptions {
  modelRepository: string;
  /** Address the engine binds; the front end itself always reaches it on loopback. */
  host: string;
  httpPort: number;
  /**
   * The engine's own metrics port, bound on loopback: the primary serves the public one
   * (front end and engine together, metrics/metrics-listener.ts) and scrapes this one.
   */
  metricsPort: number;
  /** The engine's --metrics-config settings (checked by the engine: a bad one fails its start-up, naming it). */
  metricsConfig?: readonly string[];
  /** -1: no gRPC service. */
  grpcPort: number;
  startTimeoutMs: number;
  logger: Logger;
  /** The engine's log lines as serve's (it writes them to serve's stdout and stderr). */
  logFormat?: LogFormat;
  /** Called once when the engine keeps dying and restarting it was given up. */
  onGiveUp: (reason: string) => void;
  /** Called when a restarted engine is ready again. */
  onRestarted?: () => void;
}

/** Restarts in quick succession before the primary gives up on the engine. */
const MAX_RESTART_STREAK = 5;
const STOP_TIMEOUT_MS = 10_000;

export class EngineProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private readonly backoff = new RestartBackoff();
  private port: number;
  private metricsPort: number;
  private grpcPort: number;
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(private readonly options: EngineProcessOptions) {
    this.port = options.httpPort;
    this.metricsPort = options.metricsPort;
    this.grpcPort = options.grpcPort;
  }

  /** The engine's metrics endpoint on loopback (its port as the engine reported it). */
  get metricsUrl(): string {
    return `http://127.0.0.1:${this.metricsPort}/metrics`;
  }

  /** Starts the engine; resolves with its URL once its models are ready. */
  async start(): Promise<string> {
    process.on('exit', this.killOnExit);
    const url = await this.launch();
    this.options.logger.info(`engine ready at ${url}`);
    return url;
  }

  /** SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.stopping = true;
    process.off('exit', this.killOnExit);
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private launch(): Promise<string> {
    const { modelRepository, startTimeoutMs, logger } = this.options;
    const args = ['engine', '--model-repository', modelRepository, `--host=${this.options.host}`, `--http-port=${this.port}`, `--metrics-port=${this.metricsPort}`, '--metrics-address=127.0.0.1', `--grpc-port=${this.grpcPort}`];
    if (this.options.logFormat !== undefined) args.push(`--log-format=${this.options.logFormat}`);
    for (const setting of this.options.metricsConfig ?? []) args.push(`--metrics-config=${setting}`);
    // The package's own CLI, from the build: the same `scoreline engine` a user would run.
    const command = [join(packageRoot(), 'bin', 'scoreline.js'), ...args];
    logger.info(`starting the engine: ${command.join(' ')}`);
    // The IPC channel: the engine's ports, and its end tells the engine the primary is gone (see
    // above). Node opens it close-on-exec, so workers forked later do not hold it open.
    const child = spawn(process.execPath, command, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    this.child = child;

    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let ready = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(err);
      };
      const timer = setTimeout(() => fail(new UnavailableError(`the engine was not ready within ${startTimeoutMs} ms`)), startTimeoutMs);
      forwardLines(child.stderr!, process.stderr);
      forwardLines(child.stdout!, process.stdout);
      child.on('message', (message: unknown) => {
        if (!isEngineListeningMessage(message) || settled) return;
        // Kept: a restarted engine comes back on the same ports.
        this.port = message.httpPort;
        if (message.grpcPort !== undefined) this.grpcPort = message.grpcPort;
        if (message.metricsPort !== undefined) this.metricsPort = message.metricsPort;
        const url = `http://${loopbackFor(message.host)}:${this.port}`;
        waitForModels(url, startTimeoutMs).then(
          () => {
            if (settled) return;
            settled = ready = true;
            clearTimeout(timer);
            resolve(url);
          },
          (err: unknown) => fail(new UnavailableError(`the engine at ${url} did not report its models ready: ${(err as Error).message}`, { cause: err })),
        );
      });
      child.once('error', (err) => fail(new UnavailableError(`the engine could not be started: ${err.message}`, { cause: err })));
      child.once('exit', (code, signal) => {
        const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
        if (!ready) {
          fail(new UnavailableError(`the engine exited during start-up (${how}); its log is above`));
          return;
        }
        if (!this.stopping) this.restartAfterDeath(how);
      });
    });
  }

  private restartAfterDeath(how: string): void {
    const delay = this.backoff.next(Date.now());
    if (this.backoff.streak > MAX_RESTART_STREAK) {
      this.options.onGiveUp(`the engine died ${MAX_RESTART_STREAK} times in quick succession (last: ${how})`);
      return;
    }
    this.options.logger.error(`the engine died (${how}); restarting it`, { delay_ms: delay });
    setTimeout(() => {
      if (this.stopping) return;
      this.launch().then(
        (url) => {
          this.options.logger.info(`engine restarted at ${url}`);
          this.options.onRestarted?.();
        },
        (err: unknown) => {
          this.options.logger.error(`the engine restart failed: ${describeError(err)}`);
          if (!this.stopping) this.restartAfterDeath('restart failed');
        },
      );
    }, delay);
  }
}

/** Until the engine reports ready (Triton: every model ready), on the wire, through the client. */
export async function waitForModels(url: string, timeoutMs: number): Promise<void> {
  const probe = new InferenceServerClient({ url });
  try {
    await probe.waitUntilReady({ timeoutMs });
  } finally {
    await probe.close();
  }
}

function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): void {
  createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => to.write(`${line}\n`));
}
