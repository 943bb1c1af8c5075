/**
 * A small leveled logger shared by the engine and the front end, one event per line. Text
 * lines (the default) carry an ISO timestamp, the level, the logger's prefix and the message:
 * easy to grep. JSON lines (`--log-format json`) are one object each, for a log collector:
 * time, level, logger, message, the active span's trace_id and span_id, and the line's
 * fields as properties. Info and below go to stdout, warnings and errors to stderr.
 *
 * Fields: a call may pass `fields` (`logger.info('request', { status: 200 })`). Text mode
 * appends them as `key=value` pairs (logFields), the line the front end has always written;
 * JSON mode writes them as properties. `withFields()` binds fields (a request's id) that
 * every JSON line of the returned logger carries; in text mode it returns the logger itself,
 * so text lines and their cost stay exactly as they were.
 *
 * Stdout lines are gathered and written together, at most STDOUT_FLUSH_DELAY_MS after the
 * first of them: the front end logs a line per request, and a write() system call per line
 * was a measurable share of an echo request's cost; one per event-loop turn still was, when
 * a busy worker's turns carry one or two requests each (bench/README.md, "Measurements
 * behind design choices"). Every logger in the process shares the one buffer, so stdout keeps the
 * order lines were logged in, and a warning or error first writes what stdout holds.
 * Warnings and errors are written at once: they are rare, and they are what a crashing
 * process must not lose. Nothing waiting is lost when the process exits, however it exits
 * short of being killed: the 'exit' handler writes it.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { jsonFields, jsonString, logFields } from './util/log-fields';

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose';
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** A line's structured fields; undefined values are left out. */
export type LogFieldValues = Record<string, unknown>;

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, verbose: 3 };
const TEXT_LEVEL: Record<LogLevel, string> = { error: 'ERROR', warn: 'WARN', info: 'INFO', verbose: 'VERBOSE' };

export interface Logger {
  error(message: string, fields?: LogFieldValues): void;
  warn(message: string, fields?: LogFieldValues): void;
  info(message: string, fields?: LogFieldValues): void;
  verbose(message: string, fields?: LogFieldValues): void;
  child(prefix: string): Logger;
  /**
   * A logger whose JSON lines all carry `fields` (as properties; a line's own fields of the
   * same name win). Text mode returns this logger: text lines say in their message what they
   * need, and a request's lines cost nothing more.
   */
  withFields(fields: LogFieldValues): Logger;
  /** How lines are written: a call site that puts a field in a text message's middle leaves it to withFields in JSON mode. */
  readonly format: LogFormat;
}

/** Where a logger's lines go; tests give their own. */
export interface LogSink {
  /** Info and verbose lines. */
  out(line: string): void;
  /** Warnings and errors. */
  err(line: string): void;
}

const DEFAULT_FLUSH_BYTES = 64 * 1024;
/** How long a process's stdout lines may wait to be written with the lines after them. */
const STDOUT_FLUSH_DELAY_MS = 20;

/**
 * Lines for a stream, written together `delayMs` after the first line that found the buffer
 * empty (0: at the end of the event-loop turn, by setImmediate), or at once when more than
 * `flushBytes` wait. `flush()` writes what is waiting; the process's 'exit' handler calls
 * `close()`, which also makes later lines go out at once. Writes to stdout are synchronous
 * there (files and pipes on Linux), so process.exit() loses nothing logged before it, or by
 * 'exit' handlers after it. The timer is unref'd: waiting lines never keep a process alive,
 * the 'exit' handler writes them.
 */
export class LineBatcher {
  private pending = '';
  private scheduled = false;
  /** Set by close(): from then on every line is written at once (no later turn will come). */
  private closed = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly options: { flushBytes?: number; delayMs?: number } = {},
  ) {}

  add(line: string): void {
    this.pending += line;
    if (this.closed || this.pending.length >= (this.options.flushBytes ?? DEFAULT_FLUSH_BYTES)) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      const delayMs = this.options.delayMs ?? 0;
      if (delayMs > 0) setTimeout(this.flushSoon, delayMs).unref();
      else setImmediate(this.flushSoon);
    }
  }

  /** Writes what is waiting and every later line at once (the process is exiting). */
  close(): void {
    this.closed = true;
    this.flush();
  }

  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.write(text);
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };
}

let stdoutBatcher: LineBatcher | undefined;

/** The process's stdout batcher, made (and hooked to 'exit') on first use. */
function sharedStdout(): LineBatcher {
  if (stdoutBatcher === undefined) {
    const batcher = new LineBatcher((text) => process.stdout.write(text), { delayMs: STDOUT_FLUSH_DELAY_MS });
    // close(), not flush(): an 'exit' handler that runs after this one may still log.
    process.on('exit', () => batcher.close());
    stdoutBatcher = batcher;
  }
  return stdoutBatcher;
}

const processSink: LogSink = {
  out: (line) => sharedStdout().add(line),
  err: (line) => {
    // A stdout line logged earlier in this turn goes first.
    stdoutBatcher?.flush();
    process.stderr.write(line);
  },
};

/** The timestamp, formatted once per millisecond: a busy worker logs many lines in one. */
let stampMs = -1;
let stampText = '';
function timestamp(): string {
  const now = Date.now();
  if (now !== stampMs) {
    stampMs = now;
    stampText = new Date(now).toISOString();
  }
  return stampText;
}

/**
 * Writes the stdout lines still waiting now. For a message that must not overtake the log
 * lines before it: the engine's IPC "listening" message follows its "listening on" lines.
 */
export function flushStdoutLines(): void {
  stdoutBatcher?.flush();
}

export interface LoggerOptions {
  level?: LogLevel;
  prefix?: string;
  sink?: LogSink;
  /** Default text. */
  format?: LogFormat;
  /** JSON lines' `logger` where there is no prefix (the engine's); text lines show none. */
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return options.format === 'json' ? jsonLogger(options, undefined) : textLogger(options);
}

function textLogger(options: LoggerOptions): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const prefix = options.prefix ? `${options.prefix} ` : '';
  const sink = options.sink ?? processSink;
  const write = (level: LogLevel, message: string, fields: LogFieldValues | undefined): void => {
    // Before logFields: a line below the level costs its fields nothing.
    if (ORDER[level] > threshold) return;
    const text = fields === undefined ? message : `${message} ${logFields(fields)}`;
    const line = `${timestamp()} ${TEXT_LEVEL[level]} ${prefix}${text}\n`;
    if (ORDER[level] <= ORDER.warn) sink.err(line);
    else sink.out(line);
  };
  const logger: Logger = {
    error: (m, f) => write('error', m, f),
    warn: (m, f) => write('warn', m, f),
    info: (m, f) => write('info', m, f),
    verbose: (m, f) => write('verbose', m, f),
    child: (p) => textLogger({ ...options, prefix: `${prefix}${p}` }),
    withFields: () => logger,
    format: 'text',
  };
  return logger;
}

/** A text prefix ends in a colon ("serve worker 1:"); the JSON `logger` is what comes before it. */
function loggerProperty(options: LoggerOptions): string {
  const name = options.prefix ? options.prefix.replace(/:$/, '') : (options.name ?? '');
  return name === '' ? '' : `,"logger":${jsonString(name)}`;
}

/** `bound`: withFields' fields, carried by every line. `property`: loggerProperty(options), made once, not per request's withFields. */
function jsonLogger(options: LoggerOptions, bound: LogFieldValues | undefined, property = loggerProperty(options)): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const prefix = options.prefix ?? '';
  const sink = options.sink ?? processSink;
  const write = (level: LogLevel, message: string, fields: LogFieldValues | undefined): void => {
    if (ORDER[level] > threshold) return;
    let line = `{"time":"${timestamp()}","level":"${level}"${property},"message":${jsonString(message)}`;
    // The span the caller runs in; @opentelemetry/api answers undefined until src/telemetry registers the SDK.
    const span = trace.getSpanContext(context.active());
    if (span !== undefined && isSpanContextValid(span)) line += `,"trace_id":"${span.traceId}","span_id":"${span.spanId}"`;
    if (bound !== undefined) line += jsonFields(bound, fields);
    if (fields !== undefined) line += jsonFields(fields, undefined);
    line += '}\n';
    if (ORDER[level] <= ORDER.warn) sink.err(line);
    else sink.out(line);
  };
  return {
    error: (m, f) => write('error', m, f),
    warn: (m, f) => write('warn', m, f),
    info: (m, f) => write('info', m, f),
    verbose: (m, f) => write('verbose', m, f),
    child: (p) => jsonLogger({ ...options, prefix: prefix === '' ? p : `${prefix} ${p}` }, bound),
    withFields: (f) => jsonLogger(options, bound === undefined ? f : { ...bound, ...f }, property),
    format: 'json',
  };
}

/** A logger that drops everything (library use, tests that don't care). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  verbose: () => {},
  child: () => silentLogger,
  withFields: () => silentLogger,
  format: 'text',
};
