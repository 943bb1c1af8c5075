/**
 * `scoreline engine`: the inference engine on its own, with tritonserver's flag names.
 * Runs until SIGTERM/SIGINT, then drains in-flight requests and exits 0; options it refuses exit 2
 * (EXIT_USAGE, one line naming what is wrong), as serve's and perf's do.
 *
 * Started with an IPC channel (`scoreline serve` starts it so), it tells its parent where it
 * listens and stops when the channel closes: the kernel closes it when the parent dies,
 * however it dies (SIGKILL included, when none of the parent's own handlers run), so an
 * engine in its own process group does not outlive the front end and keep its ports
 * (src/util/engine-ipc.ts). With --exit-on-stdin-close it also stops when its stdin ends, for
 * parents that hold a pipe to it instead. Off by default: a terminal's stdin, or /dev/null,
 * says nothing about a parent.
 */
import { InvalidOptionError, isScorelineError } from '../errors';
import { EXIT_USAGE, formatFlagHelp, readFlags, type FlagSpec } from './flag-table';
import { createLogger, flushStdoutLines, LOG_FORMATS, type LogFormat, type Logger } from '../logger';
import { startEngine } from '../engine/engine';
import { parseCacheConfig } from '../engine/cache/cache-config';
import { parseModelConfigLimit } from '../engine/config/config-limits';
import { parseMetricsConfig } from '../engine/metrics/metrics-config';
import { resolveEngineOptions, type EngineOptionsInput } from '../engine/engine-options';
import { startTelemetry } from '../telemetry/start-telemetry';
import { ENGINE_LISTENING, type EngineListeningMessage } from '../util/engine-ipc';

/** Every flag of `scoreline engine` (src/cli/flag-table.ts); defaults come from the engine's options schema. */
export const ENGINE_FLAGS = {
  modelRepository: { flag: 'model-repository', kind: 'string', arg: 'DIR', help: 'Triton model repository (required)' },
  host: { flag: 'host', kind: 'string', arg: 'HOST', help: 'address to bind' },
  httpPort: { flag: 'http-port', kind: 'integer', help: 'KServe v2 HTTP port (0 picks a free port)' },
  metricsPort: { flag: 'metrics-port', kind: 'integer', help: 'Prometheus metrics port (-1: none)' },
  metricsAddress: { flag: 'metrics-address', kind: 'string', arg: 'HOST', help: 'address the metrics server binds (default: --host)' },
  metricsConfig: {
    flag: 'metrics-config',
    kind: 'list',
    arg: 'SETTING=VALUE',
    help: 'latency metrics: summary_latencies=true adds the nv_*_summary_us summaries, summary_quantiles=Q:E,... their quantiles, counter_latencies=false drops the *_duration_us counters',
  },
  grpcPort: { flag: 'grpc-port', kind: 'integer', help: 'KServe v2 gRPC port (0 picks a free port; -1 disables gRPC)' },
  disableAutoCompleteConfig: { flag: 'disable-auto-complete-config', kind: 'boolean', help: 'require complete config.pbtxt files' },
  modelControlMode: { flag: 'model-control-mode', kind: 'string', arg: 'none|explicit|poll', help: 'how models are loaded and unloaded' },
  loadModels: { flag: 'load-model', kind: 'list', arg: 'NAME', help: "with explicit mode: load NAME at start-up ('*' = all)" },
  repositoryPollSecs: { flag: 'repository-poll-secs', kind: 'number', help: 'with poll mode: seconds between repository scans' },
  backendConfig: { flag: 'backend-config', kind: 'list', arg: 'onnxruntime,default-max-batch-size=N', help: 'max_batch_size that auto-complete gives batchable models' },
  httpMaxInputSize: { flag: 'http-max-input-size', kind: 'integer', arg: 'BYTES', help: 'largest request body' },
  exitTimeoutSecs: { flag: 'exit-timeout-secs', kind: 'number', help: 'drain time on shutdown' },
  modelLoadTimeoutSecs: { flag: 'model-load-timeout-secs', kind: 'number', help: 'a model load (sessions + warmup) longer than this fails and its threads are terminated (0 = no limit)' },
  modelConfigLimits: { flag: 'model-config-limit', kind: 'list', arg: 'NAME=N', help: 'raise or lower one bound on model configs (names and defaults: README, "Model config limits")' },
  cacheConfig: { flag: 'cache-config', kind: 'list', arg: 'local,size=BYTES', help: 'response cache shared by all models, for models whose config has response_cache { enable: true } (default: none)' },
  responseCacheByteSize: { flag: 'response-cache-byte-size', kind: 'integer', arg: 'BYTES', help: 'deprecated tritonserver spelling of --cache-config local,size=BYTES' },
  logVerbose: { flag: 'log-verbose', kind: 'boolean', help: 'log every request' },
  logFormat: { flag: 'log-format', kind: 'string', arg: 'text|json', help: 'log lines as text or one JSON object each (env SCORELINE_LOG_FORMAT; the flag wins)' },
  exitOnStdinClose: { flag: 'exit-on-stdin-close', kind: 'boolean', help: 'stop (within 1 s) when stdin ends: for a parent process that holds a pipe to it (scoreline serve uses an IPC channel)' },
} as const satisfies Record<string, FlagSpec>;

type EngineFlag = keyof typeof ENGINE_FLAGS;

export function engineUsage(): string {
  const d = resolveEngineOptions({ modelRepository: '-' });
  const defaults: Partial<Record<EngineFlag, unknown>> = {
    ...d,
    backendConfig: `onnxruntime,default-max-batch-size=${d.defaultMaxBatchSize}`,
    logFormat: 'text',
    loadModels: undefined,
    modelRepository: undefined,
  };
  return ['Usage: scoreline engine --model-repository DIR [options]', '', ...formatFlagHelp(ENGINE_FLAGS, { defaults }), ''].join('\n');
}

/**
 * Once stdin has ended, how long the stop may take before the process exits anyway: the
 * parent is gone, and with it the front end whose requests a drain would finish.
 */
export const STDIN_CLOSE_EXIT_MS = 1_000;

/** A flag's text as a number, or an error naming the flag. */
function numeric(flag: EngineFlag, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const name = ENGINE_FLAGS[flag].flag;
  if (integer) {
    if (!/^-?\d+$/.test(text)) throw new InvalidOptionError(`--${name} must be an integer, got '${text}'`);
    return Number(text);
  }
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidOptionError(`--${name} must be a number, got '${text}'`);
  return n;
}

/** --log-format, else SCORELINE_LOG_FORMAT (as `scoreline serve` reads them), else text. */
function parseLogFormat(flag: string | undefined, env: string | undefined): LogFormat {
  const [text, name] = flag !== undefined ? [flag, '--log-format'] : [env?.trim() || undefined, 'SCORELINE_LOG_FORMAT'];
  if (text === undefined) return 'text';
  if (!(LOG_FORMATS as readonly string[]).includes(text)) throw new InvalidOptionError(`${name} must be ${LOG_FORMATS.join(' or ')}, got '${text}'`);
  return text as LogFormat;
}

/** Parses tritonserver-style flags into engine options (exported for tests). */
export function parseEngineArgs(args: string[]): EngineOptionsInput | 'help' {
  const parsed = parseEngineCommandArgs(args);
  return parsed === 'help' ? parsed : parsed.options;
}

/** The engine options, and the flags that are about the process rather than the engine. */
export function parseEngineCommandArgs(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { options: EngineOptionsInput; exitOnStdinClose: boolean; logFormat: LogFormat } | 'help' {
  const flags = readFlags(ENGINE_FLAGS, args, { command: 'engine' });
  if (flags.help) return 'help';
  const text = (flag: EngineFlag): string | undefined => flags.values[flag] as string | undefined;
  const list = (flag: EngineFlag): string[] => (flags.values[flag] as string[] | undefined) ?? [];
  const on = (flag: EngineFlag): boolean => flags.values[flag] === true;
  const modelRepository = text('modelRepository');
  if (!modelRepository) throw new InvalidOptionError('--model-repository is required');
  let defaultMaxBatchSize: number | undefined;
  for (const entry of list('backendConfig')) {
    const m = /^onnxruntime,default-max-batch-size=(\d+)$/.exec(entry);
    if (!m) {
      throw new InvalidOptionError(
        `--backend-config '${entry}' is not supported (supported: onnxruntime,default-max-batch-size=N)`,
      );
    }
    defaultMaxBatchSize = Number(m[1]);
  }
  let modelConfigLimits: EngineOptionsInput['modelConfigLimits'];
  for (const entry of list('modelConfigLimits')) {
    const [name, value] = parseModelConfigLimit(entry);
    modelConfigLimits = { ...modelConfigLimits, [name]: value };
  }
  let responseCacheBytes = parseCacheConfig(list('cacheConfig'));
  const legacyCacheBytes = text('responseCacheByteSize');
  if (legacyCacheBytes !== undefined) {
    // tritonserver turns it into --cache-config local,size=N; 0 there means no cache.
    if (!/^\d+$/.test(legacyCacheBytes) || !Number.isSafeInteger(Number(legacyCacheBytes))) {
      throw new InvalidOptionError(`--response-cache-byte-size must be a non-negative integer number of bytes, got '${legacyCacheBytes}'`);
    }
    responseCacheBytes ??= Number(legacyCacheBytes);
  }
  const mode = text('modelControlMode');
  if (mode !== undefined && !['none', 'explicit', 'poll'].includes(mode)) {
    throw new InvalidOptionError(`--model-control-mode must be none, explicit or poll, got '${mode}'`);
  }
  const metricsConfig = list('metricsConfig');
  const loadModels = list('loadModels');
  const options: EngineOptionsInput = {
    modelRepository,
    host: text('host'),
    httpPort: numeric('httpPort', text('httpPort'), true),
    metricsPort: numeric('metricsPort', text('metricsPort'), true),
    metricsAddress: text('metricsAddress'),
    metricsConfig: metricsConfig.length > 0 ? parseMetricsConfig(metricsConfig) : undefined,
    grpcPort: numeric('grpcPort', text('grpcPort'), true),
    autoCompleteConfig: on('disableAutoCompleteConfig') ? false : undefined,
    modelControlMode: mode as EngineOptionsInput['modelControlMode'],
    loadModels: loadModels.length > 0 ? loadModels : undefined,
    repositoryPollSecs: numeric('repositoryPollSecs', text('repositoryPollSecs'), false),
    defaultMaxBatchSize,
    httpMaxInputSize: numeric('httpMaxInputSize', text('httpMaxInputSize'), true),
    exitTimeoutSecs: numeric('exitTimeoutSecs', text('exitTimeoutSecs'), false),
    modelLoadTimeoutSecs: numeric('modelLoadTimeoutSecs', text('modelLoadTimeoutSecs'), false),
    modelConfigLimits,
    responseCacheBytes,
    logLevel: on('logVerbose') ? 'verbose' : undefined,
  };
  // Leave absent flags out so the schema's defaults apply.
  for (const k of Object.keys(options) as Array<keyof EngineOptionsInput>) if (options[k] === undefined) delete options[k];
  return { options, exitOnStdinClose: on('exitOnStdinClose'), logFormat: parseLogFormat(text('logFormat'), env.SCORELINE_LOG_FORMAT) };
}

export async function engineCommand(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseEngineCommandArgs>;
  try {
    parsed = parseEngineCommandArgs(args);
  } catch (err) {
    if (!isScorelineError(err)) throw err;
    process.stderr.write(`scoreline engine: ${err.message.replace(/^scoreline engine: /, '')}\n`);
    return EXIT_USAGE;
  }
  if (parsed === 'help') {
    process.stdout.write(engineUsage());
    return 0;
  }
  const { options, exitOnStdinClose, logFormat } = parsed;
  const logger = createLogger({ level: options.logLevel ?? 'info', format: logFormat, name: 'engine' });
  let unwatchStdin: (() => void) | undefined;
  // Stop handlers go in before start-up: a SIGTERM that arrives while models load must
  // still end in an orderly drain and exit 0, not in death by signal.
  const stopRequested = new Promise<string>((resolve) => {
    const stop = (reason: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(reason);
    };
    const onTerm = (): void => stop('received SIGTERM');
    const onInt = (): void => stop('received SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    // Started with an IPC channel (the front end's engine supervisor): the channel closing means
    // the parent is gone, however it went (src/util/engine-ipc.ts).
    if (process.channel !== undefined) {
      process.channel.unref();
      process.once('disconnect', () => {
        exitAfter(STDIN_CLOSE_EXIT_MS, logger, `stopping took longer than ${STDIN_CLOSE_EXIT_MS} ms after the parent went away; exiting`);
        stop('the IPC channel closed (the process that started the engine is gone)');
      });
    }
    if (exitOnStdinClose) {
      unwatchStdin = watchStdin(() => {
        // Armed now, not after start-up: models still loading must not keep an orphan alive.
        exitAfter(STDIN_CLOSE_EXIT_MS, logger, `stopping took longer than ${STDIN_CLOSE_EXIT_MS} ms after stdin closed; exiting`);
        stop('stdin closed (the process that started the engine is gone)');
      });
    }
  });
  let telemetry: Awaited<ReturnType<typeof startTelemetry>> | undefined;
  try {
    // OTEL_* / App Insights settings; a bad one fails the start-up here, naming it.
    telemetry = await startTelemetry({ serviceName: 'scoreline-engine', env: process.env, logger });
    const engine = await startEngine(options, logger);
    if (process.send !== undefined && process.connected) {
      const listening: EngineListeningMessage = {
        type: ENGINE_LISTENING,
        host: engine.options.host,
        httpPort: engine.httpPort,
        grpcPort: engine.grpcPort,
        metricsPort: engine.metricsPort,
        metricsHost: engine.options.metricsAddress ?? engine.options.host,
      };
      // After the log lines that say the same: whoever reads both sees them in that order.
      flushStdoutLines();
      process.send(listening, undefined, undefined, () => undefined);
    }
    const reason = await stopRequested;
    logger.info(`${reason}: draining in-flight requests`);
    exitAfter(engine.options.exitTimeoutSecs * 1000, logger, `shutdown took longer than ${engine.options.exitTimeoutSecs} s; exiting with requests in flight`);
    await engine.close();
    logger.info('engine stopped');
    return 0;
  } finally {
    // Exports the spans still queued (bounded by OTEL_BSP_EXPORT_TIMEOUT and the exit timer).
    await telemetry?.shutdown();
    // The open stdin would keep the process alive after a clean stop or a failed start.
    unwatchStdin?.();
  }
}

/** Exits with status 1 after `ms`, unless the process has ended by then. */
function exitAfter(ms: number, logger: Logger, message: string): void {
  setTimeout(() => {
    logger.error(message);
    process.exit(1);
  }, ms).unref();
}

/**
 * Calls `onClose` once when stdin ends, closes, or fails; returns the function that stops
 * watching (and releases stdin). What arrives on stdin is read and dropped.
 *
 * The parent that holds stdin's pipe usually holds stdout's and stderr's too, and they
 * break with it: a log line written then fails with EPIPE, which must not crash the engine
 * (an uncaught stream error) before the stop it is making. Other errors still throw.
 */
function watchStdin(onClose: () => void): () => void {
  const stdin = process.stdin;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    onClose();
  };
  const ignoreBrokenPipe = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
  };
  process.stdout.on('error', ignoreBrokenPipe);
  process.stderr.on('error', ignoreBrokenPipe);
  const drop = (): void => undefined;
  stdin.on('data', drop);
  stdin.once('end', close);
  stdin.once('close', close);
  stdin.once('error', close);
  return () => {
    stdin.off('data', drop);
    stdin.off('end', close);
    stdin.off('close', close);
    stdin.off('error', close);
    stdin.destroy();
  };
}
