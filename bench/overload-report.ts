/**
 * The overload benchmark's report: a markdown table of goodput and p99 against offered load
 * (ratios to capacity, the figures that hold on a shared machine), the per-step details that
 * show where the lost requests went and that the generator kept up, and an SVG plot.
 */
import { escapeXml, lineChartSvg, type PlotSeries } from '../src/perf/plot-svg';
import type { ContenderKey } from './overload-contenders';
import { lossText, type OpenLoopStep } from './overload-open-loop';

export interface Capacity {
  key: ContenderKey;
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errorCount: number;
  clientCpuUsPerRequest: number;
  /** req/s of every round, in the order measured. */
  rounds: number[];
}

export interface SweepPoint {
  key: ContenderKey;
  /** Offered load as a multiple of the contender's base capacity. */
  multiple: number;
  step: OpenLoopStep;
  /** How long the deployment took to answer promptly again after the step; Infinity: not within the limit. */
  recoveredMs: number;
}

export interface OverloadResult {
  machine: string;
  date: string;
  quick: boolean;
  /** Lines describing the setup, printed above the tables. */
  setup: string[];
  contenders: { key: ContenderKey; name: string }[];
  capacities: Capacity[];
  /** The capacity each contender's multiples are of (req/s). */
  bases: Record<ContenderKey, number>;
  /** How the bases were chosen, in words. */
  basesText: string;
  multiples: number[];
  points: SweepPoint[];
  deadlineMs: number;
  capacityConcurrency: number;
  runSeconds: number;
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');

export const offeredPerSecond = (s: OpenLoopStep) => s.due / s.seconds;
export const goodputPerSecond = (s: OpenLoopStep) => s.inTime / s.seconds;
/** The generator's CPU as a percentage of one core over the measured window. */
export const generatorCorePercent = (s: OpenLoopStep) => s.cpuUs / (s.seconds * 1e4);
/** The generator's CPU per request it started in the window, µs. */
export const generatorUsPerRequest = (s: OpenLoopStep) => s.cpuUs / Math.max(1, s.due - s.notStarted);

/**
 * A step in which the generator started requests this late (p99, as a share of the deadline)
 * measured the generator as much as the server: its callers lost that time before sending.
 */
const LAG_LIMIT_OF_DEADLINE = 0.05;

export function generatorBehind(s: OpenLoopStep, deadlineMs: number): boolean {
  return s.startLagP99Ms > LAG_LIMIT_OF_DEADLINE * deadlineMs;
}

const mark = (r: OverloadResult, s: OpenLoopStep) => (generatorBehind(s, r.deadlineMs) ? ' †' : '');

function point(r: OverloadResult, key: ContenderKey, multiple: number): SweepPoint | undefined {
  return r.points.find((p) => p.key === key && p.multiple === multiple);
}

export function recoveredText(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(1) : 'not within the limit';
}

function headlineTable(r: OverloadResult): string[] {
  const heads = r.contenders.map((c) => `${c.name}: goodput req/s | × capacity | p99 ms`);
  const lines = [`| offered × capacity | ${heads.join(' | ')} |`, `|---:|${r.contenders.map(() => '---:|---:|---:|').join('')}`];
  for (const m of r.multiples) {
    const cells = r.contenders.map((c) => {
      const p = point(r, c.key, m);
      return p === undefined ? ' | | ' : `${f0(goodputPerSecond(p.step))}${mark(r, p.step)} | ${f2(goodputPerSecond(p.step) / r.bases[c.key])} | ${f0(p.step.p99Ms)}`;
    });
    lines.push(`| ${m} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function detailTable(r: OverloadResult): string[] {
  const lines = [
    '| contender | × capacity | offered req/s | goodput req/s | × capacity | p50 ms | p99 ms | lost (of the requests due) | peak outstanding / connections | generator µs/request | generator % of a core | start lag p99 / max ms | recovered after s |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const c of r.contenders) {
    for (const m of r.multiples) {
      const p = point(r, c.key, m);
      if (p === undefined) continue;
      const s = p.step;
      lines.push(
        `| ${c.name} | ${m} | ${f0(offeredPerSecond(s))} | ${f0(goodputPerSecond(s))}${mark(r, s)} | ${f2(goodputPerSecond(s) / r.bases[c.key])} | ${f1(s.p50Ms)} | ${f1(s.p99Ms)} | ` +
          `${lossText(s)} (of ${s.due}) | ${s.peakOutstanding} / ${s.peakConnections} | ${f0(generatorUsPerRequest(s))} | ${f1(generatorCorePercent(s))} | ${f1(s.startLagP99Ms)} / ${f1(s.startLagMaxMs)} | ${recoveredText(p.recoveredMs)} |`,
      );
    }
  }
  return lines;
}

export function overloadMarkdown(r: OverloadResult): string {
  const steps = r.points.map((p) => p.step);
  const maxCore = Math.max(...steps.map(generatorCorePercent));
  const perRequest = steps.map(generatorUsPerRequest).sort((a, b) => a - b);
  const maxLag = Math.max(...steps.map((s) => s.startLagMaxMs).filter(Number.isFinite));
  return [
    `# Overload: goodput against offered load${r.quick ? ' (quick run)' : ''}`,
    '',
    `${r.machine}; ${r.date}; the run took ${f0(r.runSeconds)} s.`,
    '',
    ...r.setup,
    '',
    `Capacity: closed-loop throughput at concurrency ${r.capacityConcurrency}, from the lean raw-socket generator (bench/lean-http-load.ts); ` +
      `the median of ${r.capacities[0]?.rounds.length ?? 0} rounds in rotating order (its latencies belong to it):`,
    '',
    '| contender | req/s | rounds req/s | p50 ms | p99 ms | errors | generator µs/request |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...r.capacities.map((c) => `| ${c.name} | ${f0(c.requestsPerSecond)} | ${c.rounds.map(f0).join(', ')} | ${f1(c.p50Ms)} | ${f1(c.p99Ms)} | ${c.errorCount} | ${f0(c.clientCpuUsPerRequest)} |`),
    '',
    r.basesText,
    '',
    `Goodput: answers with status 200 complete within the caller's ${r.deadlineMs} ms deadline, per second; × capacity: goodput ÷ the capacity the offered load is a multiple of; p99: of those answers, from scheduled start to last byte.`,
    '',
    ...headlineTable(r),
    '',
    ...(steps.some((s) => generatorBehind(s, r.deadlineMs))
      ? [
          `† The generator fell behind its schedule in the steps so marked (start lag p99 over ${f0(LAG_LIMIT_OF_DEADLINE * r.deadlineMs)} ms, ${100 * LAG_LIMIT_OF_DEADLINE} % of the deadline; ` +
            'the per-step table has the figures): its callers lost that time before their requests went out, so those steps measure the generator as well as the server.',
          '',
        ]
      : []),
    'Per step (lost: the caller gave up at its deadline, answers other than 200, connections that failed, requests not started because the outstanding cap was reached; recovered after: until the deployment answered two probes in a row within 100 ms):',
    '',
    ...detailTable(r),
    '',
    `The generator (its own process) used at most ${f1(maxCore)} % of one core in a step, ${f0(perRequest[0]!)}–${f0(perRequest[perRequest.length - 1]!)} µs of CPU per request started; ` +
      `requests started at most ${f1(maxLag)} ms after their scheduled time.`,
    '',
  ].join('\n');
}

const COLORS: Record<ContenderKey, string> = { on: '#1f77b4', off: '#ff7f0e', naive: '#d62728' };
/** The legend has room for about 20 characters. */
const LEGEND: Record<ContenderKey, string> = { on: 'protection on', off: 'protection off', naive: 'naive deployment' };

/** Two charts, one above the other: goodput against offered load, and the p99 of the in-time answers. */
export function overloadSvg(r: OverloadResult): string {
  const width = 760;
  const height = 440;
  const series = (value: (s: OpenLoopStep) => number): PlotSeries[] =>
    r.contenders.map((c) => ({
      label: LEGEND[c.key],
      color: COLORS[c.key],
      // Below capacity the three curves lie on one another: labels there would only overprint.
      points: r.points
        .filter((p) => p.key === c.key)
        .map((p) => ({ x: offeredPerSecond(p.step), y: value(p.step), note: c.key === 'off' || p.multiple < 1 ? undefined : `${p.multiple}×` })),
    }));
  const maxOffered = Math.max(...r.points.map((p) => offeredPerSecond(p.step)));
  const reference = (label: string, y0: number, y1: number): PlotSeries => ({ label, color: '#7f7f7f', dashed: true, points: [{ x: 0, y: y0 }, { x: maxOffered, y: y1 }] });
  const goodput = lineChartSvg([...series(goodputPerSecond), reference('goodput = offered', 0, maxOffered)], {
    title: `Goodput (200 within ${r.deadlineMs} ms): scoreline, overload protection on / off; naive`,
    xLabel: 'offered load (requests/s, open loop)',
    yLabel: 'goodput (requests/s)',
    width,
    height,
  });
  const p99 = lineChartSvg([...series((s) => s.p99Ms), reference('caller deadline', r.deadlineMs, r.deadlineMs)], {
    title: 'p99 latency of the answers in time (points: offered × capacity)',
    xLabel: 'offered load (requests/s, open loop)',
    yLabel: 'p99 latency (ms)',
    width,
    height,
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${2 * height}" viewBox="0 0 ${width} ${2 * height}">`,
    `<title>${escapeXml(`Overload: goodput and p99 against offered load${r.quick ? ' (quick run)' : ''}`)}</title>`,
    `<g>${goodput}</g>`,
    `<g transform="translate(0 ${height})">${p99}</g>`,
    '</svg>',
    '',
  ].join('\n');
}
