/**
 * The log settings as `scoreline serve` and `scoreline engine` read them: --log-format /
 * SCORELINE_LOG_FORMAT, and azmlinfsrv's AZUREML_LOG_LEVEL (Python's level names) beneath
 * --log-level / SCORELINE_LOG_LEVEL.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEngineCommandArgs } from '../../src/cli/engine-command';
import { InvalidOptionError } from '../../src/errors';
import { resolveServeOptions, type ServeOptions } from '../../src/frontend/serve-options';

const ENTRY = path.join(__dirname, 'fixtures', 'logging-module.cjs');

function resolved(args: string[], env: NodeJS.ProcessEnv = {}): { options: ServeOptions; warnings: string[] } {
  const result = resolveServeOptions(['--entry-script', ENTRY, ...args], env, tmpdir());
  if (result.help) throw new Error('unexpected --help');
  return result;
}
const options = (args: string[], env: NodeJS.ProcessEnv = {}): ServeOptions => resolved(args, env).options;

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as Error;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('scoreline serve --log-format', () => {
  it('is text unless the flag or SCORELINE_LOG_FORMAT says json; the flag wins', () => {
    expect(options([]).logFormat).toBe('text');
    expect(options(['--log-format', 'json']).logFormat).toBe('json');
    expect(options([], { SCORELINE_LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(options(['--log-format', 'text'], { SCORELINE_LOG_FORMAT: 'json' }).logFormat).toBe('text');
  });

  it('refuses another format, naming the flag, the variable and the formats', () => {
    const err = refusal(() => options(['--log-format', 'yaml']));
    expect(err.message).toMatch(/--log-format \(SCORELINE_LOG_FORMAT\)/);
    expect(err.message).toMatch(/"text"/);
    expect(err.message).toMatch(/"json"/);
    expect(err.message).toMatch(/yaml/);
  });
});

describe('AZUREML_LOG_LEVEL', () => {
  it.each([
    ['DEBUG', 'verbose'],
    ['NOTSET', 'verbose'],
    ['INFO', 'info'],
    ['WARNING', 'warn'],
    ['WARN', 'warn'],
    ['ERROR', 'error'],
    ['CRITICAL', 'error'],
    ['FATAL', 'error'],
    ['debug', 'verbose'],
    [' Warning ', 'warn'],
  ])('%j sets the log level %s', (value, level) => {
    expect(options([], { AZUREML_LOG_LEVEL: value }).logLevel).toBe(level);
  });

  it('gives way to SCORELINE_LOG_LEVEL and --log-level', () => {
    expect(options([], { AZUREML_LOG_LEVEL: 'ERROR', SCORELINE_LOG_LEVEL: 'verbose' }).logLevel).toBe('verbose');
    expect(options(['--log-level', 'warn'], { AZUREML_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('warn');
    expect(options([]).logLevel).toBe('info');
  });

  it("is read from azmlinfsrv's config.json too, beneath the environment, without a 'no effect' warning", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scoreline-log-level-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ AZUREML_LOG_LEVEL: 'WARNING' }));
    const fromFile = resolved(['--config-file', file]);
    expect(fromFile.options.logLevel).toBe('warn');
    expect(fromFile.warnings.join('\n')).not.toMatch(/AZUREML_LOG_LEVEL/);
    expect(options(['--config-file', file], { AZUREML_LOG_LEVEL: 'DEBUG' }).logLevel).toBe('verbose');
  });

  it('refuses a value that is no Python level name, naming the variable and the accepted names', () => {
    const err = refusal(() => options([], { AZUREML_LOG_LEVEL: 'LOUD' }));
    expect(err.message).toMatch(/^AZUREML_LOG_LEVEL: /);
    for (const name of ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']) expect(err.message).toContain(`"${name}"`);
    expect(err.message).toContain('LOUD');
  });
});

describe('scoreline engine --log-format', () => {
  const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const parsed = parseEngineCommandArgs(['--model-repository', '/models', ...args], env);
    if (parsed === 'help') throw new Error('unexpected help');
    return parsed.logFormat;
  };

  it('is text unless the flag or SCORELINE_LOG_FORMAT says json; the flag wins', () => {
    expect(parse([])).toBe('text');
    expect(parse(['--log-format', 'json'])).toBe('json');
    expect(parse([], { SCORELINE_LOG_FORMAT: 'json' })).toBe('json');
    expect(parse(['--log-format=text'], { SCORELINE_LOG_FORMAT: 'json' })).toBe('text');
  });

  it('refuses another format, naming where it came from', () => {
    expect(refusal(() => parse(['--log-format', 'xml'])).message).toBe("--log-format must be text or json, got 'xml'");
    expect(refusal(() => parse([], { SCORELINE_LOG_FORMAT: 'xml' })).message).toBe("SCORELINE_LOG_FORMAT must be text or json, got 'xml'");
  });
});
