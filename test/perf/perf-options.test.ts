/**
 * `scoreline perf` flags: perf_analyzer's names and defaults, ranges, shapes and headers,
 * and messages that name the flag when something is wrong.
 */
import { InvalidOptionError } from '../../src/errors';
import { parseRange } from '../../src/perf/load-range';
import { normalizeEngineUrl, parsePerfArgs, parseShape, perfUsage, PerfOptions, PERF_FLAGS } from '../../src/perf/perf-options';

const parse = (args: string[]): PerfOptions => {
  const parsed = parsePerfArgs(args);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
};

describe('ranges', () => {
  it.each([
    ['4', true, [4]],
    ['1:4', true, [1, 2, 3, 4]],
    ['1:16:5', true, [1, 6, 11, 16]],
    ['1:17:5', true, [1, 6, 11, 16]],
    ['100:200:50', false, [100, 150, 200]],
    ['0.5:1.5:0.5', false, [0.5, 1, 1.5]],
    ['10:10.3:0.1', false, [10, 10.1, 10.2, 10.3]],
  ])('reads %s as perf_analyzer does (integers: %s)', (text, integer, steps) => {
    expect(parseRange(text, '--x', { integer })).toEqual(steps);
  });

  it.each([
    ['0', 'positive'],
    ['4:2', 'end is below start'],
    ['1:2:3:4', 'too many parts'],
    ['1.5', 'not an integer'],
    ['a:b', 'not a positive number'],
    ['1:100000', 'at most'],
  ])('rejects %s (%s) naming the flag', (text, why) => {
    expect(() => parseRange(text, '--concurrency-range', { integer: true })).toThrow(
      expect.objectContaining({ code: 'SCORELINE_INVALID_OPTION', message: expect.stringMatching(new RegExp(`--concurrency-range.*${why}`)) }),
    );
  });
});

describe('engine targets', () => {
  it('defaults to one closed-loop caller against localhost:8000 with perf_analyzer defaults', () => {
    const o = parse(['-m', 'mlp']);
    expect(o.target).toEqual({
      kind: 'engine',
      url: 'http://localhost:8000',
      model: 'mlp',
      modelVersion: '',
      protocol: 'http',
      inputData: 'random',
      shapes: {},
      inputTensorFormat: 'binary',
      outputTensorFormat: 'binary',
    });
    expect(o).toMatchObject({
      batchSize: 1,
      load: { mode: 'concurrency', steps: [1] },
      measurementIntervalMs: 5000,
      stabilityPercentage: 10,
      maxTrials: 10,
      percentile: undefined,
      threads: 'auto',
      json: false,
    });
  });

  it('reads every engine flag, short and long', () => {
    const o = parse([
      '-u', 'http://h:9000/base/', '-m', 'm', '-x', '2', '-i', 'http', '-b', '8', '--concurrency-range', '2:8:2',
      '-p', '1500', '-s', '5', '-r', '4', '--percentile', '95', '--warmup-interval', '0', '--input-data', 'zero',
      '--shape', 'IN:3,4', '--shape', 'ns:x:2', '--input-tensor-format', 'json', '--output-tensor-format', 'json',
      '-H', 'Authorization: Bearer k', '--threads', '2', '--timeout', '500', '--seed', '7', '-f', 'o.csv', '--json', '--plot', 'o.svg', '-v',
    ]);
    expect(o.target).toMatchObject({ url: 'http://h:9000/base', modelVersion: '2', inputData: 'zero', shapes: { IN: [3, 4], 'ns:x': [2] }, inputTensorFormat: 'json', outputTensorFormat: 'json' });
    expect(o).toMatchObject({
      batchSize: 8,
      load: { mode: 'concurrency', steps: [2, 4, 6, 8] },
      measurementIntervalMs: 1500,
      stabilityPercentage: 5,
      maxTrials: 4,
      percentile: 95,
      warmupMs: 0,
      headers: { authorization: 'Bearer k' },
      threads: 2,
      timeoutMs: 500,
      seed: 7,
      csvFile: 'o.csv',
      json: true,
      plotFile: 'o.svg',
      verbose: true,
    });
  });

  it('takes a data file path for --input-data', () => {
    expect(parse(['-m', 'm', '--input-data', 'data.json']).target).toMatchObject({ inputData: { file: 'data.json' } });
  });

  it('reads an open loop with its distribution', () => {
    expect(parse(['-m', 'm', '--request-rate-range', '100:300:100', '--request-distribution', 'poisson']).load).toEqual({
      mode: 'rate',
      steps: [100, 200, 300],
      distribution: 'poisson',
    });
  });

  it('defaults gRPC to localhost:8001 and takes its address as host:port', () => {
    expect(parse(['-m', 'm', '-i', 'grpc']).target).toMatchObject({ protocol: 'grpc', url: 'localhost:8001' });
    expect(parse(['-m', 'm', '-i', 'grpc', '-u', 'grpc://10.0.0.1:9001']).target).toMatchObject({ url: '10.0.0.1:9001' });
  });

  it.each([
    ['localhost:8000', 'http://localhost:8000'],
    ['127.0.0.1:8000/triton', 'http://127.0.0.1:8000/triton'],
    ['https://example.com', 'https://example.com'],
  ])('normalizes the engine URL %s', (url, expected) => {
    expect(normalizeEngineUrl(url)).toBe(expected);
  });
});

describe('scoring endpoint targets', () => {
  it('POSTs a body file to --score-url', () => {
    const o = parse(['--score-url', 'http://localhost:5001/score', '--body', 'b.json', '--content-type', 'text/plain', '--concurrency-range', '4']);
    expect(o.target).toEqual({ kind: 'score', url: 'http://localhost:5001/score', bodyFile: 'b.json', contentType: 'text/plain' });
    expect(o.load).toEqual({ mode: 'concurrency', steps: [4] });
  });
});

describe('invalid options', () => {
  it.each([
    [[], /-m\/--model-name is required/],
    [['-m', 'm', '-b', '0'], /-b\/--batch-size: .*>=1/],
    [['-m', 'm', '-b', 'x'], /-b\/--batch-size: must be a number, got 'x'/],
    [['-m', 'm', '-i', 'udp'], /-i\/--protocol/],
    [['-m', 'm', '--threads', '0'], /--threads: must be 'auto' or an integer/],
    [['-m', 'm', '--concurrency-range', '1', '--request-rate-range', '5'], /exclude each other/],
    [['-m', 'm', '--request-distribution', 'poisson'], /applies only with --request-rate-range/],
    [['-m', 'm', '--shape', 'IN'], /--shape must be NAME:D1,D2/],
    [['-m', 'm', '--shape', 'IN:0'], /--shape must be NAME:D1,D2/],
    [['-m', 'm', '-H', 'no colon'], /-H\/--header must be 'Name: value'/],
    [['-m', 'm', '--body', 'b.json'], /--body applies only with --score-url/],
    [['--score-url', 'http://h/score'], /--score-url needs --body FILE/],
    [['--score-url', 'ftp://h/score', '--body', 'b'], /--score-url: must be an http\(s\) URL/],
    [['--score-url', 'http://h/score', '--body', 'b', '-m', 'm'], /-m\/--model-name applies only to an engine target/],
    [['--score-url', 'http://h/score', '--body', 'b', '-b', '4'], /-b\/--batch-size applies only to an engine target/],
    [['-m', 'm', '--percentile', '100'], /--percentile/],
    [['-m', 'm', '--bogus'], /Unknown option '--bogus'/],
    [['-m', 'm', '-u', 'http://h:1/?q=1'], /-u\/--url must be/],
    [['-m', 'm', '-i', 'grpc', '-u', 'http://h:1/base'], /-u\/--url with -i grpc must be host:port/],
    [['-m', 'm', '-i', 'grpc', '--input-tensor-format', 'json'], /--input-tensor-format json applies to HTTP only/],
  ])('rejects %j', (args, message) => {
    let thrown: unknown;
    try {
      parsePerfArgs(args as string[]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('reads a shape name up to its last colon', () => {
    expect(parseShape('a:b:1,2')).toEqual(['a:b', [1, 2]]);
  });
});

describe('help', () => {
  it('returns help for -h and lists every flag', () => {
    expect(parsePerfArgs(['-h'])).toBe('help');
    const usage = perfUsage();
    for (const flag of Object.keys(PERF_FLAGS)) expect(usage).toContain(`--${flag}`);
  });
});
