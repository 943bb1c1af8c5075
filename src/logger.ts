/**
 * A small leveled logger shared by the engine and the front end. Lines are plain text,
 * one event per line, with an ISO timestamp and level: easy to grep, easy for a log
 * collector. Info and below go to stdout, warnings and errors to stderr.
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

export function createLogger(options: { level?: LogLevel; prefix?: string } = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const prefix = options.prefix ? `${options.prefix} ` : '';
  const write = (level: LogLevel, message: string): void => {
    if (ORDER[level] > threshold) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase()} ${prefix}${message}\n`;
    (ORDER[level] <= ORDER.warn ? process.stderr : process.stdout).write(line);
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    info: (m) => write('info', m),
    verbose: (m) => write('verbose', m),
    child: (p) => createLogger({ level: options.level, prefix: `${prefix}${p}` }),
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
