/**
 * The one command-line pattern of `scoreline serve`, `engine` and `perf`: each command declares
 * its flags once in a table (name, short form, other spellings, environment variable, kind,
 * help), reads its arguments through `readFlags`, and prints `formatFlagHelp`'s help, whose
 * defaults come from the command's own options schema, the one place they are defined.
 *
 * Reading only turns argv into text, switches and lists per table key; converting and checking
 * values is the command's schema's job (zod), so every message can name the flag as
 * `describeFlag` does. This file is its own wing (docs/architecture.md): the front end and perf
 * declare their tables beside their schemas and may import it, though they may not import the
 * rest of `cli`.
 */
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors';

/** The exit status of every command for options it refuses (after one line naming what is wrong). */
export const EXIT_USAGE = 2;

/** `list`: a repeatable string flag. `integer`/`number` travel as text to the command's schema. */
export type FlagKind = 'string' | 'integer' | 'number' | 'boolean' | 'list';

export interface FlagSpec {
  /** The long name, without `--`; absent for a setting read only from the environment. */
  flag?: string;
  /** One letter, without `-`. */
  short?: string;
  /** Other spellings of the flag, accepted as well (azmlinfsrv's `--entry_script`). */
  aliases?: readonly string[];
  /** The environment variable the command reads when the flag is absent (serve). */
  env?: string;
  kind: FlagKind;
  /** What help shows after the flag: `N`, `DIR`, `start:end:step`. */
  arg?: string;
  help: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

export interface FlagReadingOptions {
  /** `scoreline serve`: messages point at its --help. */
  command: string;
  /**
   * Switches also take a `--no-` form that turns them off (serve's, whose defaults are
   * often on and which the environment can set either way).
   */
  negatableSwitches?: boolean;
}

export type FlagValue = string | boolean | string[];

export interface FlagReading<K extends string> {
  help: boolean;
  /** The flags given, by table key: text, a switch's state, or a list's entries in order. */
  values: Partial<Record<K, FlagValue>>;
}

const HELP_FLAG = 'help';

/** Parses argv by the table; throws InvalidOptionError for unknown flags, missing values, disagreeing spellings. */
export function readFlags<K extends string>(table: Readonly<Record<K, FlagSpec>>, args: readonly string[], reading: FlagReadingOptions): FlagReading<K> {
  type ParseArgsOption = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
  const options: Record<string, ParseArgsOption> = {};
  const keyOfName = new Map<string, { key: K; negated: boolean; alias: boolean }>();
  const declare = (name: string, option: ParseArgsOption, key: K, negated: boolean, alias: boolean): void => {
    if (options[name] !== undefined) throw new Error(`flag table: --${name} is declared twice`);
    options[name] = option;
    keyOfName.set(name, { key, negated, alias });
  };
  for (const [key, spec] of entries(table)) {
    if (spec.flag === undefined) continue;
    const type = spec.kind === 'boolean' ? 'boolean' : 'string';
    declare(spec.flag, { type, ...(spec.short ? { short: spec.short } : {}), ...(spec.kind === 'list' ? { multiple: true } : {}) }, key, false, false);
    // Node 20's parseArgs has no allowNegative: the --no- form of each switch is its own flag.
    if (spec.kind === 'boolean' && reading.negatableSwitches) declare(`no-${spec.flag}`, { type: 'boolean' }, key, true, false);
    for (const alias of spec.aliases ?? []) declare(alias, { type, ...(spec.kind === 'list' ? { multiple: true } : {}) }, key, false, true);
  }
  if (options[HELP_FLAG] === undefined) options[HELP_FLAG] = { type: 'boolean', short: 'h' };

  let parsed: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new InvalidOptionError(`${(err as Error).message} (see scoreline ${reading.command} --help)`, { cause: err });
  }

  const values: Partial<Record<K, FlagValue>> = {};
  const spelledAs: Partial<Record<K, string>> = {};
  // The flag's own spelling first, so a message about two spellings names it first.
  const given = Object.entries(parsed).sort(([a], [b]) => rank(a) - rank(b));
  function rank(name: string): number {
    const target = keyOfName.get(name);
    return target === undefined || (!target.alias && !target.negated) ? 0 : 1;
  }
  for (const [name, value] of given) {
    const target = keyOfName.get(name);
    if (target === undefined || value === undefined) continue;
    const own = typeof value === 'boolean' && target.negated ? !value : (value as FlagValue);
    const before = values[target.key];
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(own)) {
      // Two spellings of one flag (--worker-count and --worker_count, --x and --no-x) must agree.
      throw new InvalidOptionError(`--${spelledAs[target.key]} ${show(before)} and --${name} ${show(own)} disagree; give one`);
    }
    values[target.key] = own;
    spelledAs[target.key] ??= name;
  }
  return { help: parsed[HELP_FLAG] === true, values };
}

/** How messages name a setting: `-u/--url`, `--port (SCORELINE_PORT)`, `SCORELINE_API_KEY`. */
export function describeFlag(spec: FlagSpec): string {
  if (spec.flag === undefined) return spec.env ?? '(unnamed setting)';
  const flag = spec.short ? `-${spec.short}/--${spec.flag}` : `--${spec.flag}`;
  return spec.env === undefined ? flag : `${flag} (${spec.env})`;
}

export interface FlagHelpOptions<K extends string> {
  /** Shown as `(default X)` after a flag's help: the command's schema defaults, by table key. */
  defaults?: Partial<Record<K, unknown>>;
  negatableSwitches?: boolean;
}

/** The table as help lines, in table order, `--help` last. */
export function formatFlagHelp<K extends string>(table: Readonly<Record<K, FlagSpec>>, help: FlagHelpOptions<K> = {}): string[] {
  const rows = entries(table).map(([key, spec]) => ({ name: flagColumn(spec, help.negatableSwitches === true), env: spec.env ?? '', text: helpText(spec, help.defaults?.[key]) }));
  if (!entries(table).some(([, spec]) => spec.flag === HELP_FLAG)) rows.push({ name: '-h, --help', env: '', text: 'print this help' });
  const nameWidth = Math.max(...rows.map((row) => row.name.length));
  const envWidth = Math.max(0, ...rows.map((row) => row.env.length));
  return rows.map((row) => `  ${row.name.padEnd(nameWidth)}  ${envWidth > 0 ? `${row.env.padEnd(envWidth)}  ` : ''}${row.text}`.trimEnd());
}

function flagColumn(spec: FlagSpec, negatable: boolean): string {
  if (spec.flag === undefined) return '(env only)';
  const short = spec.short ? `-${spec.short}, ` : '    ';
  const name = spec.kind === 'boolean' && negatable ? `--[no-]${spec.flag}` : `--${spec.flag}`;
  const arg = spec.kind === 'boolean' ? '' : ` ${spec.arg ?? (spec.kind === 'integer' || spec.kind === 'number' ? 'N' : 'VALUE')}`;
  return `${short}${name}${arg}`;
}

function helpText(spec: FlagSpec, defaultValue: unknown): string {
  const parts = [spec.help];
  if (spec.kind === 'list') parts.push('(repeatable)');
  const shown = defaultText(defaultValue);
  if (shown !== undefined) parts.push(`(default ${shown})`);
  if (spec.aliases?.length) parts.push(`(also ${spec.aliases.map((alias) => `--${alias}`).join(', ')})`);
  return parts.join(' ');
}

/** Defaults worth printing: numbers, words, switches that are on; not empty lists or objects. */
function defaultText(value: unknown): string | undefined {
  // A switch that is off unless given goes without saying.
  if (typeof value === 'boolean') return value ? 'on' : undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) return value.join(', ');
  return undefined;
}

function show(value: FlagValue): string {
  return typeof value === 'boolean' ? `(${value ? 'on' : 'off'})` : `'${String(value)}'`;
}

function entries<K extends string>(table: Readonly<Record<K, FlagSpec>>): [K, FlagSpec][] {
  return Object.entries(table) as [K, FlagSpec][];
}

/** A table keyed by flag name (perf's, as perf_analyzer's names are): each spec's `flag` is its key. */
export function keyedByFlag<T extends Record<string, Omit<FlagSpec, 'flag'>>>(table: T): { readonly [K in keyof T & string]: T[K] & { flag: K } } {
  return Object.fromEntries(Object.entries(table).map(([flag, spec]) => [flag, { ...spec, flag }])) as { [K in keyof T & string]: T[K] & { flag: K } };
}
