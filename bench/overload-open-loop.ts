/**
 * One open-loop step of the overload benchmark, with caller deadlines: requests start at
 * their scheduled times however many are outstanding (what independent users do; a closed
 * loop would slow down with the server and never overload it), and each caller gives up at
 * its deadline, counted from its scheduled start, and resets its connection, so the server
 * sees the caller leave, as it would from a client with a timeout. A request whose
 * deadline passes before its answer is complete is lost, whatever the answer would have been.
 *
 * Transport: overload-connections.ts, one request in flight per keep-alive connection; a
 * request takes an idle connection or opens a new one, so connections are opened as callers
 * give up. Outstanding requests are capped (memory and sockets stay bounded); a request due
 * while the cap is reached is not started and counts as lost.
 *
 * Only requests due in the measured window count; the step ends when the last of them has
 * an outcome (at most a deadline after the window). Runs in the generator's own process
 * (overload-generator.ts), so process.cpuUsage() is the generator's CPU alone.
 */
import { performance } from 'node:perf_hooks';
import { arrivalSchedule, type RequestDistribution } from '../src/perf/arrival-schedule';
import { percentileOfSorted } from '../src/perf/latency-summary';
import { seededRandom } from '../src/util/seeded-random';
import { httpPost } from './lean-http-load';
import { DeadlineConnections } from './overload-connections';

export interface OpenLoopOptions {
  /** http://host:port/path */
  url: string;
  /** The JSON body every request carries. */
  body: string;
  ratePerSecond: number;
  distribution: RequestDistribution;
  seed: number;
  warmupMs: number;
  measureMs: number;
  /** The caller gives up this long after the request's scheduled start. */
  deadlineMs: number;
  maxOutstanding: number;
}

export interface OpenLoopStep {
  ratePerSecond: number;
  /** The measured window's length. */
  seconds: number;
  /** Requests due in the window: every one of them is one of the outcomes below. */
  due: number;
  /** Answered 200 within the deadline: the goodput. */
  inTime: number;
  /** The caller gave up at its deadline (no complete answer by then). */
  pastDeadline: number;
  /** Complete answers other than 200 within the deadline, by status. */
  statuses: Record<string, number>;
  /** The connection failed before an answer (refused, reset, closed). */
  failed: number;
  /** Due while maxOutstanding were outstanding: never sent. */
  notStarted: number;
  /** Latency percentiles of the in-time answers, from scheduled start to the last byte. */
  p50Ms: number;
  p99Ms: number;
  /** The most requests outstanding at once, and connections open at once (window and tail). */
  peakOutstanding: number;
  peakConnections: number;
  /** How late requests were started after their scheduled time: the generator keeping up. */
  startLagP99Ms: number;
  startLagMaxMs: number;
  /** The generator process's CPU (user + system) during the window, µs. */
  cpuUs: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopStep> {
  const { hostname, port, pathname, search } = new URL(options.url);
  const request = httpPost(hostname, Number(port), `${pathname}${search}`, { 'content-type': 'application/json' }, Buffer.from(options.body));
  const connections = new DeadlineConnections(hostname, Number(port), request);
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.measureMs;
  const step: OpenLoopStep = {
    ratePerSecond: options.ratePerSecond,
    seconds: options.measureMs / 1000,
    due: 0,
    inTime: 0,
    pastDeadline: 0,
    statuses: {},
    failed: 0,
    notStarted: 0,
    p50Ms: NaN,
    p99Ms: NaN,
    peakOutstanding: 0,
    peakConnections: 0,
    startLagP99Ms: NaN,
    startLagMaxMs: NaN,
    cpuUs: 0,
  };
  const latencies: number[] = [];
  const lags: number[] = [];
  let outstanding = 0;
  let allSettled: (() => void) | undefined;

  const issue = (dueMs: number): void => {
    const counted = dueMs >= windowStart;
    if (counted) step.due++;
    if (outstanding >= options.maxOutstanding) {
      if (counted) step.notStarted++;
      return;
    }
    const now = performance.now();
    if (counted) lags.push(now - dueMs);
    outstanding++;
    if (outstanding > step.peakOutstanding) step.peakOutstanding = outstanding;
    let settled = false;
    const settle = (): void => {
      settled = true;
      if (--outstanding === 0) allSettled?.();
    };
    const pending = connections.send((outcome) => {
      const latency = performance.now() - dueMs;
      clearTimeout(timer);
      settle();
      if (!counted) return;
      if (outcome === 'failed') step.failed++;
      // An answer the event loop reads after the deadline came too late for the caller,
      // even if the deadline's timer has not run yet.
      else if (latency > options.deadlineMs) step.pastDeadline++;
      else if (outcome === 200) {
        step.inTime++;
        latencies.push(latency);
      } else step.statuses[outcome] = (step.statuses[outcome] ?? 0) + 1;
    });
    if (connections.size > step.peakConnections) step.peakConnections = connections.size;
    const timer = setTimeout(() => {
      if (settled) return;
      pending.abort();
      settle();
      if (counted) step.pastDeadline++;
    }, dueMs + options.deadlineMs - now);
  };

  // Due times come from the schedule, never from when the last request went out: a
  // generator that falls behind shows it as start lag and as latency, not as a lower rate.
  const schedule = arrivalSchedule({ ratePerSecond: options.ratePerSecond, distribution: options.distribution, startMs: start, random: seededRandom(options.seed) });
  let cpuAtWindow: NodeJS.CpuUsage | undefined;
  await new Promise<void>((resolve) => {
    let due = schedule.next();
    const tick = (): void => {
      const now = performance.now();
      if (cpuAtWindow === undefined && now >= windowStart) cpuAtWindow = process.cpuUsage();
      while (due <= now && due < windowEnd) {
        issue(due);
        due = schedule.next();
      }
      if (due >= windowEnd) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, Math.ceil(due - performance.now())));
    };
    tick();
  });
  const cpu = process.cpuUsage(cpuAtWindow);
  step.cpuUs = cpu.user + cpu.system;
  if (outstanding > 0) await new Promise<void>((resolve) => (allSettled = resolve));
  connections.closeAll();

  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  step.p50Ms = percentileOfSorted(latencies, 50);
  step.p99Ms = percentileOfSorted(latencies, 99);
  step.startLagP99Ms = percentileOfSorted(lags, 99);
  step.startLagMaxMs = lags.length === 0 ? NaN : lags[lags.length - 1]!;
  return step;
}

/** The step's losses in one line: past deadline, each non-200 status, failed, not started. */
export function lossText(step: OpenLoopStep): string {
  const parts = [`${step.pastDeadline} past deadline`];
  for (const [status, n] of Object.entries(step.statuses)) parts.push(`${n} × ${status}`);
  if (step.failed > 0) parts.push(`${step.failed} failed`);
  if (step.notStarted > 0) parts.push(`${step.notStarted} not started`);
  return parts.join(', ');
}
