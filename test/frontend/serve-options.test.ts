import path from 'node:path';
import { InvalidOptionError } from '../../src/errors';
import { resolveServeOptions, serveUsage, type ServeOptions } from '../../src/frontend/serve-options';
import { FIXTURES, PACKAGE_ROOT } from './helpers/serve-process';

const ENTRY = path.join(FIXTURES, 'behaviours.ts');

function options(args: string[], env: NodeJS.ProcessEnv = {}): ServeOptions {
  const resolved = resolveServeOptions(['--entry-script', ENTRY, ...args], env, PACKAGE_ROOT);
  if (resolved.help) throw new Error('unexpected --help');
  return resolved.options;
}

describe('scoreline serve options', () => {
  it('has the documented defaults', () => {
    expect(options([])).toMatchObject({
      host: '0.0.0.0',
      port: 5001,
      workerCount: 1,
      engineHttpPort: 8000,
      engineGrpcPort: 8001,
      engineMetricsPort: 8002,
      scoringTimeoutMs: 3_600_000,
      maxConcurrency: 0,
      engineConnections: 128,
      coalesceInfer: true,
      engineTransport: 'lean',
      corsOrigins: [],
      engineUrl: undefined,
      modelRepository: undefined,
      modelDir: undefined,
      serviceName: 'ML service',
      logLevel: 'info',
      logBodies: false,
      serverVersionHeader: true,
    });
  });

  it.each([
    ['false', false],
    ['FALSE', false],
    ['true', true],
  ])("reads azmlinfsrv's SERVER_VERSION_LOG_RESPONSE_ENABLED=%s", (value, expected) => {
    expect(options([], { SERVER_VERSION_LOG_RESPONSE_ENABLED: value }).serverVersionHeader).toBe(expected);
    expect(options(['--no-server-version-header']).serverVersionHeader).toBe(false);
  });

  it.each([
    ['WORKER_COUNT', '--worker-count', 'workerCount', '3', 3],
    ['SCORELINE_PORT', '--port', 'port', '6000', 6000],
    ['SCORING_TIMEOUT_MS', '--scoring-timeout-ms', 'scoringTimeoutMs', '250', 250],
    ['SCORELINE_ENGINE_URL', '--engine-url', 'engineUrl', 'http://triton:8000/', 'http://triton:8000'],
    ['SCORELINE_MAX_CONCURRENCY', '--max-concurrency', 'maxConcurrency', '4', 4],
    ['SCORELINE_ENGINE_CONNECTIONS', '--engine-connections', 'engineConnections', '32', 32],
    ['SCORELINE_LOG_BODIES', '--log-bodies', 'logBodies', 'true', true],
  ] as const)('reads %s, and %s wins over it', (env, flag, key, text, value) => {
    expect(options([], { [env]: text })[key]).toEqual(value);
    const flagArgs = flag === '--log-bodies' ? [flag] : [flag, text];
    expect(options(flagArgs, { [env]: flag === '--log-bodies' ? 'false' : '9' })[key]).toEqual(value);
  });

  it("uses the lean transport for the engine unless told otherwise, undici for an https engine (lean is http only)", () => {
    expect(options(['--engine-transport', 'undici']).engineTransport).toBe('undici');
    expect(options([], { SCORELINE_ENGINE_TRANSPORT: 'undici' }).engineTransport).toBe('undici');
    expect(options(['--engine-url', 'https://triton:8000']).engineTransport).toBe('undici');
    expect(() => options(['--engine-url', 'https://triton:8000', '--engine-transport', 'lean'])).toThrow(
      /--engine-transport \(SCORELINE_ENGINE_TRANSPORT\): lean speaks plain HTTP only; use undici for https:\/\/triton:8000/,
    );
    expect(() => options(['--engine-transport', 'curl'])).toThrow(/--engine-transport \(SCORELINE_ENGINE_TRANSPORT\)/);
  });

  it('turns switches off with --no-<flag> or the variable, and the flag wins over the variable', () => {
    expect(options(['--no-coalesce-infer']).coalesceInfer).toBe(false);
    expect(options([], { SCORELINE_COALESCE_INFER: '0' }).coalesceInfer).toBe(false);
    expect(options(['--coalesce-infer'], { SCORELINE_COALESCE_INFER: 'false' }).coalesceInfer).toBe(true);
    expect(options(['--no-coalesce-infer'], { SCORELINE_COALESCE_INFER: 'yes' }).coalesceInfer).toBe(false);
    expect(options(['--no-log-bodies'], { SCORELINE_LOG_BODIES: 'true' }).logBodies).toBe(false);
    expect(() => options(['--no-port'])).toThrow(/Unknown option '--no-port'/);
  });

  it('reads the API key from SCORELINE_API_KEY only (a flag would show in ps)', () => {
    expect(options([], { SCORELINE_API_KEY: 'k' }).apiKey).toBe('k');
    expect(() => options(['--api-key', 'k'])).toThrow(/Unknown option '--api-key'/);
  });

  it('splits AML_CORS_ORIGINS on commas', () => {
    expect(options([], { AML_CORS_ORIGINS: 'https://a.example, https://b.example,' }).corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('resolves paths: the entry script from the app root, model directories from the working directory', () => {
    const resolved = resolveServeOptions(['--entry-script', 'behaviours.ts', '--model-repository', 'test/fixtures'], { AML_APP_ROOT: FIXTURES }, PACKAGE_ROOT);
    expect(resolved.help).toBe(false);
    if (resolved.help) return;
    expect(resolved.options.entryScript).toBe(ENTRY);
    expect(resolved.options.modelRepository).toBe(path.join(PACKAGE_ROOT, 'test', 'fixtures'));
    expect(resolved.options.modelDir).toBe(resolved.options.modelRepository);
  });

  it("falls back to the package's scoring/score.ts when no entry script is named and the app root has none", () => {
    const resolved = resolveServeOptions([], { AML_APP_ROOT: FIXTURES }, PACKAGE_ROOT);
    expect(!resolved.help && resolved.options.entryScript).toBe(path.join(PACKAGE_ROOT, 'scoring', 'score.ts'));
  });

  it.each([
    [['--port', '70000'], {}, '--port (SCORELINE_PORT)'],
    [[], { WORKER_COUNT: 'many' }, '--worker-count (WORKER_COUNT)'],
    [['--engine-url', 'ftp://x'], {}, '--engine-url (SCORELINE_ENGINE_URL)'],
    [['--max-body-bytes', '0'], {}, '--max-body-bytes (SCORELINE_MAX_BODY_BYTES)'],
    [['--engine-connections', '0'], {}, '--engine-connections (SCORELINE_ENGINE_CONNECTIONS)'],
    [[], { SCORELINE_LOG_BODIES: 'sometimes' }, '--log-bodies (SCORELINE_LOG_BODIES)'],
    [['--app-root', '/no/such/dir'], {}, '--app-root (AML_APP_ROOT): no such directory'],
  ])('refuses %j %j with a message naming %s', (args, env, name) => {
    expect(() => options(args, env)).toThrow(InvalidOptionError);
    expect(() => options(args, env)).toThrow(name);
  });

  it('answers --help with usage that lists every flag with its variable', () => {
    expect(resolveServeOptions(['--help'], {}).help).toBe(true);
    expect(serveUsage()).toMatch(/--worker-count N\s+WORKER_COUNT/);
    expect(serveUsage()).toMatch(/\(env only\)\s+SCORELINE_API_KEY/);
    expect(serveUsage()).toMatch(/--\[no-\]coalesce-infer\s+SCORELINE_COALESCE_INFER/);
  });
});
