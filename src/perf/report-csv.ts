/**
 * The CSV that `-f FILE` writes. The first columns are perf_analyzer's, in its order and
 * units (microseconds), so spreadsheets and scripts made for perf_analyzer read it; the
 * rows are sorted by throughput, as perf_analyzer sorts them. scoreline's own columns
 * follow. Every column:
 *
 *   Concurrency | Request Rate   the step's load (closed loop: requests in flight;
 *                                open loop: requests per second offered)
 *   Inferences/Second            complete responses per second × batch size
 *   Client Send                  µs from a request's due time to its dispatch (generator lag;
 *                                perf_analyzer: request serialization, which perf does up front)
 *   Network+Server Send/Recv     µs of the average latency not in the other columns
 *                                (for a scoring endpoint this includes all server time)
 *   Server Queue                 µs queued in the engine (statistics extension; empty for /score)
 *   Server Compute Input         µs in compute input  (engine only)
 *   Server Compute Infer         µs in compute infer  (engine only)
 *   Server Compute Output        µs in compute output (engine only)
 *   Client Recv                  µs from response headers to the last body byte
 *   p50/p90/p95/p99 latency      µs, due time to last byte, of complete responses
 *   Avg latency                  µs, the same average
 *   Requests/Second              complete responses per second
 *   Send Rate                    requests sent per second (the achieved offered rate)
 *   Request Count                complete responses in the measured windows
 *   Error Count                  failed requests in the measured windows
 *   Errors                       failures by kind, 'kind:count' separated by spaces; kinds:
 *                                an HTTP status, 'grpc:CODE' (e.g. grpc:UNAVAILABLE),
 *                                'network', 'timeout', 'incomplete' (body cut short)
 *   Server Request Count         successful requests the engine counted over the windows
 *   Client CPU %                 the generator process's CPU, in % of one core
 *   Generator Threads            threads that generated the load
 *   Stable                       1 when the last three windows met the stability rule
 */
import type { PerfReport, StepResult } from './perf-report';
import { stepValue } from './perf-report';

export const CSV_COLUMNS = [
  'Inferences/Second',
  'Client Send',
  'Network+Server Send/Recv',
  'Server Queue',
  'Server Compute Input',
  'Server Compute Infer',
  'Server Compute Output',
  'Client Recv',
  'p50 latency',
  'p90 latency',
  'p95 latency',
  'p99 latency',
  'Avg latency',
  'Requests/Second',
  'Send Rate',
  'Request Count',
  'Error Count',
  'Errors',
  'Server Request Count',
  'Client CPU %',
  'Generator Threads',
  'Stable',
] as const;

const us = (ms: number): string => (Number.isFinite(ms) ? String(Math.round(ms * 1000)) : '');
const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '');

export function formatErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind}:${n}`)
    .join(' ');
}

function row(step: StepResult): string[] {
  const s = step.server;
  const serverUs = (v: number | undefined): string => (v === undefined ? '' : String(Math.round(v)));
  return [
    String(stepValue(step)),
    fixed(step.inferPerSecond),
    us(step.clientSendMs),
    us(step.networkServerMs),
    serverUs(s?.queueUs),
    serverUs(s?.computeInputUs),
    serverUs(s?.computeInferUs),
    serverUs(s?.computeOutputUs),
    us(step.clientRecvMs),
    us(step.latency.p50Ms),
    us(step.latency.p90Ms),
    us(step.latency.p95Ms),
    us(step.latency.p99Ms),
    us(step.latency.avgMs),
    fixed(step.requestsPerSecond),
    fixed(step.sendRate),
    String(step.completed),
    String(step.errorCount),
    formatErrors(step.errors),
    s === undefined ? '' : String(s.successCount),
    fixed(step.clientCpuPercent),
    String(step.threads),
    step.stable ? '1' : '0',
  ];
}

/** Quotes a cell only when it must (commas, quotes, newlines). */
function cell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(report: PerfReport): string {
  const header = [report.mode === 'concurrency' ? 'Concurrency' : 'Request Rate', ...CSV_COLUMNS];
  const rows = [...report.steps].sort((a, b) => a.inferPerSecond - b.inferPerSecond).map(row);
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}
