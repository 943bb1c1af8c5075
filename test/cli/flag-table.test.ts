/**
 * The command-line pattern all three commands share (src/cli/flag-table.ts): reading argv by a
 * table, and help generated from the table with the command's own schema defaults.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describeFlag, EXIT_USAGE, formatFlagHelp, keyedByFlag, readFlags, type FlagSpec } from '../../src/cli/flag-table';
import { ENGINE_FLAGS, engineUsage, parseEngineArgs } from '../../src/cli/engine-command';
import { InvalidOptionError } from '../../src/errors';
import { resolveEngineOptions } from '../../src/engine/engine-options';
import { resolveServeOptions, SERVE_OPTION_SPECS, serveUsage } from '../../src/frontend/serve-options';
import { parsePerfArgs, PERF_FLAGS, perfUsage, type PerfOptions } from '../../src/perf/perf-options';
import { DEFAULT_ENGINE_PORTS } from '../../src/util/default-ports';
import { FIXTURES, PACKAGE_ROOT } from '../frontend/helpers/serve-process';

const TABLE = {
  workerCount: { flag: 'worker-count', aliases: ['worker_count'], env: 'WORKER_COUNT', kind: 'integer', help: 'workers' },
  verbose: { flag: 'verbose', short: 'v', kind: 'boolean', help: 'say more' },
  model: { flag: 'load-model', kind: 'list', arg: 'NAME', help: 'load NAME' },
  apiKey: { env: 'API_KEY', kind: 'string', help: 'a secret' },
} as const satisfies Record<string, FlagSpec>;

describe('readFlags', () => {
  const read = (args: string[], negatableSwitches = false) => readFlags(TABLE, args, { command: 'demo', negatableSwitches });

  it('gives text, switches and lists by table key, from long, short and other spellings', () => {
    expect(read(['--worker-count', '3', '-v', '--load-model', 'a', '--load-model', 'b']).values).toEqual({ workerCount: '3', verbose: true, model: ['a', 'b'] });
    expect(read(['--worker_count=4']).values).toEqual({ workerCount: '4' });
    expect(read([]).values).toEqual({});
  });

  it('accepts two spellings that agree and refuses two that do not, naming the flag first', () => {
    expect(read(['--worker_count', '2', '--worker-count', '2']).values).toEqual({ workerCount: '2' });
    expect(() => read(['--worker_count', '2', '--worker-count', '3'])).toThrow("--worker-count '3' and --worker_count '2' disagree; give one");
  });

  it('turns switches off with --no- only where the command says so', () => {
    expect(read(['--no-verbose'], true).values).toEqual({ verbose: false });
    expect(() => read(['--verbose', '--no-verbose'], true)).toThrow('--verbose (on) and --no-verbose (off) disagree');
    expect(() => read(['--no-verbose'])).toThrow(InvalidOptionError);
  });

  it('refuses unknown flags, positionals and missing values, pointing at the command\'s help', () => {
    for (const args of [['--workers', '2'], ['extra'], ['--worker-count']]) {
      expect(() => read(args)).toThrow(InvalidOptionError);
      expect(() => read(args)).toThrow('(see scoreline demo --help)');
    }
    // An env-only setting has no flag: secrets in argv show in `ps`.
    expect(() => read(['--api-key', 'x'])).toThrow(/Unknown option '--api-key'/);
  });

  it('answers -h and --help', () => {
    expect(read(['-h']).help).toBe(true);
    expect(read(['--help']).help).toBe(true);
    expect(read([]).help).toBe(false);
  });

  it('refuses a table that declares one name twice', () => {
    const clash = { a: { flag: 'x', kind: 'string', help: '' }, b: { flag: 'y', aliases: ['x'], kind: 'string', help: '' } } as const;
    expect(() => readFlags(clash, [], { command: 'demo' })).toThrow('--x is declared twice');
  });
});

describe('describeFlag and formatFlagHelp', () => {
  it('names a setting by its short form, long form and variable', () => {
    expect(describeFlag(TABLE.workerCount)).toBe('--worker-count (WORKER_COUNT)');
    expect(describeFlag(TABLE.verbose)).toBe('-v/--verbose');
    expect(describeFlag(TABLE.apiKey)).toBe('API_KEY');
  });

  it('lists every flag in table order with its variable, the defaults it is given and its other spellings', () => {
    const lines = formatFlagHelp(TABLE, { defaults: { workerCount: 1, verbose: false } });
    expect(lines[0]).toMatch(/^\s+--worker-count N\s+WORKER_COUNT\s+workers \(default 1\) \(also --worker_count\)$/);
    expect(lines[1]).toMatch(/^\s+-v, --verbose\s+say more$/);
    expect(lines[2]).toMatch(/--load-model NAME\s+load NAME \(repeatable\)$/);
    expect(lines[3]).toMatch(/\(env only\)\s+API_KEY\s+a secret$/);
    expect(lines[4]).toMatch(/-h, --help\s+print this help$/);
  });

  it('fills each spec of a table keyed by flag name with its flag', () => {
    const table = keyedByFlag({ 'batch-size': { short: 'b', kind: 'string', help: 'rows' } });
    expect(table['batch-size'].flag).toBe('batch-size');
    expect(readFlags(table, ['-b', '8'], { command: 'demo' }).values).toEqual({ 'batch-size': '8' });
  });
});

describe('the three commands', () => {
  it('default to the engine ports defined once, and say so in their help', () => {
    const engine = resolveEngineOptions(parseEngineArgs(['--model-repository', 'r']) as never);
    expect([engine.httpPort, engine.grpcPort, engine.metricsPort]).toEqual([DEFAULT_ENGINE_PORTS.http, DEFAULT_ENGINE_PORTS.grpc, DEFAULT_ENGINE_PORTS.metrics]);
    const serve = resolveServeOptions(['--entry-script', path.join(FIXTURES, 'behaviours.ts')], {});
    if (serve.help) throw new Error('expected options');
    expect([serve.options.engineHttpPort, serve.options.engineGrpcPort, serve.options.engineMetricsPort]).toEqual([engine.httpPort, engine.grpcPort, engine.metricsPort]);
    const perf = (args: string[]) => ((parsePerfArgs(['-m', 'm', ...args]) as PerfOptions).target as { url: string }).url;
    expect(perf([])).toBe(`http://localhost:${DEFAULT_ENGINE_PORTS.http}`);
    expect(perf(['-i', 'grpc'])).toBe(`localhost:${DEFAULT_ENGINE_PORTS.grpc}`);

    expect(engineUsage()).toMatch(new RegExp(`--http-port N\\s+.*\\(default ${DEFAULT_ENGINE_PORTS.http}\\)`));
    expect(serveUsage()).toMatch(new RegExp(`--engine-grpc-port N\\s+SCORELINE_ENGINE_GRPC_PORT\\s+.*\\(default ${DEFAULT_ENGINE_PORTS.grpc}\\)`));
    expect(perfUsage()).toContain(`(default localhost:${DEFAULT_ENGINE_PORTS.http}; gRPC: localhost:${DEFAULT_ENGINE_PORTS.grpc})`);
  });

  it("print every flag of their table, with the schema's defaults rather than defaults written in the help", () => {
    const tables: [string, Record<string, FlagSpec>][] = [[engineUsage(), ENGINE_FLAGS], [serveUsage(), SERVE_OPTION_SPECS], [perfUsage(), PERF_FLAGS]];
    for (const [usage, table] of tables) {
      for (const spec of Object.values(table)) {
        if (spec.flag !== undefined) expect(usage).toMatch(new RegExp(`--(\\[no-\\])?${spec.flag}\\b`));
        // A number in a help text would be a second home for a default.
        expect(spec.help).not.toMatch(/\(default \d/);
      }
    }
    expect(engineUsage()).toMatch(/--exit-timeout-secs N\s+drain time on shutdown \(default 30\)/);
    expect(engineUsage()).toMatch(/--backend-config \S+\s+.*\(default onnxruntime,default-max-batch-size=4\)/);
    expect(serveUsage()).toMatch(/--worker-count N\s+WORKER_COUNT\s+.*\(default 1\)/);
    expect(perfUsage()).toMatch(/--batch-size N\s+samples per request \(default 1\)/);
  });

  it.each(['engine', 'serve', 'perf'])('scoreline %s refuses an unknown flag with exit status 2 and one line naming it', (command) => {
    const run = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'scoreline.js'), command, '--no-such-flag'], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status).toBe(EXIT_USAGE);
    expect(run.stderr.trim()).toBe(`scoreline ${command}: Unknown option '--no-such-flag' (see scoreline ${command} --help)`);
  });
});
