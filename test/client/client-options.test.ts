/**
 * Constructor options: the url forms tritonclient and URLs allow, defaults, and messages
 * that name the option for callers without a type checker.
 */
import { InferenceServerClient, InvalidOptionError } from '../../src/client';
import { resolveClientOptions } from '../../src/client/client-options';

describe('the url option', () => {
  it.each([
    ['localhost:8000', 'http://localhost:8000', ''],
    ['127.0.0.1:8000/triton', 'http://127.0.0.1:8000', '/triton'],
    ['http://localhost:8000', 'http://localhost:8000', ''],
    ['http://localhost:8000/', 'http://localhost:8000', ''],
    ['https://models.example.com/v/', 'https://models.example.com', '/v'],
    ['[::1]:8000', 'http://[::1]:8000', ''],
  ])('%s means origin %s with base path %j', (url, origin, basePath) => {
    expect(resolveClientOptions({ url })).toMatchObject({ origin, basePath });
  });

  it.each([
    ['ftp://host:21', /scheme 'ftp:'/],
    ['http://user:pw@host:8000', /credentials/],
    ['localhost:8000?x=1', /query or fragment/],
    ['http://', /not a valid/],
  ])('rejects %s', (url, message) => {
    expect(() => new InferenceServerClient({ url })).toThrow(InvalidOptionError);
    expect(() => new InferenceServerClient({ url })).toThrow(message);
  });
});

describe('options', () => {
  it('defaults as tritonclient does (60 s timeouts, one request per infer call), with a pool of 16 connections', () => {
    expect(resolveClientOptions('localhost:8000')).toEqual({
      origin: 'http://localhost:8000',
      basePath: '',
      connectionTimeout: 60_000,
      networkTimeout: 60_000,
      concurrency: 16,
      headers: {},
      transport: 'undici',
      resendAfterOutage: false,
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['a missing url', {}, /option 'url'/],
    ['a zero concurrency', { url: 'h:1', concurrency: 0 }, /option 'concurrency'/],
    ['a fractional concurrency', { url: 'h:1', concurrency: 1.5 }, /option 'concurrency'/],
    ['coalesceInfer, which moved to the front end', { url: 'h:1', coalesceInfer: true }, /unknown option\(s\) 'coalesceInfer' \('coalesceInfer' was removed: merging infer\(\) calls is scoreline serve's, --coalesce-infer\)/],
    ['an unknown transport', { url: 'h:1', transport: 'curl' }, /option 'transport'/],
    ['the lean transport for an https URL', { url: 'https://h:1', transport: 'lean' }, /option 'transport': 'lean' speaks plain HTTP only; use 'undici' for https:\/\/h:1/],
    ['a negative networkTimeout', { url: 'h:1', networkTimeout: -1 }, /option 'networkTimeout'/],
    ['a string connectionTimeout', { url: 'h:1', connectionTimeout: '5' }, /option 'connectionTimeout'/],
    ['a misspelt option', { url: 'h:1', concurency: 2 }, /unknown option\(s\) 'concurency'/],
    ['a non-string header', { url: 'h:1', headers: { a: 1 } }, /option 'headers.a'/],
    ['a Transfer-Encoding header', { url: 'h:1', headers: { 'Transfer-Encoding': 'chunked' } }, /'Transfer-Encoding'/],
    ['no options at all', undefined, /invalid InferenceServerClient/],
  ])('rejects %s with a message naming it', (_, options, message) => {
    let error: unknown;
    try {
      new InferenceServerClient(options as never);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ code: 'SCORELINE_INVALID_OPTION', message });
  });
});
