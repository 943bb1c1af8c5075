import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { LineBatcher, createLogger, type LogSink } from '../../src/logger';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('LineBatcher', () => {
  it('writes the lines of one event-loop turn together, in order, after the turn', async () => {
    const writes: string[] = [];
    const batcher = new LineBatcher((text) => writes.push(text));
    batcher.add('a\n');
    batcher.add('b\n');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['a\nb\n']);
    batcher.add('c\n');
    await nextTurn();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('with a delay, writes the lines of several turns together once the delay has passed', async () => {
    // Fake setTimeout (the delay); real setImmediate, so nextTurn() still ends a turn.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const writes: string[] = [];
      const batcher = new LineBatcher((text) => writes.push(text), { delayMs: 30 });
      batcher.add('a\n');
      await nextTurn();
      batcher.add('b\n');
      await nextTurn();
      jest.advanceTimersByTime(29);
      expect(writes).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(writes).toEqual(['a\nb\n']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('after close() writes what waits and every later line at once', () => {
    const writes: string[] = [];
    const batcher = new LineBatcher((text) => writes.push(text));
    batcher.add('a\n');
    batcher.close();
    batcher.add('b\n');
    expect(writes).toEqual(['a\n', 'b\n']);
  });

  it('writes at once when a turn has logged more than its byte threshold', () => {
    const writes: string[] = [];
    const batcher = new LineBatcher((text) => writes.push(text), { flushBytes: 8 });
    batcher.add('1234\n');
    expect(writes).toEqual([]);
    batcher.add('5678\n');
    expect(writes).toEqual(['1234\n5678\n']);
    batcher.flush();
    expect(writes).toHaveLength(1);
  });
});

describe('createLogger', () => {
  function recording(): { sink: LogSink; out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return { sink: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
  }

  it('sends info and verbose to out, warnings and errors to err, with timestamp, level and prefix', () => {
    const { sink, out, err } = recording();
    const logger = createLogger({ level: 'verbose', prefix: 'engine:', sink });
    logger.info('ready');
    logger.verbose('detail');
    logger.warn('careful');
    logger.error('broken');
    expect(out).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO engine: ready\n$/), expect.stringMatching(/ VERBOSE engine: detail\n$/)]);
    expect(err).toEqual([expect.stringMatching(/ WARN engine: careful\n$/), expect.stringMatching(/ ERROR engine: broken\n$/)]);
  });

  it('drops lines below its level; a child keeps the level and adds to the prefix', () => {
    const { sink, out, err } = recording();
    const child = createLogger({ level: 'warn', prefix: 'serve', sink }).child('worker 1:');
    child.info('dropped');
    child.warn('kept');
    expect(out).toEqual([]);
    expect(err).toEqual([expect.stringMatching(/ WARN serve worker 1: kept\n$/)]);
  });

  it('loses no stdout line when the process exits in the turn that logged it, nor one an exit handler logs', () => {
    const loggerModule = path.join(__dirname, '..', '..', 'dist', 'src', 'logger.js');
    const script = `
      const { createLogger } = require(${JSON.stringify(loggerModule)});
      const logger = createLogger();
      for (let i = 0; i < 999; i++) logger.info('line ' + i);
      process.on('exit', () => logger.info('line 999'));
      process.exit(0);`;
    const stdout = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines.map((l) => l.replace(/^\S+ INFO /, ''))).toEqual(Array.from({ length: 1000 }, (_, i) => `line ${i}`));
  });

  it('writes the waiting lines of a process that ends on its own (the flush timer does not hold it)', () => {
    const loggerModule = path.join(__dirname, '..', '..', 'dist', 'src', 'logger.js');
    const script = `
      const { createLogger } = require(${JSON.stringify(loggerModule)});
      createLogger().info('the last words');`;
    const stdout = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(stdout).toMatch(/ INFO the last words\n$/);
  });

  it('loses no stdout line when the process dies of an uncaught exception before the lines were due', () => {
    const loggerModule = path.join(__dirname, '..', '..', 'dist', 'src', 'logger.js');
    const script = `
      const { createLogger } = require(${JSON.stringify(loggerModule)});
      const logger = createLogger();
      logger.info('before the crash');
      setImmediate(() => { throw new Error('boom'); });`;
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('boom');
    expect(result.stdout).toMatch(/ INFO before the crash\n$/);
  });
});
