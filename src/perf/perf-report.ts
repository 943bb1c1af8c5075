/**
 * The results of a run, as every output (table, CSV, JSON, plot) reads them. Latencies are
 * in milliseconds here; the CSV converts to perf_analyzer's microseconds.
 */
import type { StepLoad } from './load-threads';
import type { LatencySummary } from './latency-summary';
import type { ServerSplit } from './server-stats';
import type { ErrorCounts } from './window-record';

export interface StepResult {
  load: StepLoad;
  /** Generator threads that produced the load. */
  threads: number;
  /** Whether the last three windows met the stability rule (else they were reported anyway). */
  stable: boolean;
  /** Windows measured. */
  trials: number;
  /** Length of the windows the figures come from (the last three, or fewer). */
  durationMs: number;
  sent: number;
  /** Complete 2xx responses. */
  completed: number;
  errors: ErrorCounts;
  errorCount: number;
  /** completed × batch size per second: perf_analyzer's Inferences/Second. */
  inferPerSecond: number;
  requestsPerSecond: number;
  /** Requests sent per second: the offered rate of an open loop. */
  sendRate: number;
  latency: LatencySummary;
  /** Average due time → dispatch (the generator's scheduling lag). */
  clientSendMs: number;
  /** Average response headers → last byte. */
  clientRecvMs: number;
  /** Average latency less client send, client receive and the server's queue and compute. */
  networkServerMs: number;
  /** From the engine's statistics extension; undefined for a scoring endpoint. */
  server: ServerSplit | undefined;
  /** This process's CPU time over the windows, in % of one core (all threads). */
  clientCpuPercent: number;
  /** Event-loop utilization of the busiest generator thread (1 = saturated). */
  generatorElu: number;
}

export interface RunTotals {
  /** Every request sent during the run, warm-ups and drains included. */
  sent: number;
  completed: number;
  errors: ErrorCounts;
}

export interface PerfReport {
  /** What was loaded: the model (and version) at an engine URL, or a scoring URL. */
  target: { kind: 'engine'; url: string; model: string; modelVersion: string } | { kind: 'score'; url: string };
  mode: 'concurrency' | 'rate';
  batchSize: number;
  steps: StepResult[];
  totals: RunTotals;
  /** The server's statistics over the whole run (engine only). */
  serverTotals: ServerSplit | undefined;
  /** True when the run was interrupted before every step was measured. */
  interrupted: boolean;
}

/** The step's load as a number: its concurrency or its request rate. */
export function stepValue(step: StepResult): number {
  return step.load.mode === 'concurrency' ? step.load.concurrency : step.load.ratePerSecond;
}

export function stepLabel(load: StepLoad): string {
  return load.mode === 'concurrency' ? `concurrency ${load.concurrency}` : `request rate ${load.ratePerSecond}/s`;
}
