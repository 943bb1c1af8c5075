/**
 * The error registry keeps its own rules (as fastify's test/internals/errors.test.js walks
 * its errors): every class exported by src/errors.ts has a unique SCORELINE_* code, a status,
 * a unique name (another copy's classes are matched by name), and both servers' error
 * mappers answer that status. And scoreline errors are recognised across two copies of the
 * package, by the Symbol.for brand.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import * as registry from '../../src/errors';
import { kserveErrorReply as engineErrorReply } from '../../src/engine/http/error-status';
import { errorReply as frontendErrorReply } from '../../src/frontend/http/error-status';

type Registry = typeof registry;
type ErrorClass = new (...args: never[]) => registry.ScorelineError;

const classes = (Object.entries(registry) as Array<[string, unknown]>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' && (entry[1] === registry.ScorelineError || (entry[1] as ErrorClass).prototype instanceof registry.ScorelineError),
);

/** One instance per code a class can carry (the parametrized classes carry several). */
function instancesOf(name: string, Class: ErrorClass, copy: Registry = registry): registry.ScorelineError[] {
  const http1Codes = Object.keys(copy.HTTP1_ERROR_STATUS) as registry.Http1ErrorCode[];
  const C = Class as unknown as new (...args: unknown[]) => registry.ScorelineError;
  switch (name) {
    case 'InferenceServerError':
      return [400, 404, 500, 503].map((status) => new C(status, `server said ${status}`));
    case 'ScoringTimeoutError':
      return [new C(100)];
    case 'Http1TransportError':
      return http1Codes.map((code) => new C(code, 'lean transport failed'));
    case 'Http1PoolError':
      return http1Codes.filter((code) => code !== 'SCORELINE_HTTP1_PROTOCOL' && code !== 'SCORELINE_HTTP1_INCOMPLETE').map((code) => new C(code, 'pool failed'));
    case 'Http1ProtocolError':
      return [new C('malformed'), new C('cut short', 'SCORELINE_HTTP1_INCOMPLETE')];
    default:
      return [new C('something went wrong')];
  }
}

/** Another copy of the registry, as a score module bundling its own scoreline would load. */
function loadCopy(dir: string): Registry {
  const source = readFileSync(path.join(__dirname, '..', '..', 'src', 'errors.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
  const file = path.join(dir, 'errors.js');
  writeFileSync(file, outputText);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module written at run time, loaded as a second copy
  return require(file) as Registry;
}

describe('the error registry (src/errors.ts)', () => {
  const all = classes.flatMap(([name, Class]) => instancesOf(name, Class).map((err) => ({ name, err })));

  it('exports its classes (the walk below sees them all)', () => {
    expect(classes.length).toBeGreaterThan(25);
    expect(classes.map(([name]) => name)).toEqual(expect.arrayContaining(['ScorelineError', 'MethodNotAllowedError', 'Http1PoolError', 'Http1ProtocolError']));
  });

  it('every code is named SCORELINE_* and belongs to one class only', () => {
    const owner = new Map<string, string>();
    for (const { name, err } of all) {
      expect(err.code).toMatch(/^SCORELINE_[A-Z0-9_]+$/);
      // A parametrized base shares its codes with the subclasses that narrow them.
      const previous = owner.get(err.code);
      if (previous !== undefined && previous !== name && !(name.startsWith('Http1') && previous.startsWith('Http1'))) {
        throw new Error(`${err.code} is the code of both ${previous} and ${name}`);
      }
      owner.set(err.code, previous ?? name);
    }
    const http1 = [...owner.keys()].filter((code) => code.startsWith('SCORELINE_HTTP1_')).sort();
    expect(http1).toEqual(Object.keys(registry.HTTP1_ERROR_STATUS).sort());
  });

  it('every class names itself and its name is unique (another copy is matched by name)', () => {
    for (const { name, err } of all) expect(err.name).toBe(name);
    expect(new Set(classes.map(([, Class]) => Class.name)).size).toBe(classes.length);
  });

  it('every error has an HTTP status, and both servers answer it', () => {
    for (const { name, err } of all) {
      expect([name, Number.isInteger(err.status) && err.status >= 400 && err.status <= 599]).toEqual([name, true]);
      expect([name, err.code, engineErrorReply(err).status]).toEqual([name, err.code, err.status]);
      expect([name, err.code, frontendErrorReply(err, 'server').status]).toEqual([name, err.code, err.status]);
    }
  });

  it('405 comes from the registry through the front end mapper', () => {
    const reply = frontendErrorReply(new registry.MethodNotAllowedError(), 'server');
    expect(reply).toEqual({ status: 405, body: { message: 'Method not allowed' }, runFunctionFailed: false, headers: {} });
  });

  it('the lean transport errors carry their codes and the client errors they stand for', () => {
    expect(new registry.Http1PoolError('SCORELINE_HTTP1_CONNECT_TIMEOUT', 'slow')).toMatchObject({ code: 'SCORELINE_HTTP1_CONNECT_TIMEOUT', status: 504 });
    expect(new registry.Http1ProtocolError('bad')).toMatchObject({ code: 'SCORELINE_HTTP1_PROTOCOL', status: 503 });
    expect(new registry.Http1ProtocolError('bad')).toBeInstanceOf(registry.Http1TransportError);
    expect(new registry.Http1ProtocolError('bad')).not.toBeInstanceOf(registry.Http1PoolError);
  });
});

describe('recognising scoreline errors across two copies of the package', () => {
  let dirs: string[] = [];
  let a: Registry;
  let b: Registry;
  beforeAll(() => {
    dirs = [mkdtempSync(path.join(tmpdir(), 'scoreline-copy-a-')), mkdtempSync(path.join(tmpdir(), 'scoreline-copy-b-'))];
    a = loadCopy(dirs[0]);
    b = loadCopy(dirs[1]);
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('loads two distinct copies', () => {
    expect(a.ScorelineError).not.toBe(b.ScorelineError);
    expect(a.ScorelineError).not.toBe(registry.ScorelineError);
    // Without the brand the prototype chains alone would say no.
    expect(Function.prototype[Symbol.hasInstance].call(b.ScorelineError, new a.InvalidArgumentError('x'))).toBe(false);
  });

  it('instanceof holds across copies for the base class and every class, and only along the class chain', () => {
    for (const [name, Class] of classes) {
      const mine = registry[name as keyof Registry] as unknown as ErrorClass;
      const theirs = b[name as keyof Registry] as unknown as ErrorClass;
      for (const err of instancesOf(name, a[name as keyof Registry] as unknown as ErrorClass, a)) {
        expect([name, err instanceof registry.ScorelineError, err instanceof b.ScorelineError, err instanceof mine, err instanceof theirs]).toEqual([name, true, true, true, true]);
        expect([name, registry.isScorelineError(err), b.isScorelineError(err)]).toEqual([name, true, true]);
      }
      expect(Class).toBe(mine);
    }
    const configError = new a.ModelConfigError('bad config');
    expect(configError instanceof b.InvalidArgumentError).toBe(true);
    expect(configError instanceof b.ModelNotFoundError).toBe(false);
    expect(configError instanceof registry.UnavailableError).toBe(false);
    expect(new a.QueueFullError() instanceof registry.UnavailableError).toBe(true);
  });

  it('what is not a scoreline error is not one, in any copy', () => {
    for (const value of [new Error('x'), Object.assign(new Error('x'), { code: 'SCORELINE_INVALID_ARGUMENT', status: 400 }), null, undefined, 'SCORELINE_ERROR', 42, {}]) {
      expect([value, value instanceof registry.ScorelineError, value instanceof a.ScorelineError, registry.isScorelineError(value)]).toEqual([value, false, false, false]);
    }
    class InvalidArgumentError extends Error {}
    expect(new InvalidArgumentError() instanceof registry.InvalidArgumentError).toBe(false);
  });

  it("both servers answer another copy's error with its status and message", () => {
    const refused = new a.InvalidArgumentError('input 0 has the wrong shape');
    expect(frontendErrorReply(refused, 'run')).toMatchObject({ status: 400, body: { message: 'input 0 has the wrong shape' }, runFunctionFailed: false });
    expect(engineErrorReply(refused)).toEqual({ status: 400, body: { error: 'input 0 has the wrong shape' } });
    const busy = new a.QueueFullError();
    expect(frontendErrorReply(busy, 'run')).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    const schema = new a.SchemaValidationError('bad body', [{ path: ['data'] }]);
    expect(frontendErrorReply(schema, 'server').body.issues).toEqual([{ path: ['data'] }]);
  });
});
