/**
 * `scoreline perf` options: perf_analyzer's flag names where it has one, validated once
 * into PerfOptions. Defaults live in the schema below and nowhere else; messages name the
 * flag.
 */
import { z } from 'zod';
import { describeFlag, formatFlagHelp, keyedByFlag, readFlags } from '../cli/flag-table';
import { InvalidOptionError } from '../errors';
import { DEFAULT_ENGINE_PORTS } from '../util/default-ports';
import type { RequestDistribution } from './arrival-schedule';
import { parseRange } from './load-range';

export type InputDataMode = 'zero' | 'random' | { file: string };
export type TensorFormat = 'binary' | 'json';

export interface EngineTarget {
  kind: 'engine';
  /** HTTP: http://host:port[/base-path], no trailing slash; gRPC: host:port. */
  url: string;
  model: string;
  /** '' lets the server pick. */
  modelVersion: string;
  protocol: 'http' | 'grpc';
  inputData: InputDataMode;
  /** Non-batch dims for inputs with variable dims (--shape NAME:D1,D2). */
  shapes: Record<string, number[]>;
  inputTensorFormat: TensorFormat;
  outputTensorFormat: TensorFormat;
}

export interface ScoreTarget {
  kind: 'score';
  /** The scoring endpoint, e.g. http://localhost:5001/score. */
  url: string;
  /** File whose bytes are POSTed as the body of every request. */
  bodyFile: string;
  contentType: string;
}

export type LoadPlan =
  | { mode: 'concurrency'; steps: number[] }
  | { mode: 'rate'; steps: number[]; distribution: RequestDistribution };

export interface PerfOptions {
  target: EngineTarget | ScoreTarget;
  /** Extra headers on every request (-H 'Name: value'). */
  headers: Record<string, string>;
  batchSize: number;
  load: LoadPlan;
  warmupMs: number;
  measurementIntervalMs: number;
  stabilityPercentage: number;
  maxTrials: number;
  /** Stabilize on this latency percentile instead of the average. */
  percentile: number | undefined;
  /** Generator threads, or 'auto': one, more when one saturates (up to half the cores). */
  threads: number | 'auto';
  maxConnections: number;
  timeoutMs: number;
  seed: number;
  csvFile: string | undefined;
  json: boolean;
  plotFile: string | undefined;
  verbose: boolean;
}

const DEFAULT_HTTP_URL = `localhost:${DEFAULT_ENGINE_PORTS.http}`;
const DEFAULT_GRPC_URL = `localhost:${DEFAULT_ENGINE_PORTS.grpc}`;

/** Every flag (src/cli/flag-table.ts), in the order --help lists them; defaults are the schema's below. */
export const PERF_FLAGS = keyedByFlag({
  url: { short: 'u', kind: 'string', arg: 'URL', help: `engine address: host:port or http://host:port[/base] (default ${DEFAULT_HTTP_URL}; gRPC: ${DEFAULT_GRPC_URL})` },
  'model-name': { short: 'm', kind: 'string', arg: 'NAME', help: 'model to load (required for an engine)' },
  'model-version': { short: 'x', kind: 'string', arg: 'V', help: 'model version (default: the server picks)' },
  protocol: { short: 'i', kind: 'string', arg: 'http|grpc', help: 'engine protocol' },
  'score-url': { kind: 'string', arg: 'URL', help: 'load a scoring endpoint instead, e.g. http://localhost:5001/score' },
  body: { kind: 'string', arg: 'FILE', help: 'with --score-url: the request body to POST' },
  'content-type': { kind: 'string', arg: 'TYPE', help: 'with --score-url: content-type of the body' },
  header: { short: 'H', kind: 'list', arg: "'Name: value'", help: 'extra request header' },
  'batch-size': { short: 'b', kind: 'string', arg: 'N', help: 'samples per request' },
  'concurrency-range': { kind: 'string', arg: 'start:end:step', help: 'closed loop: requests in flight per step' },
  'request-rate-range': { kind: 'string', arg: 'start:end:step', help: 'open loop: requests per second per step' },
  'request-distribution': { kind: 'string', arg: 'constant|poisson', help: 'open-loop arrivals' },
  'warmup-interval': { kind: 'string', arg: 'MS', help: 'load before each step is measured' },
  'measurement-interval': { short: 'p', kind: 'string', arg: 'MS', help: 'measurement window' },
  'stability-percentage': { short: 's', kind: 'string', arg: 'PCT', help: 'max/min of the last 3 windows must be within this' },
  'max-trials': { short: 'r', kind: 'string', arg: 'N', help: 'windows per step before giving up on stability' },
  percentile: { kind: 'string', arg: 'N', help: 'stabilize on this latency percentile instead of the average' },
  'input-data': { kind: 'string', arg: 'zero|random|FILE', help: 'input tensors: zeros, random or a perf_analyzer JSON data file' },
  shape: { kind: 'list', arg: 'NAME:D1,D2', help: 'non-batch dims of an input with variable dims' },
  'input-tensor-format': { kind: 'string', arg: 'binary|json', help: 'HTTP: how inputs travel' },
  'output-tensor-format': { kind: 'string', arg: 'binary|json', help: 'HTTP: how outputs come back' },
  threads: { kind: 'string', arg: 'N|auto', help: "load generator threads ('auto': more when one saturates)" },
  'max-connections': { kind: 'string', arg: 'N', help: 'open loop: connections in the pool' },
  timeout: { kind: 'string', arg: 'MS', help: 'per-request timeout' },
  seed: { kind: 'string', arg: 'N', help: 'seed of random data and Poisson arrivals' },
  'latency-report-file': { short: 'f', kind: 'string', arg: 'FILE', help: 'write the results as CSV (perf_analyzer columns, then more)' },
  json: { kind: 'boolean', help: 'print the results as JSON on stdout instead of the table' },
  plot: { kind: 'string', arg: 'FILE', help: 'write an SVG of latency percentiles against throughput' },
  verbose: { short: 'v', kind: 'boolean', help: 'print every measurement window' },
  help: { short: 'h', kind: 'boolean', help: 'print this help' },
} as const);

type Flag = keyof typeof PERF_FLAGS;

const numberText = (flag: Flag, check: z.ZodNumber) =>
  z
    .string()
    .transform((text, ctx) => {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) {
        ctx.addIssue({ code: 'custom', message: `must be a number, got '${text}'`, path: [flag] });
        return z.NEVER;
      }
      return n;
    })
    .pipe(check);

const int = z.number().int('must be an integer');

/** The flags as parseArgs gives them, checked and converted; defaults here only. */
const flagsSchema = z.object({
  url: z.string().min(1).optional(),
  'model-name': z.string().min(1).optional(),
  'model-version': z.string().default(''),
  protocol: z.enum(['http', 'grpc']).default('http'),
  'score-url': z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  body: z.string().min(1).optional(),
  'content-type': z.string().min(1).default('application/json'),
  header: z.array(z.string()).default([]),
  'batch-size': numberText('batch-size', int.min(1)).default(1),
  'concurrency-range': z.string().default('1'),
  'request-rate-range': z.string().optional(),
  'request-distribution': z.enum(['constant', 'poisson']).default('constant'),
  'warmup-interval': numberText('warmup-interval', z.number().min(0)).default(1000),
  'measurement-interval': numberText('measurement-interval', z.number().min(10, 'must be at least 10 ms')).default(5000),
  'stability-percentage': numberText('stability-percentage', z.number().positive()).default(10),
  'max-trials': numberText('max-trials', int.min(1)).default(10),
  percentile: numberText('percentile', int.min(1).max(99)).optional(),
  'input-data': z.string().min(1).default('random'),
  shape: z.array(z.string()).default([]),
  'input-tensor-format': z.enum(['binary', 'json']).default('binary'),
  'output-tensor-format': z.enum(['binary', 'json']).default('binary'),
  threads: z
    .string()
    .default('auto')
    .transform((t, ctx) => {
      if (t === 'auto') return 'auto' as const;
      const n = Number(t);
      if (!Number.isInteger(n) || n < 1 || n > 256) {
        ctx.addIssue({ code: 'custom', message: `must be 'auto' or an integer from 1 to 256, got '${t}'` });
        return z.NEVER;
      }
      return n;
    }),
  'max-connections': numberText('max-connections', int.min(1).max(65536)).default(256),
  timeout: numberText('timeout', z.number().positive()).default(60_000),
  seed: numberText('seed', int.min(0)).default(1),
  'latency-report-file': z.string().min(1).optional(),
  json: z.boolean().default(false),
  plot: z.string().min(1).optional(),
  verbose: z.boolean().default(false),
  help: z.boolean().default(false),
});

/** `-b/--batch-size`: how messages name a flag. */
function describe(flag: string): string {
  return describeFlag(PERF_FLAGS[flag as Flag]);
}

/** `NAME:D1,D2` → [NAME, [D1, D2]]; the name may itself hold colons (the last one splits). */
export function parseShape(text: string): [string, number[]] {
  const at = text.lastIndexOf(':');
  const name = text.slice(0, at);
  const dims = text.slice(at + 1).split(',');
  if (at <= 0 || dims.some((d) => !/^\d+$/.test(d.trim()) || Number(d) < 1)) {
    throw new InvalidOptionError(`--shape must be NAME:D1,D2,... with positive integer dims, got '${text}'`);
  }
  return [name, dims.map(Number)];
}

function parseHeader(text: string): [string, string] {
  const at = text.indexOf(':');
  const name = text.slice(0, at).trim();
  if (at <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw new InvalidOptionError(`-H/--header must be 'Name: value', got '${text}'`);
  }
  return [name.toLowerCase(), text.slice(at + 1).trim()];
}

/** gRPC's address: host:port (a scheme and path are not part of it). */
export function normalizeGrpcAddress(url: string): string {
  const m = /^(?:grpc:\/\/)?([^/:?#\s]+|\[[0-9a-fA-F:.]+\]):(\d{1,5})$/.exec(url);
  if (m === null) throw new InvalidOptionError(`-u/--url with -i grpc must be host:port, got '${url}'`);
  return `${m[1]}:${m[2]}`;
}

/** host:port[/base] or http(s)://host:port[/base] → http(s)://host:port[/base]. */
export function normalizeEngineUrl(url: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new InvalidOptionError(`-u/--url must be host:port or http://host:port, got '${url}'`);
  }
  if (!/^https?:$/.test(parsed.protocol) || parsed.search || parsed.hash || parsed.username) {
    throw new InvalidOptionError(`-u/--url must be host:port or http(s)://host:port[/base-path], got '${url}'`);
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

export function perfUsage(): string {
  const lines = [
    'Usage: scoreline perf -m MODEL [-u HOST:PORT] [options]      load the engine',
    '       scoreline perf --score-url URL --body FILE [options]   load a scoring endpoint',
    '',
    'Each step of the sweep is warmed up, then measured in windows until the last three agree',
    '(throughput and latency within --stability-percentage), as perf_analyzer does.',
    '',
  ];
  lines.push(...formatFlagHelp(PERF_FLAGS, { defaults: flagsSchema.parse({}) }));
  return `${lines.join('\n')}\n`;
}

/** Parses `scoreline perf` arguments; throws InvalidOptionError naming the flag. */
export function parsePerfArgs(args: readonly string[]): PerfOptions | 'help' {
  const { values } = readFlags(PERF_FLAGS, args, { command: 'perf' });
  const parsed = flagsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = String(issue.path[0]);
    const got = /\bgot\b/.test(issue.message) ? '' : ` (got ${JSON.stringify(values[flag as Flag])})`;
    throw new InvalidOptionError(`${describe(flag)}: ${issue.message}${got}`);
  }
  const v = parsed.data;
  if (v.help) return 'help';

  const onlyFor = (flags: Flag[], what: string): void => {
    const given = flags.filter((f) => values[f] !== undefined);
    if (given.length > 0) throw new InvalidOptionError(`${describe(given[0]!)} applies only ${what}`);
  };
  let target: EngineTarget | ScoreTarget;
  if (v['score-url'] !== undefined) {
    onlyFor(['model-name', 'model-version', 'url', 'protocol', 'input-data', 'shape', 'input-tensor-format', 'output-tensor-format'], 'to an engine target, not with --score-url');
    if (v['batch-size'] !== 1) throw new InvalidOptionError('-b/--batch-size applies only to an engine target; a --score-url body is sent as it is');
    if (v.body === undefined) throw new InvalidOptionError('--score-url needs --body FILE (the request body to send)');
    target = { kind: 'score', url: v['score-url'], bodyFile: v.body, contentType: v['content-type'] };
  } else {
    onlyFor(['body', 'content-type'], 'with --score-url');
    if (v['model-name'] === undefined) throw new InvalidOptionError('-m/--model-name is required (or load a scoring endpoint with --score-url)');
    const inputData = v['input-data'];
    if (v.protocol === 'grpc') {
      for (const flag of ['input-tensor-format', 'output-tensor-format'] as const) {
        if (v[flag] !== 'binary') throw new InvalidOptionError(`--${flag} ${v[flag]} applies to HTTP only: gRPC carries tensors as raw contents`);
      }
    }
    target = {
      kind: 'engine',
      url: v.protocol === 'grpc' ? normalizeGrpcAddress(v.url ?? DEFAULT_GRPC_URL) : normalizeEngineUrl(v.url ?? DEFAULT_HTTP_URL),
      model: v['model-name'],
      modelVersion: v['model-version'],
      protocol: v.protocol,
      inputData: inputData === 'zero' || inputData === 'random' ? inputData : { file: inputData },
      shapes: Object.fromEntries(v.shape.map(parseShape)),
      inputTensorFormat: v['input-tensor-format'],
      outputTensorFormat: v['output-tensor-format'],
    };
  }

  if (values['concurrency-range'] !== undefined && v['request-rate-range'] !== undefined) {
    throw new InvalidOptionError('--concurrency-range and --request-rate-range exclude each other: a step is either a closed or an open loop');
  }
  if (v['request-rate-range'] === undefined && values['request-distribution'] !== undefined) {
    throw new InvalidOptionError('--request-distribution applies only with --request-rate-range');
  }
  const load: LoadPlan =
    v['request-rate-range'] !== undefined
      ? { mode: 'rate', steps: parseRange(v['request-rate-range'], '--request-rate-range', { integer: false }), distribution: v['request-distribution'] }
      : { mode: 'concurrency', steps: parseRange(v['concurrency-range'], '--concurrency-range', { integer: true }) };

  return {
    target,
    headers: Object.fromEntries(v.header.map(parseHeader)),
    batchSize: v['batch-size'],
    load,
    warmupMs: v['warmup-interval'],
    measurementIntervalMs: v['measurement-interval'],
    stabilityPercentage: v['stability-percentage'],
    maxTrials: v['max-trials'],
    percentile: v.percentile,
    threads: v.threads,
    maxConnections: v['max-connections'],
    timeoutMs: v.timeout,
    seed: v.seed,
    csvFile: v['latency-report-file'],
    json: v.json,
    plotFile: v.plot,
    verbose: v.verbose,
  };
}
