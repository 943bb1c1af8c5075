/**
 * A span exporter wrapper whose failures are logged at most once per interval, with the
 * number of spans dropped since the last line. The BatchSpanProcessor already keeps
 * exports off the request path (a request only appends to its queue, and drops the span
 * when the queue is full); this keeps an unreachable collector from writing a log line per
 * batch for as long as it is down.
 */
import { ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../logger';

export const EXPORT_ERROR_LOG_INTERVAL_MS = 60_000;

/** Logs `message` at most once per interval; counts what it swallowed meanwhile. */
export class RateLimitedLog {
  private lastAt = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly log: (line: string) => void,
    private readonly intervalMs = EXPORT_ERROR_LOG_INTERVAL_MS,
  ) {}

  report(message: string, now = Date.now()): void {
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    const more = this.suppressed === 0 ? '' : ` (${this.suppressed} more since the last report)`;
    this.lastAt = now;
    this.suppressed = 0;
    this.log(`${message}${more}`);
  }
}

export class RateLimitedExporter implements SpanExporter {
  private readonly errors: RateLimitedLog;
  private dropped = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly name: string,
    logger: Pick<Logger, 'warn'>,
  ) {
    this.errors = new RateLimitedLog((line) => logger.warn(line));
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        this.dropped += spans.length;
        this.errors.report(`trace export to ${this.name} failed: ${result.error?.message ?? 'unknown error'}; ${this.dropped} spans dropped so far`);
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
