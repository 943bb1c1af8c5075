/**
 * The load loop of one thread: sends prepared requests through a transport (an undici Pool,
 * or a gRPC channel), closed loop
 * (N callers, each sending its next request when the last one answered) or open loop
 * (requests due on an arrival schedule, sent whether or not earlier ones answered), and
 * records what happened until the next snapshot.
 *
 * Latency runs from the request's due time to the last byte of the response: in the open
 * loop a generator that falls behind its schedule adds its lateness to the latency instead
 * of hiding it (no coordinated omission), and shows it in the send time too.
 *
 * Ownership: one instance per thread; `issue` never throws (transports resolve failures as
 * outcomes), so no promise goes unhandled.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { ArrivalSchedule, RequestDistribution, arrivalSchedule } from './arrival-schedule';
import { seededRandom } from '../util/seeded-random';
import { LoadTarget, Transport, createTransport } from './transport';
import { ErrorCounts, LatencyBuffer, WindowRecord } from './window-record';

/** The load one thread generates. */
export type ThreadLoad =
  | { mode: 'concurrency'; concurrency: number }
  | { mode: 'rate'; ratePerSecond: number; distribution: RequestDistribution; seed: number; phase: number };

export interface LoadGeneratorOptions {
  /** Where and what to send: prepared HTTP requests or gRPC messages, sent in turn. */
  target: LoadTarget;
  /** Keep-alive connections (HTTP); closed loops use one per caller. */
  connections: number;
  /** Per-request timeout, ms. */
  timeoutMs: number;
}

/** A closed-loop caller whose connection failed waits this long before trying again. */
const NETWORK_ERROR_BACKOFF_MS = 10;

export class LoadGenerator {
  private readonly transport: Transport;
  private running = false;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private nextRequest = 0;
  // The current window.
  private sent = 0;
  private completed = 0;
  private errors: ErrorCounts = {};
  private sendMsSum = 0;
  private recvMsSum = 0;
  private readonly latencies = new LatencyBuffer();
  private elu: EventLoopUtilization = performance.eventLoopUtilization();

  constructor(options: LoadGeneratorOptions) {
    const count = options.target.protocol === 'http' ? options.target.requests.length : options.target.messages.length;
    if (count === 0) throw new RangeError('the load generator needs at least one request');
    this.transport = createTransport(options.target, { connections: options.connections, timeoutMs: options.timeoutMs });
  }

  start(load: ThreadLoad): void {
    if (this.running) throw new Error('load generator already started');
    this.running = true;
    this.elu = performance.eventLoopUtilization();
    if (load.mode === 'concurrency') {
      for (let i = 0; i < load.concurrency; i++) void this.caller();
    } else {
      const schedule = arrivalSchedule({
        ratePerSecond: load.ratePerSecond,
        distribution: load.distribution,
        startMs: performance.now(),
        random: seededRandom(load.seed),
        phase: load.phase,
      });
      this.tick(schedule, schedule.next());
    }
  }

  /** What happened since the last snapshot; starts a new window. */
  snapshot(): WindowRecord {
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    const record: WindowRecord = {
      sent: this.sent,
      completed: this.completed,
      latenciesMs: this.latencies.take(),
      errors: this.errors,
      sendMsSum: this.sendMsSum,
      recvMsSum: this.recvMsSum,
      elu: elu.utilization,
    };
    this.sent = this.completed = this.sendMsSum = this.recvMsSum = 0;
    this.errors = {};
    return record;
  }

  /** Sends nothing more, waits for the requests in flight, closes the pool; returns the last window. */
  async stop(): Promise<WindowRecord> {
    this.running = false;
    clearTimeout(this.timer);
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    await this.transport.close();
    return this.snapshot();
  }

  private async caller(): Promise<void> {
    while (this.running) {
      if (!(await this.issue(performance.now()))) await new Promise((r) => setTimeout(r, NETWORK_ERROR_BACKOFF_MS));
    }
  }

  /** Sends every request that is due, then sleeps until the next one is. */
  private tick(schedule: ArrivalSchedule, due: number): void {
    if (!this.running) return;
    const now = performance.now();
    while (due <= now) {
      void this.issue(due);
      due = schedule.next();
    }
    this.timer = setTimeout(() => this.tick(schedule, due), Math.max(0, due - performance.now()));
  }

  /** One request; resolves false when the connection failed (the caller backs off). */
  private async issue(dueMs: number): Promise<boolean> {
    this.inFlight++;
    this.sent++;
    const dispatchMs = performance.now();
    const outcome = await this.transport.send(this.nextRequest++);
    const endMs = performance.now();
    if (outcome.ok) {
      this.completed++;
      this.latencies.push(endMs - dueMs);
      this.sendMsSum += dispatchMs - dueMs;
      this.recvMsSum += endMs - outcome.firstByteMs;
    } else {
      this.countError(outcome.bucket);
    }
    this.inFlight--;
    if (this.inFlight === 0 && this.onIdle) this.onIdle();
    return outcome.ok || !outcome.connectionFailed;
  }

  private countError(bucket: string): void {
    this.errors[bucket] = (this.errors[bucket] ?? 0) + 1;
  }
}
