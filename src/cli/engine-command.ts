/**
 * `scoreline engine`: the inference engine on its own, with tritonserver's flag names.
 * Runs until SIGTERM/SIGINT, then drains in-flight requests and exits 0.
 *
 * Started with an IPC channel (`scoreline serve` starts it so), it tells its parent where it
 * listens and stops when the channel closes: the kernel closes it when the parent dies,
 * however it dies (SIGKILL included, when none of the parent's own handlers run), so an
 * engine in its own process group does not outlive the front end and keep its ports
 * (src/util/engine-ipc.ts). With --exit-on-stdin-close it also stops when its stdin ends, for
 * parents that hold a pipe to it instead. Off by default: a terminal's stdin, or /dev/null,
 * says nothing about a parent.
 */
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors';
import { createLogger, flushStdoutLines, LOG_FORMATS, type LogFormat, type Logger } from '../logger';
import { startEngine } from '../engine/engine';
import { parseCacheConfig } from '../engine/cache/cache-config';
import { parseModelConfigLimit } from '../engine/config/config-limits';
import { parseMetricsConfig } from '../engine/metrics/metrics-config';
import type { EngineOptionsInput } from '../engine/engine-options';
import { startTelemetry } from '../telemetry/start-telemetry';
import { ENGINE_LISTENING, type EngineListeningMessage } from '../util/engine-ipc';

const HELP = `Usage: scoreline engine --model-repository DIR [options]

  --model-repository DIR            Triton model repository (required)
  --host HOST                       address to bind (default 127.0.0.1)
  --http-port N                     KServe v2 HTTP port (default 8000; 0 picks a free port)
  --metrics-port N                  Prometheus metrics port (default 8002)
  --metrics-address HOST            address the metrics server binds (default: --host)
  --metrics-config SETTING=VALUE    latency metrics (repeatable): summary_latencies=true adds the
                                    nv_*_summary_us summaries, summary_quantiles=Q:E,... their
                                    quantiles, counter_latencies=false drops the *_duration_us counters
  --grpc-port N                     KServe v2 gRPC port (default 8001; 0 picks a free port;
                                    --grpc-port=-1 disables gRPC)
  --disable-auto-complete-config    require complete config.pbtxt files
  --model-control-mode MODE         none | explicit | poll (default none)
  --load-model NAME                 with explicit mode: load NAME at start-up (repeatable; '*' = all)
  --repository-poll-secs N          with poll mode: seconds between repository scans (default 15)
  --backend-config onnxruntime,default-max-batch-size=N
                                    max_batch_size that auto-complete gives batchable models (default 4)
  --http-max-input-size BYTES       largest request body (default 67108864)
  --exit-timeout-secs N             drain time on shutdown (default 30)
  --model-load-timeout-secs N       a model load (sessions + warmup) longer than this fails and
                                    its threads are terminated (default 600; 0 = no limit)
  --model-config-limit NAME=N       raise or lower one bound on model configs (repeatable;
                                    names and defaults: README, "Model config limits")
  --cache-config local,size=BYTES   response cache shared by all models, for models whose config
                                    has response_cache { enable: true } (default: none)
  --response-cache-byte-size BYTES  deprecated tritonserver spelling of --cache-config local,size=BYTES
  --log-verbose                     log every request
  --log-format text|json            log lines as text (default) or one JSON object each
                                    (env SCORELINE_LOG_FORMAT; the flag wins)
  --exit-on-stdin-close             stop (within 1 s) when stdin ends: for a parent process
                                    that holds a pipe to it (scoreline serve uses an IPC channel)
`;

/**
 * Once stdin has ended, how long the stop may take before the process exits anyway: the
 * parent is gone, and with it the front end whose requests a drain would finish.
 */
export const STDIN_CLOSE_EXIT_MS = 1_000;

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new InvalidOptionError(`--${name} must be an integer, got '${value}'`);
  return Number(value);
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidOptionError(`--${name} must be a number, got '${value}'`);
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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'model-repository': { type: 'string' },
        host: { type: 'string' },
        'http-port': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-address': { type: 'string' },
        'metrics-config': { type: 'string', multiple: true },
        'grpc-port': { type: 'string' },
        'disable-auto-complete-config': { type: 'boolean' },
        'model-control-mode': { type: 'string' },
        'load-model': { type: 'string', multiple: true },
        'repository-poll-secs': { type: 'string' },
        'backend-config': { type: 'string', multiple: true },
        'http-max-input-size': { type: 'string' },
        'exit-timeout-secs': { type: 'string' },
        'model-load-timeout-secs': { type: 'string' },
        'model-config-limit': { type: 'string', multiple: true },
        'cache-config': { type: 'string', multiple: true },
        'response-cache-byte-size': { type: 'string' },
        'log-verbose': { type: 'boolean' },
        'log-format': { type: 'string' },
        'exit-on-stdin-close': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new InvalidOptionError(`scoreline engine: ${(err as Error).message}`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!v['model-repository']) throw new InvalidOptionError('scoreline engine: --model-repository is required');
  let defaultMaxBatchSize: number | undefined;
  for (const entry of v['backend-config'] ?? []) {
    const m = /^onnxruntime,default-max-batch-size=(\d+)$/.exec(entry);
    if (!m) {
      throw new InvalidOptionError(
        `--backend-config '${entry}' is not supported (supported: onnxruntime,default-max-batch-size=N)`,
      );
    }
    defaultMaxBatchSize = Number(m[1]);
  }
  let modelConfigLimits: EngineOptionsInput['modelConfigLimits'];
  for (const entry of v['model-config-limit'] ?? []) {
    const [name, value] = parseModelConfigLimit(entry);
    modelConfigLimits = { ...modelConfigLimits, [name]: value };
  }
  let responseCacheBytes = parseCacheConfig(v['cache-config'] ?? []);
  const legacyCacheBytes = v['response-cache-byte-size'];
  if (legacyCacheBytes !== undefined) {
    // tritonserver turns it into --cache-config local,size=N; 0 there means no cache.
    if (!/^\d+$/.test(legacyCacheBytes) || !Number.isSafeInteger(Number(legacyCacheBytes))) {
      throw new InvalidOptionError(`--response-cache-byte-size must be a non-negative integer number of bytes, got '${legacyCacheBytes}'`);
    }
    responseCacheBytes ??= Number(legacyCacheBytes);
  }
  const mode = v['model-control-mode'];
  if (mode !== undefined && !['none', 'explicit', 'poll'].includes(mode)) {
    throw new InvalidOptionError(`--model-control-mode must be none, explicit or poll, got '${mode}'`);
  }
  const options: EngineOptionsInput = {
    modelRepository: v['model-repository'],
    host: v.host,
    httpPort: integer('http-port', v['http-port']),
    metricsPort: integer('metrics-port', v['metrics-port']),
    metricsAddress: v['metrics-address'],
    metricsConfig: v['metrics-config'] ? parseMetricsConfig(v['metrics-config']) : undefined,
    grpcPort: integer('grpc-port', v['grpc-port']),
    autoCompleteConfig: v['disable-auto-complete-config'] ? false : undefined,
    modelControlMode: mode as EngineOptionsInput['modelControlMode'],
    loadModels: v['load-model'],
    repositoryPollSecs: number('repository-poll-secs', v['repository-poll-secs']),
    defaultMaxBatchSize,
    httpMaxInputSize: integer('http-max-input-size', v['http-max-input-size']),
    exitTimeoutSecs: number('exit-timeout-secs', v['exit-timeout-secs']),
    modelLoadTimeoutSecs: number('model-load-timeout-secs', v['model-load-timeout-secs']),
    modelConfigLimits,
    responseCacheBytes,
    logLevel: v['log-verbose'] ? 'verbose' : undefined,
  };
  // Leave absent flags out so the schema's defaults apply.
  for (const k of Object.keys(options) as Array<keyof EngineOptionsInput>) if (options[k] === undefined) delete options[k];
  return { options, exitOnStdinClose: v['exit-on-stdin-close'] === true, logFormat: parseLogFormat(v['log-format'], env.SCORELINE_LOG_FORMAT) };
}

export async function engineCommand(args: string[]): Promise<number> {
  const parsed = parseEngineCommandArgs(args);
  if (parsed === 'help') {
    process.stdout.write(HELP);
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
