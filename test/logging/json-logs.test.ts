/**
 * The logger's two formats from the outside: what a sink receives. JSON lines (shape, fields
 * as properties, bound fields, the active span's ids) and text lines, which must stay byte
 * for byte what the front end wrote before fields became an argument.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { context, INVALID_SPAN_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { logFields } from '../../src/util/log-fields';
import { createLogger, type LogSink } from '../../src/logger';

function recording(): { sink: LogSink; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { sink: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

const parse = (line: string): Record<string, unknown> => {
  expect(line.endsWith('}\n')).toBe(true);
  expect(line.slice(0, -1)).not.toContain('\n');
  return JSON.parse(line) as Record<string, unknown>;
};

describe('JSON log lines', () => {
  it('are one object per line: time, level, logger, message, then the fields, in that order', () => {
    const { sink, out } = recording();
    createLogger({ format: 'json', prefix: 'serve worker 1:', sink }).info('request', { method: 'POST', status: 200, request_id: 'abc' });
    expect(out).toHaveLength(1);
    const line = parse(out[0]!);
    expect(Object.keys(line)).toEqual(['time', 'level', 'logger', 'message', 'method', 'status', 'request_id']);
    expect(line).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), level: 'info', logger: 'serve worker 1', message: 'request', method: 'POST', status: 200, request_id: 'abc' });
    expect(Date.parse(line.time as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('go to stdout for info and verbose, stderr for warnings and errors, and below the level nowhere', () => {
    const { sink, out, err } = recording();
    const logger = createLogger({ format: 'json', level: 'info', sink });
    logger.verbose('dropped');
    logger.info('kept');
    logger.warn('careful');
    logger.error('broken');
    expect(out.map((l) => parse(l).level)).toEqual(['info']);
    expect(err.map((l) => parse(l))).toEqual([expect.objectContaining({ level: 'warn', message: 'careful' }), expect.objectContaining({ level: 'error', message: 'broken' })]);
  });

  it('name the logger by its prefix (children add to it; no prefix: the name option, else no logger property)', () => {
    const { sink, out } = recording();
    const root = createLogger({ format: 'json', prefix: 'serve', sink });
    root.child('worker 2:').info('a');
    createLogger({ format: 'json', name: 'engine', sink }).info('b');
    createLogger({ format: 'json', sink }).info('c');
    expect(out.map((l) => parse(l).logger)).toEqual(['serve worker 2', 'engine', undefined]);
  });

  it('write fields as JSON properties of their own types; undefined ones are left out', () => {
    const { sink, out } = recording();
    const error = new Error('boom');
    createLogger({ format: 'json', sink }).info('fields', {
      n: 1.5,
      yes: true,
      text: 'two words "quoted" = sign\nnew line, back\\slash\ttab, lone \ud800 surrogate, é',
      object: { a: [1, 2] },
      missing: undefined,
      big: 12345678901234567890n,
      nan: Number.NaN,
      error,
    });
    const line = parse(out[0]!);
    expect(line).toEqual({
      time: expect.any(String),
      level: 'info',
      message: 'fields',
      n: 1.5,
      yes: true,
      text: 'two words "quoted" = sign\nnew line, back\\slash\ttab, lone \ud800 surrogate, é',
      object: { a: [1, 2] },
      big: 12345678901234567000,
      nan: 'NaN',
      error: error.stack,
    });
  });

  it('keep a multi-line message (a stack) on one line', () => {
    const { sink, err } = recording();
    const error = new Error('boom');
    createLogger({ format: 'json', sink }).error(`run() failed: ${error.stack}`);
    expect(parse(err[0]!).message).toBe(`run() failed: ${error.stack}`);
  });

  it("rename a field that would shadow the line's own properties", () => {
    const { sink, out } = recording();
    createLogger({ format: 'json', prefix: 'p:', sink }).info('real', { message: 'field', level: 'x', time: 1, logger: 'l', trace_id: 't' });
    expect(parse(out[0]!)).toMatchObject({ message: 'real', level: 'info', logger: 'p', field_message: 'field', field_level: 'x', field_time: 1, field_logger: 'l', field_trace_id: 't' });
  });

  it("carry withFields' fields on every line, its children's too; a line's own field of the same name wins", () => {
    const { sink, out, err } = recording();
    const request = createLogger({ format: 'json', prefix: 'serve worker 1:', sink }).withFields({ request_id: 'r-1', model: 'iris' });
    request.info('scoring', { rows: 3 });
    request.warn('refused', { model: 'other' });
    request.child('module:').withFields({ step: 2 }).info('deeper');
    expect(out.map(parse)).toEqual([
      expect.objectContaining({ message: 'scoring', request_id: 'r-1', model: 'iris', rows: 3 }),
      expect.objectContaining({ logger: 'serve worker 1: module', message: 'deeper', request_id: 'r-1', model: 'iris', step: 2 }),
    ]);
    const refused = parse(err[0]!);
    expect(refused).toMatchObject({ request_id: 'r-1', model: 'other' });
    expect(err[0]!.match(/"model"/g)).toHaveLength(1);
  });
});

describe('text log lines', () => {
  it('with fields, are what the message with logFields appended was (the line the front end always wrote)', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['request', { method: 'POST', path: '/score', status: 200, duration_ms: '1.250', request_id: 'has space', body: undefined }],
      ['serving on http://127.0.0.1:5001', { workers: 2, entry_script: '/app/score.ts', engine: 'none' }],
      ['stopped', { exit_code: 0 }],
      ['nothing given', { a: undefined }],
    ];
    for (const [message, fields] of cases) {
      const before = recording();
      const after = recording();
      createLogger({ prefix: 'serve worker 1:', sink: before.sink }).warn(`${message} ${logFields(fields)}`);
      createLogger({ prefix: 'serve worker 1:', sink: after.sink }).warn(message, fields);
      expect(after.err.map((l) => l.slice(24))).toEqual(before.err.map((l) => l.slice(24)));
    }
    const { sink, out } = recording();
    createLogger({ prefix: 'serve worker 1:', sink }).info('request', { method: 'POST', status: 200, request_id: 'abc' });
    expect(out).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO serve worker 1: request method=POST status=200 request_id=abc\n$/)]);
  });

  it('ignore withFields: the same logger, lines unchanged', () => {
    const { sink, out } = recording();
    const logger = createLogger({ prefix: 'serve worker 1:', sink });
    expect(logger.withFields({ request_id: 'r-1' })).toBe(logger);
    logger.withFields({ request_id: 'r-1' }).info('from the module');
    expect(out).toEqual([expect.stringMatching(/Z INFO serve worker 1: from the module\n$/)]);
    expect(logger.format).toBe('text');
  });
});

describe('trace and span ids', () => {
  let provider: NodeTracerProvider;

  beforeAll(() => {
    // What src/telemetry's startTelemetry does when tracing is configured: a tracer provider
    // and an AsyncLocalStorage context manager, registered globally.
    provider = new NodeTracerProvider();
    provider.register();
  });

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('are on JSON lines logged inside an active span, across awaits, and not outside it', async () => {
    const { sink, out, err } = recording();
    const logger = createLogger({ format: 'json', prefix: 'serve worker 1:', sink }).withFields({ request_id: 'r-9' });
    let ids: { traceId: string; spanId: string } | undefined;
    await trace.getTracer('test').startActiveSpan('POST /score', async (span) => {
      ids = span.spanContext();
      logger.info('inside');
      await sleep(5);
      logger.error('after an await');
      span.end();
    });
    logger.info('outside');
    expect(ids!.traceId).toMatch(/^[0-9a-f]{32}$/);
    const inside = parse(out[0]!);
    expect(Object.keys(inside)).toEqual(['time', 'level', 'logger', 'message', 'trace_id', 'span_id', 'request_id']);
    expect(inside).toMatchObject({ message: 'inside', trace_id: ids!.traceId, span_id: ids!.spanId, request_id: 'r-9' });
    expect(parse(err[0]!)).toMatchObject({ message: 'after an await', trace_id: ids!.traceId, span_id: ids!.spanId });
    const outside = parse(out[1]!);
    expect(outside.message).toBe('outside');
    expect(outside).not.toHaveProperty('trace_id');
  });

  it("name a child span's id, and leave an invalid span context out", () => {
    const { sink, out } = recording();
    const logger = createLogger({ format: 'json', sink });
    const tracer = trace.getTracer('test');
    tracer.startActiveSpan('parent', (parent) => {
      tracer.startActiveSpan('run()', (child) => {
        logger.info('in run');
        expect(parse(out[0]!)).toMatchObject({ trace_id: parent.spanContext().traceId, span_id: child.spanContext().spanId });
        child.end();
      });
      parent.end();
    });
    context.with(trace.setSpanContext(context.active(), INVALID_SPAN_CONTEXT), () => logger.info('invalid'));
    expect(parse(out[1]!)).not.toHaveProperty('trace_id');
  });

  it('are not on text lines, which stay as they were', () => {
    const { sink, out } = recording();
    const logger = createLogger({ prefix: 'serve worker 1:', sink });
    trace.getTracer('test').startActiveSpan('span', (span) => {
      logger.info('inside', { status: 200 });
      span.end();
    });
    expect(out).toEqual([expect.stringMatching(/Z INFO serve worker 1: inside status=200\n$/)]);
  });
});
