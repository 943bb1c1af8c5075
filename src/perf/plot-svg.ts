/**
 * A hand-written SVG line chart (no plotting dependency): latency percentiles against
 * throughput for a sweep, or any set of series the benchmarks want to compare. Axes start
 * at zero and get "nice" ticks (1, 2 or 5 × 10^n); each series is a polyline with a marker
 * per point, drawn in the order given (a sweep in load order, so a curve that bends back
 * past saturation shows it).
 */
import type { PerfReport } from './perf-report';
import { stepValue } from './perf-report';

export interface PlotPoint {
  x: number;
  y: number;
  /** A short label drawn next to the point (e.g. the concurrency). */
  note?: string;
}

export interface PlotSeries {
  label: string;
  points: PlotPoint[];
  dashed?: boolean;
  /** A CSS colour; default: the next of a fixed palette. */
  color?: string;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Tick values from 0 to at least `max`, about `target` of them, at 1/2/5 × 10^n. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const t = Number((i * step).toPrecision(12));
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

/** Tick labels of one axis share a unit: thousands ("5k", "10k") once the axis reaches 10 000. */
function tickFormatter(ticks: readonly number[]): (v: number) => string {
  const thousands = ticks[ticks.length - 1]! >= 10_000;
  return (v) => (v === 0 ? '0' : thousands ? `${Number((v / 1000).toPrecision(4))}k` : String(Number(v.toPrecision(4))));
}

export function lineChartSvg(series: readonly PlotSeries[], options: PlotOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  const margin = { left: 70, right: 170, top: 40, bottom: 55 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const finite = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  // 5% headroom keeps the highest point and its note off the frame.
  const xTicks = niceTicks(1.05 * Math.max(0, ...finite.map((p) => p.x)));
  const yTicks = niceTicks(1.05 * Math.max(0, ...finite.map((p) => p.y)));
  const xMax = xTicks[xTicks.length - 1]!;
  const yMax = yTicks[yTicks.length - 1]!;
  const sx = (x: number) => margin.left + (x / xMax) * plotW;
  const sy = (y: number) => margin.top + plotH - (y / yMax) * plotH;
  const r = (n: number) => n.toFixed(1);
  const xTick = tickFormatter(xTicks);
  const yTick = tickFormatter(yTicks);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${r(margin.left + plotW / 2)}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  ];
  for (const t of xTicks) {
    out.push(`<line x1="${r(sx(t))}" y1="${margin.top}" x2="${r(sx(t))}" y2="${margin.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${r(sx(t))}" y="${margin.top + plotH + 16}" text-anchor="middle">${xTick(t)}</text>`);
  }
  for (const t of yTicks) {
    out.push(`<line x1="${margin.left}" y1="${r(sy(t))}" x2="${margin.left + plotW}" y2="${r(sy(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${margin.left - 6}" y="${r(sy(t) + 4)}" text-anchor="end">${yTick(t)}</text>`);
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333333"/>`,
    `<text x="${r(margin.left + plotW / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(18 ${r(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]!);
    const points = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<g class="series" data-label="${escapeXml(s.label)}">`);
    if (points.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points.map((p) => `${r(sx(p.x))},${r(sy(p.y))}`).join(' ')}"/>`);
    }
    for (const p of points) {
      out.push(`<circle cx="${r(sx(p.x))}" cy="${r(sy(p.y))}" r="3.5" fill="${color}"/>`);
      if (p.note !== undefined) out.push(`<text x="${r(sx(p.x) + 6)}" y="${r(sy(p.y) - 6)}" font-size="10" fill="${color}">${escapeXml(p.note)}</text>`);
    }
    out.push('</g>');
    const ly = margin.top + 10 + i * 20;
    const lx = margin.left + plotW + 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${escapeXml(s.label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The sweep of a report as p50/p90/p95/p99 latency against throughput. */
export function reportSeries(report: PerfReport): PlotSeries[] {
  const percentiles = [
    ['p50', 'p50Ms'],
    ['p90', 'p90Ms'],
    ['p95', 'p95Ms'],
    ['p99', 'p99Ms'],
  ] as const;
  return percentiles.map(([label, key], i) => ({
    label,
    points: report.steps.map((s) => ({ x: s.inferPerSecond, y: s.latency[key], note: i === percentiles.length - 1 ? String(stepValue(s)) : undefined })),
  }));
}

export function reportPlotSvg(report: PerfReport): string {
  const what = report.target.kind === 'engine' ? `model ${report.target.model}` : report.target.url;
  const load = report.mode === 'concurrency' ? 'concurrency' : 'request rate';
  return lineChartSvg(reportSeries(report), {
    title: `${what}: latency vs throughput (points labelled with the ${load})`,
    xLabel: 'throughput (inferences/s)',
    yLabel: 'latency (ms)',
  });
}
