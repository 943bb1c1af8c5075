/**
 * A strict reader of the Prometheus text format for the tests: every sample must follow
 * its family's # HELP and # TYPE lines, names and label syntax must be valid, and a
 * series may appear once. It throws on anything else, so a test that parses the engine's
 * output also checks that the output is well formed.
 */

export interface ParsedSample {
  /** The sample's own name: the family's, or for a summary / histogram with _sum, _count or _bucket. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The sample names a family of `type` may hold besides its own name. */
const SUFFIXES: Record<string, readonly string[]> = { summary: ['_sum', '_count'], histogram: ['_sum', '_count', '_bucket'] };

export interface ParsedFamily {
  help: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`bad labels in line: ${line}`);
    if (m[1]! in labels) throw new Error(`label '${m[1]}' repeated in line: ${line}`);
    labels[m[1]!] = unescape(m[2]!);
    at = re.lastIndex;
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in line: ${line}`);
  return Number(text);
}

export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  let current: { name: string; family: Partial<ParsedFamily> & { samples: ParsedSample[] } } | undefined;
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name: ${line}`);
      if (current?.name !== name) {
        if (families.has(name)) throw new Error(`family '${name}' declared twice`);
        current = { name, family: { samples: [] } };
        families.set(name, current.family as ParsedFamily);
      }
      if (kind === 'HELP') current.family.help = unescape(rest);
      else current.family.type = rest;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const ownName = current !== undefined && (current.name === name || (SUFFIXES[current.family.type ?? ''] ?? []).some((x) => `${current!.name}${x}` === name));
    if (!current || !ownName) throw new Error(`sample outside its family: ${line}`);
    if (current.family.help === undefined || current.family.type === undefined) throw new Error(`family '${current.name}' lacks HELP or TYPE`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series repeated: ${line}`);
    seen.add(key);
    current.family.samples.push({ name, labels, value: parseValue(valueText, line) });
  }
  return families;
}

/** The value of the one series of `family` whose labels include `labels`; throws unless exactly one matches. */
export function valueOf(families: Map<string, ParsedFamily>, family: string, labels: Record<string, string> = {}): number {
  const f = families.get(family);
  if (!f) throw new Error(`no family '${family}'`);
  const hits = f.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} series of '${family}' match ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}

/** The value of the one sample named `sample` (e.g. x_count, x_bucket) of `family` whose labels include `labels`. */
export function sampleValue(families: Map<string, ParsedFamily>, family: string, sample: string, labels: Record<string, string> = {}): number {
  const f = families.get(family);
  if (!f) throw new Error(`no family '${family}'`);
  const hits = f.samples.filter((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples '${sample}' of '${family}' match ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}

/** Scrapes `metricsUrl`: the first series of `family` whose labels include `labels`, 0 when there is none. */
export async function scrapedValue(metricsUrl: string, family: string, labels: Record<string, string> = {}): Promise<number> {
  const f = parsePrometheus(await (await fetch(metricsUrl)).text()).get(family);
  const hit = f?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit?.value ?? 0;
}
