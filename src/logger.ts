/**
 * A small leveled logger shared by the engine and the front end. Lines are plain text,
 * one event per line, with an ISO timestamp and level: easy to grep, easy for a log
 * collector. Info and below go to stdout, warnings and errors to stderr.
 *
 * Stdout lines are gathered and written together, at most STDOUT_FLUSH_DELAY_MS after the
 * first of them: the front end logs a line per request, and a write() system call per line
 * was a tenth of an echo request's cost; one per event-loop turn still cost an echo request
 * about 1.5 µs of its ~20 when a busy worker's turns carry one or two requests each (see
 * bench/README.md). Every logger in the process shares the one buffer, so stdout keeps the
 * order lines were logged in, and a warning or error first writes what stdout holds.
 * Warnings and errors are written at once: they are rare, and they are what a crashing
 * process must not lose. Nothing waiting is lost when the process exits, however it exits
 * short of being killed: the 'exit' handler writes it.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'verbose';

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, verbose: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  child(prefix: string): Logger;
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

export function createLogger(options: { level?: LogLevel; prefix?: string; sink?: LogSink } = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const prefix = options.prefix ? `${options.prefix} ` : '';
  const sink = options.sink ?? processSink;
  const write = (level: LogLevel, message: string): void => {
    if (ORDER[level] > threshold) return;
    const line = `${timestamp()} ${level.toUpperCase()} ${prefix}${message}\n`;
    if (ORDER[level] <= ORDER.warn) sink.err(line);
    else sink.out(line);
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    info: (m) => write('info', m),
    verbose: (m) => write('verbose', m),
    child: (p) => createLogger({ level: options.level, prefix: `${prefix}${p}`, sink }),
  };
}

/** A logger that drops everything (library use, tests that don't care). */
export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  verbose: () => {},
  child: () => silentLogger,
};
