/**
 * The table `scoreline perf` prints at the end: one row per step, in the order measured,
 * latencies in milliseconds. Unstable steps are marked, errors are never left out.
 */
import { formatErrors } from './report-csv';
import type { PerfReport } from './perf-report';
import { stepValue } from './perf-report';

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');

export function formatTable(report: PerfReport): string {
  const engine = report.target.kind === 'engine';
  const header = [
    report.mode === 'concurrency' ? 'concurrency' : 'rate/s',
    'infer/s',
    ...(report.batchSize > 1 ? ['req/s'] : []),
    ...(report.mode === 'rate' ? ['sent/s'] : []),
    'p50 ms',
    'p90 ms',
    'p95 ms',
    'p99 ms',
    'avg ms',
    ...(engine ? ['queue ms', 'compute ms'] : []),
    'errors',
    'client CPU',
    'threads',
  ];
  const rows = report.steps.map((s) => {
    const server = s.server;
    return [
      `${stepValue(s)}${s.stable ? '' : '*'}`,
      s.inferPerSecond.toFixed(1),
      ...(report.batchSize > 1 ? [s.requestsPerSecond.toFixed(1)] : []),
      ...(report.mode === 'rate' ? [s.sendRate.toFixed(1)] : []),
      ms(s.latency.p50Ms),
      ms(s.latency.p90Ms),
      ms(s.latency.p95Ms),
      ms(s.latency.p99Ms),
      ms(s.latency.avgMs),
      ...(engine ? (server ? [ms(server.queueUs / 1000), ms((server.computeInputUs + server.computeInferUs + server.computeOutputUs) / 1000)] : ['-', '-']) : []),
      s.errorCount === 0 ? '0' : `${s.errorCount} (${formatErrors(s.errors)})`,
      `${s.clientCpuPercent.toFixed(0)}%`,
      String(s.threads),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 || c.includes('(') ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (report.steps.some((s) => !s.stable)) out.push('* not stable within the stability percentage: the last windows are reported anyway');
  const failed = report.totals.sent - report.totals.completed;
  out.push(
    `requests: ${report.totals.sent} sent, ${report.totals.completed} complete, ${failed} failed${failed > 0 ? ` (${formatErrors(report.totals.errors)})` : ''}` +
      (report.serverTotals ? `; the engine counted ${report.serverTotals.successCount} successful` : ''),
  );
  if (report.interrupted) out.push('interrupted: not every step was measured');
  return `${out.join('\n')}\n`;
}
