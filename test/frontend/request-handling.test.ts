/** The pure pieces of request handling: ids, CORS, input parsing, API keys, error statuses, back-off. */
import {
  HeaderTooLongError,
  InferenceServerError,
  InvalidArgumentError,
  NetworkError,
  ScoringTimeoutError,
  SchemaValidationError,
  TooManyRequestsError,
} from '../../src/errors';
import { apiKeyCheck } from '../../src/frontend/http/api-key';
import { corsHeaders, preflightHeaders } from '../../src/frontend/http/cors';
import { ENGINE_UNREACHABLE_MESSAGE, RUN_FAILED_MESSAGE, errorReply } from '../../src/frontend/http/error-status';
import { checkScoreModule } from '../../src/frontend/worker/load-score-module';
import { logFields } from '../../src/util/log-fields';
import { requestIds } from '../../src/frontend/http/request-ids';
import { RestartBackoff } from '../../src/frontend/supervisor/restart-backoff';
import { bodyInput, queryInput } from '../../src/frontend/http/score-input';

describe('request ids', () => {
  it.each([
    [{ 'x-request-id': 'r' }, { requestId: 'r', clientRequestId: '', legacyRequestId: 'r' }],
    [{ 'x-request-id': 'r', 'x-ms-client-request-id': 'c' }, { requestId: 'r', clientRequestId: 'c', legacyRequestId: 'c' }],
    [{ 'x-request-id': 'r', 'x-ms-request-id': 'l' }, { requestId: 'r', clientRequestId: 'l', legacyRequestId: 'l' }],
    [{ 'x-request-id': 'r', 'x-ms-request-id': 'l', 'x-ms-client-request-id': 'c' }, { requestId: 'r', clientRequestId: 'c', legacyRequestId: 'l' }],
  ])('derives the ids of %j as AzureML does', (headers, expected) => {
    expect(requestIds(headers)).toEqual(expected);
  });

  it('generates a UUID request id', () => {
    expect(requestIds({}).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses an id over 100 characters', () => {
    expect(() => requestIds({ 'x-request-id': 'x'.repeat(101) })).toThrow(HeaderTooLongError);
  });
});

describe('CORS', () => {
  it.each([
    [['https://a'], 'https://a', 'https://a'],
    [['*'], 'https://any', '*'],
    [['https://a'], 'https://b', undefined],
    [[], 'https://a', undefined],
  ])('with origins %j, a request from %s is allowed as %s', (origins, origin, allowed) => {
    const out: Record<string, string> = {};
    corsHeaders(origins, { origin }, out);
    expect(out['access-control-allow-origin']).toBe(allowed);
  });

  it('echoes the requested headers in a preflight answer', () => {
    const out: Record<string, string> = {};
    preflightHeaders(['*'], { origin: 'https://a', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-a' }, out);
    expect(out).toMatchObject({ 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': 'x-a' });
  });
});

describe('score input', () => {
  it.each([
    ['{"a":1}', { a: 1 }],
    ['[1,2]', [1, 2]],
    ['plain text', 'plain text'],
    ['', ''],
  ])('gives run() the body %j as %j', (body, expected) => {
    expect(bodyInput(Buffer.from(body))).toEqual(expected);
  });

  it('parses query values as JSON, repeated keys as arrays', () => {
    expect(queryInput('?a=1&b=%5B1%2C2%5D&c=x&c=y&d=null')).toEqual({ a: 1, b: [1, 2], c: ['x', 'y'], d: null });
  });
});

describe('API key', () => {
  const check = apiKeyCheck('s3cret');
  it.each([[undefined], ['Bearer nope'], ['s3cret'], ['Basic s3cret']])('refuses %s', (header) => {
    expect(() => check(header)).toThrow(expect.objectContaining({ status: 401 }));
  });
  it('accepts the key as a Bearer token', () => {
    expect(() => check('Bearer s3cret')).not.toThrow();
    expect(() => check('bearer  s3cret')).not.toThrow();
  });
});

describe('error status', () => {
  it.each([
    ['a plain Error', new Error('x'), 500, RUN_FAILED_MESSAGE, true],
    ['an InvalidArgumentError', new InvalidArgumentError('bad data'), 400, 'bad data', false],
    ["the engine's 400", new InferenceServerError(400, 'unknown model'), 400, 'unknown model', false],
    ["the engine's 503", new InferenceServerError(503, 'Exceeds maximum queue size'), 503, 'Exceeds maximum queue size', true],
    ['an unreachable engine', new NetworkError('POST http://127.0.0.1:8000/v2/models/m/infer: connect ECONNREFUSED'), 503, ENGINE_UNREACHABLE_MESSAGE, true],
    ["the engine's 500", new InferenceServerError(500, 'onnx failed'), 500, RUN_FAILED_MESSAGE, true],
    ['a timeout', new ScoringTimeoutError(100), 500, 'Scoring timeout after 100 ms', true],
    ['an error of another scoreline copy (the brand)', Object.assign(new Error('bad'), { code: 'SCORELINE_INVALID_ARGUMENT', status: 400, [Symbol.for('scoreline.error')]: true }), 400, 'bad', false],
  ])('answers %s from run() with %i', (_case, err, status, message, failed) => {
    const reply = errorReply(err, 'run');
    expect([reply.status, reply.body.message, reply.runFunctionFailed]).toEqual([status, message, failed]);
  });

  it('adds the issues of a schema error and Retry-After of a 429', () => {
    expect(errorReply(new SchemaValidationError('m', [{ path: ['a'] }]), 'server').body.issues).toEqual([{ path: ['a'] }]);
    expect(errorReply(new TooManyRequestsError('busy'), 'server').headers['retry-after']).toBe('1');
  });

  it('hides the details of an unexpected server error', () => {
    expect(errorReply(new TypeError('internal detail'), 'server').body.message).not.toContain('internal detail');
  });
});

describe('score module contract', () => {
  const fn = () => undefined;
  it.each([
    [{ run: fn }, /must export an init\(\) function/],
    [{ init: fn }, /must export a run\(\) function/],
    [{ init: fn, run: fn, rawHttp: 'yes' }, /rawHttp must be true or false/],
    [{ init: fn, run: fn, inputSchema: {} }, /inputSchema must be a zod schema/],
    [{ init: fn, run: fn, rawHttp: true, inputSchema: { safeParse: fn } }, /cannot have both rawHttp and inputSchema/],
  ])('refuses exports %p', (exported, message) => {
    expect(() => checkScoreModule('/m.ts', exported)).toThrow(message);
  });
});

describe('log fields', () => {
  it('writes key=value pairs, quoting values that need it and leaving out undefined', () => {
    expect(logFields({ a: 1, b: 'x y', c: undefined, d: 'plain', e: '' })).toBe('a=1 b="x y" d=plain e=""');
  });
});

describe('restart back-off', () => {
  it('doubles while deaths come quickly, up to the cap, and starts over after a quiet spell', () => {
    const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, resetAfterMs: 5000 });
    expect([0, 10, 20, 30, 40, 50].map((now) => backoff.next(now))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.next(10_000)).toBe(100);
    expect(backoff.streak).toBe(1);
  });
});
