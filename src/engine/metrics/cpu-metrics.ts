/**
 * Triton's CPU metrics: nv_cpu_utilization and the RAM gauges. Like Triton (which reads
 * /proc/stat and /proc/meminfo) they describe the machine, not this process: utilization
 * is the busy share of all cores' time since the previous scrape, from os.cpus(), which
 * also works where there is no /proc. Memory "used" is total minus available (libuv's
 * freemem reads MemAvailable on Linux), as Triton computes it.
 */
import os from 'node:os';
import type { MetricFamily } from './prometheus-text';

/** Cumulative CPU time of all cores, in milliseconds. */
export interface CpuTimes {
  busyMs: number;
  totalMs: number;
}

export function readCpuTimes(): CpuTimes {
  let busyMs = 0;
  let totalMs = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    totalMs += all;
    busyMs += all - times.idle;
  }
  return { busyMs, totalMs };
}

/** Busy share of the time between two readings, in [0, 1]; 0 when no time passed. */
export function cpuUtilizationBetween(previous: CpuTimes, next: CpuTimes): number {
  const total = next.totalMs - previous.totalMs;
  if (!(total > 0)) return 0;
  return Math.min(1, Math.max(0, (next.busyMs - previous.busyMs) / total));
}

export interface MemoryReading {
  totalBytes: number;
  availableBytes: number;
}

const readMemory = (): MemoryReading => ({ totalBytes: os.totalmem(), availableBytes: os.freemem() });

/**
 * Holds the previous CPU reading; each collect() reports the interval since the last one
 * (the first covers the time since construction, i.e. since the engine started).
 */
export class CpuMetrics {
  private previous: CpuTimes;

  constructor(
    private readonly readCpu: () => CpuTimes = readCpuTimes,
    private readonly readMem: () => MemoryReading = readMemory,
  ) {
    this.previous = readCpu();
  }

  collect(): MetricFamily[] {
    const now = this.readCpu();
    const utilization = cpuUtilizationBetween(this.previous, now);
    this.previous = now;
    const mem = this.readMem();
    const gauge = (name: string, help: string, value: number): MetricFamily => ({
      name,
      help,
      type: 'gauge',
      samples: [{ labels: {}, value }],
    });
    return [
      gauge('nv_cpu_utilization', 'CPU utilization rate [0.0 - 1.0]', utilization),
      gauge('nv_cpu_memory_total_bytes', 'CPU total memory (RAM), in bytes', mem.totalBytes),
      gauge('nv_cpu_memory_used_bytes', 'CPU used memory (RAM), in bytes', Math.max(0, mem.totalBytes - mem.availableBytes)),
    ];
  }
}
