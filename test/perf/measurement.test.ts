/**
 * The measurement rules on their own, without a server: percentiles, perf_analyzer's
 * stability rule, arrival schedules, how load is split across threads, how windows merge
 * into a step, and the CSV, table and SVG made from a report.
 */
import { arrivalSchedule } from '../../src/perf/arrival-schedule';
import { percentileOfSorted, summarizeLatencies } from '../../src/perf/latency-summary';
import { splitLoad } from '../../src/perf/load-threads';
import type { PerfReport, StepResult } from '../../src/perf/perf-report';
import { escapeXml, lineChartSvg, niceTicks, reportPlotSvg } from '../../src/perf/plot-svg';
import { summarizeStep } from '../../src/perf/profiler';
import { CSV_COLUMNS, toCsv } from '../../src/perf/report-csv';
import { formatTable } from '../../src/perf/report-table';
import { seededRandom } from '../../src/util/seeded-random';
import { serverSplit, statsSnapshot } from '../../src/perf/server-stats';
import { isStable } from '../../src/perf/stability';
import { WindowRecord, emptyRecord, mergeRecords } from '../../src/perf/window-record';

describe('latency percentiles', () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted

  it('uses nearest rank: p50 of 1..100 is 50, p99 is 99', () => {
    expect(summarizeLatencies(hundred)).toEqual({ count: 100, avgMs: 50.5, minMs: 1, maxMs: 100, p50Ms: 50, p90Ms: 90, p95Ms: 95, p99Ms: 99 });
  });

  it.each([
    [[7], 99, 7],
    [[1, 2], 50, 1],
    [[1, 2], 51, 2],
    [[], 50, NaN],
  ])('percentile of %j at p%d is %d', (values, p, expected) => {
    expect(percentileOfSorted(values, p)).toBe(expected);
  });

  it('leaves the caller’s array as it was', () => {
    summarizeLatencies(hundred);
    expect(hundred[0]).toBe(100);
  });
});

describe("perf_analyzer's stability rule", () => {
  const w = (throughput: number, latencyMs: number) => ({ throughput, latencyMs });
  it.each([
    ['fewer than three windows', [w(100, 1), w(100, 1)], 10, false],
    ['three equal windows', [w(100, 1), w(100, 1), w(100, 1)], 10, true],
    ['throughput max/min 1.10 at 10%', [w(100, 1), w(110, 1), w(105, 1)], 10, true],
    ['throughput max/min 1.11 at 10%', [w(100, 1), w(111, 1), w(105, 1)], 10, false],
    ['latency max/min 1.2 at 10%', [w(100, 1), w(100, 1.2), w(100, 1)], 10, false],
    ['latency max/min 1.2 at 25%', [w(100, 1), w(100, 1.2), w(100, 1)], 25, true],
    ['only the last three count', [w(1, 9), w(100, 1), w(100, 1), w(100, 1)], 10, true],
    ['nothing completed in any window', [w(0, NaN), w(0, NaN), w(0, NaN)], 10, true],
    ['nothing completed in one window', [w(0, NaN), w(100, 1), w(100, 1)], 10, false],
  ])('%s → %s', (_name, windows, pct, stable) => {
    expect(isStable(windows, pct as number)).toBe(stable);
  });
});

describe('arrival schedules', () => {
  it('spaces constant arrivals exactly 1/rate apart, from the start time', () => {
    const s = arrivalSchedule({ ratePerSecond: 200, distribution: 'constant', startMs: 1000, random: seededRandom(1) });
    expect([s.next(), s.next(), s.next()]).toEqual([1000, 1005, 1010]);
  });

  it('interleaves constant streams by phase', () => {
    const s = arrivalSchedule({ ratePerSecond: 100, distribution: 'constant', startMs: 0, random: seededRandom(1), phase: 0.5 });
    expect([s.next(), s.next()]).toEqual([5, 15]);
  });

  it('gives Poisson arrivals the asked mean rate and exponential gaps (coefficient of variation ≈ 1)', () => {
    const s = arrivalSchedule({ ratePerSecond: 1000, distribution: 'poisson', startMs: 0, random: seededRandom(3) });
    const n = 50_000;
    const gaps: number[] = [];
    let last = 0;
    for (let i = 0; i < n; i++) {
      const t = s.next();
      gaps.push(t - last);
      last = t;
    }
    const mean = last / n;
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / n);
    expect(Math.abs(mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(sd / mean - 1)).toBeLessThan(0.03);
  });

  it('repeats the same arrivals for the same seed', () => {
    const make = () => arrivalSchedule({ ratePerSecond: 50, distribution: 'poisson', startMs: 0, random: seededRandom(9) });
    const [a, b] = [make(), make()];
    expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
  });
});

describe('splitting a step across threads', () => {
  it('deals callers out, never giving a thread none', () => {
    expect(splitLoad({ mode: 'concurrency', concurrency: 10 }, 4, 1).map((l) => (l.mode === 'concurrency' ? l.concurrency : 0))).toEqual([3, 3, 2, 2]);
    expect(splitLoad({ mode: 'concurrency', concurrency: 2 }, 4, 1)).toHaveLength(2);
  });

  it('divides a request rate, with its own seed and phase per thread', () => {
    const loads = splitLoad({ mode: 'rate', ratePerSecond: 300, distribution: 'poisson' }, 3, 5);
    expect(loads.map((l) => (l.mode === 'rate' ? [l.ratePerSecond, l.phase] : []))).toEqual([
      [100, 0],
      [100, 1 / 3],
      [100, 2 / 3],
    ]);
    expect(new Set(loads.map((l) => (l.mode === 'rate' ? l.seed : 0))).size).toBe(3);
  });
});

const record = (over: Partial<WindowRecord>): WindowRecord => ({ ...emptyRecord(), ...over });

describe('windows and steps', () => {
  it('merges records from several threads by addition', () => {
    const merged = mergeRecords([
      record({ sent: 3, completed: 2, latenciesMs: Float64Array.of(1, 2), errors: { '503': 1 }, sendMsSum: 1, recvMsSum: 2, elu: 0.3 }),
      record({ sent: 2, completed: 1, latenciesMs: Float64Array.of(3), errors: { '503': 1, network: 1 }, sendMsSum: 1, recvMsSum: 1, elu: 0.7 }),
    ]);
    expect(merged).toEqual({ sent: 5, completed: 3, latenciesMs: Float64Array.of(1, 2, 3), errors: { '503': 2, network: 1 }, sendMsSum: 2, recvMsSum: 3, elu: 0.7 });
  });

  it('turns windows into throughput, latency and the server split, subtracting known parts from the latency', () => {
    const stats = (n: number, queueNs: number) =>
      statsSnapshot([
        {
          name: 'm',
          version: '1',
          last_inference: 0,
          inference_count: n * 2,
          execution_count: n,
          inference_stats: {
            success: { count: n, ns: 0 },
            fail: { count: 0, ns: 0 },
            queue: { count: n, ns: queueNs },
            compute_input: { count: n, ns: 0 },
            compute_infer: { count: n, ns: n * 1_000_000 },
            compute_output: { count: n, ns: 0 },
          },
        },
      ]);
    const windows = [0, 1].map((i) => ({
      record: record({ sent: 100, completed: 100, latenciesMs: new Float64Array(100).fill(4), sendMsSum: 10, recvMsSum: 50, errors: i === 1 ? { '500': 2 } : {} }),
      durationMs: 1000,
      cpuUs: 250_000,
      statsBefore: stats(i * 100, i * 100 * 500_000),
      statsAfter: stats((i + 1) * 100, (i + 1) * 100 * 500_000),
    }));
    const step = summarizeStep({ mode: 'concurrency', concurrency: 4 }, 1, windows, true, 5, 2);
    expect(step).toMatchObject({
      completed: 200,
      sent: 200,
      errorCount: 2,
      errors: { '500': 2 },
      inferPerSecond: 200, // 200 requests × batch 2 over 2 s
      requestsPerSecond: 100,
      clientSendMs: 0.1,
      clientRecvMs: 0.5,
      clientCpuPercent: 25,
      trials: 5,
      server: { successCount: 200, inferenceCount: 400, executionCount: 200, queueUs: 500, computeInferUs: 1000 },
    });
    // 4 ms = 0.1 send + 0.5 recv + 0.5 queue + 1.0 infer + 1.9 network and server I/O
    expect(step.networkServerMs).toBeCloseTo(1.9, 9);
    expect(serverSplit(windows[0]!.statsBefore, windows[1]!.statsAfter).successCount).toBe(200);
  });
});

function step(concurrency: number, inferPerSecond: number, over: Partial<StepResult> = {}): StepResult {
  return {
    load: { mode: 'concurrency', concurrency },
    threads: 1,
    stable: true,
    trials: 3,
    durationMs: 3000,
    sent: 30,
    completed: 30,
    errors: {},
    errorCount: 0,
    inferPerSecond,
    requestsPerSecond: inferPerSecond,
    sendRate: inferPerSecond,
    latency: { count: 30, avgMs: 1.5, minMs: 1, maxMs: 3, p50Ms: 1.4, p90Ms: 2, p95Ms: 2.5, p99Ms: 2.9 },
    clientSendMs: 0.01,
    clientRecvMs: 0.02,
    networkServerMs: 0.4,
    server: { successCount: 30, failCount: 0, inferenceCount: 30, executionCount: 10, queueUs: 100, computeInputUs: 10, computeInferUs: 950, computeOutputUs: 5 },
    clientCpuPercent: 12.34,
    generatorElu: 0.2,
    ...over,
  };
}

const report: PerfReport = {
  target: { kind: 'engine', url: 'http://localhost:8000', model: 'mlp', modelVersion: '' },
  mode: 'concurrency',
  batchSize: 1,
  steps: [step(1, 900), step(4, 2000, { errors: { '503': 3, network: 1 }, errorCount: 4, stable: false }), step(2, 1500)],
  totals: { sent: 94, completed: 90, errors: { '503': 3, network: 1 } },
  serverTotals: undefined,
  interrupted: false,
};

describe('the CSV', () => {
  const lines = toCsv(report).trimEnd().split('\n');

  it("starts with perf_analyzer's columns in its order, then scoreline's", () => {
    expect(lines[0]).toBe(
      'Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,' +
        'p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,Requests/Second,Send Rate,Request Count,Error Count,Errors,Server Request Count,Client CPU %,Generator Threads,Stable',
    );
    expect(lines[0]!.split(',')).toEqual(['Concurrency', ...CSV_COLUMNS]);
  });

  it('sorts rows by throughput and writes latencies in microseconds', () => {
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2', '4']);
    expect(lines[1]).toBe('1,900.0,10,400,100,10,950,5,20,1400,2000,2500,2900,1500,900.0,900.0,30,0,,30,12.3,1,1');
  });

  it('counts errors by kind in one cell', () => {
    expect(lines[3]!.split(',').slice(17, 19)).toEqual(['4', '503:3 network:1']);
    expect(lines[3]!.endsWith(',0')).toBe(true);
  });

  it('leaves the server columns empty for a scoring endpoint and names an open loop "Request Rate"', () => {
    const csv = toCsv({
      ...report,
      target: { kind: 'score', url: 'http://h/score' },
      mode: 'rate',
      steps: [step(0, 100, { load: { mode: 'rate', ratePerSecond: 100, distribution: 'constant' }, server: undefined })],
    });
    const [header, row] = csv.trimEnd().split('\n');
    expect(header!.startsWith('Request Rate,')).toBe(true);
    expect(row!.split(',').slice(0, 9)).toEqual(['100', '100.0', '10', '400', '', '', '', '', '20']);
  });
});

describe('the table', () => {
  it('has a row per step in load order, marks unstable steps and shows errors and totals', () => {
    const table = formatTable(report);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^concurrency\s+infer\/s\s+p50 ms.*queue ms\s+compute ms\s+errors\s+client CPU\s+threads$/);
    expect(lines.slice(1, 4).map((l) => l.trim().split(/\s+/)[0])).toEqual(['1', '4*', '2']);
    expect(lines[2]).toContain('4 (503:3 network:1)');
    expect(table).toContain('* not stable');
    expect(table).toContain('requests: 94 sent, 90 complete, 4 failed (503:3 network:1)');
  });
});

describe('the SVG plot', () => {
  it.each([
    [0, [0, 1]],
    [9, [0, 2, 4, 6, 8, 10]],
    [1234, [0, 500, 1000, 1500]],
    [0.37, [0, 0.1, 0.2, 0.3, 0.4]],
  ])('puts nice ticks up to %d', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });

  it('draws one polyline per percentile with a marker per step, labelled with the load', () => {
    const svg = reportPlotSvg(report);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg.match(/<circle /g)).toHaveLength(12);
    for (const p of ['p50', 'p90', 'p95', 'p99']) expect(svg).toContain(`data-label="${p}"`);
    expect(svg).toContain('>4</text>');
  });

  it('escapes text and skips points without a value', () => {
    const svg = lineChartSvg([{ label: 'a<b & "c"', points: [{ x: 1, y: NaN }, { x: 2, y: 3 }] }], { title: 't', xLabel: 'x', yLabel: 'y' });
    expect(svg).toContain(escapeXml('a<b & "c"'));
    expect(svg).not.toContain('a<b');
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg).not.toContain('NaN');
  });
});
