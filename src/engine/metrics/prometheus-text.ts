/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: the engine needs
 * counters, gauges, summaries and histograms rendered at scrape time, which is a few lines,
 * not a library.
 */

/** The types whose samples are one value each. */
export type MetricType = 'counter' | 'gauge';

export interface MetricSample {
  /** Label names in the order they are written (Triton writes them sorted by name). */
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** One series of a summary: quantiles over its window, and the count and sum since it began. */
export interface SummarySample {
  labels: Readonly<Record<string, string>>;
  /** [quantile, value] in the order written; an empty window's values are NaN. */
  quantiles: ReadonlyArray<readonly [quantile: number, value: number]>;
  sum: number;
  count: number;
}

/** One series of a histogram: cumulative counts per upper bound; +Inf (= count) is written from `count`. */
export interface HistogramSample {
  labels: Readonly<Record<string, string>>;
  /** [upper bound, observations <= bound], bounds ascending and finite. */
  buckets: ReadonlyArray<readonly [le: number, cumulativeCount: number]>;
  sum: number;
  count: number;
}

interface FamilyHead {
  name: string;
  help: string;
}

export type ScalarFamily = FamilyHead & { type: MetricType; samples: MetricSample[] };
export type SummaryFamily = FamilyHead & { type: 'summary'; samples: SummarySample[] };
export type HistogramFamily = FamilyHead & { type: 'histogram'; samples: HistogramSample[] };
export type MetricFamily = ScalarFamily | SummaryFamily | HistogramFamily;

export { PROMETHEUS_CONTENT_TYPE } from '../../util/scrape-listener';

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function line(name: string, labels: Readonly<Record<string, string>>, value: number, extra?: readonly [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  // The quantile / le label goes last, as prometheus-cpp (and so Triton) writes it.
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

function sampleLines(f: MetricFamily, out: string[]): void {
  switch (f.type) {
    case 'counter':
    case 'gauge':
      for (const s of f.samples) out.push(line(f.name, s.labels, s.value));
      return;
    case 'summary':
      // Triton's order: _count, _sum, then the quantiles.
      for (const s of f.samples) {
        out.push(line(`${f.name}_count`, s.labels, s.count), line(`${f.name}_sum`, s.labels, s.sum));
        for (const [q, v] of s.quantiles) out.push(line(f.name, s.labels, v, ['quantile', formatValue(q)]));
      }
      return;
    case 'histogram':
      for (const s of f.samples) {
        out.push(line(`${f.name}_count`, s.labels, s.count), line(`${f.name}_sum`, s.labels, s.sum));
        for (const [le, c] of s.buckets) out.push(line(`${f.name}_bucket`, s.labels, c, ['le', formatValue(le)]));
        // Every histogram ends with +Inf, which holds every observation.
        out.push(line(`${f.name}_bucket`, s.labels, s.count, ['le', '+Inf']));
      }
      return;
  }
}

/** Renders families in order; a family without samples is left out (as prometheus-cpp does). */
export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    sampleLines(f, lines);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
