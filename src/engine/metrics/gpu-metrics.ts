/**
 * Triton's GPU gauges (labelled by gpu_uuid), rendered from readings that a source
 * supplies. Triton reads them with DCGM; this package bundles no NVML binding, so the
 * engine starts without a source and these families are simply absent. A source
 * (nvidia-smi, an NVML addon) plugs in through `GpuMetricsSource` on a machine with a GPU.
 */
import type { MetricFamily, MetricType } from './prometheus-text';

/** One GPU at scrape time; a field a source cannot read stays undefined and is left out. */
export interface GpuReading {
  uuid: string;
  /** 0..1 */
  utilization?: number;
  memoryTotalBytes?: number;
  memoryUsedBytes?: number;
  powerUsageWatts?: number;
  powerLimitWatts?: number;
  /** Since the engine started. */
  energyJoules?: number;
}

export interface GpuMetricsSource {
  read(): GpuReading[] | Promise<GpuReading[]>;
}

type Field = Exclude<keyof GpuReading, 'uuid'>;

const FAMILIES: Array<[name: string, help: string, type: MetricType, field: Field]> = [
  ['nv_gpu_utilization', 'GPU utilization rate [0.0 - 1.0)', 'gauge', 'utilization'],
  ['nv_gpu_memory_total_bytes', 'GPU total memory, in bytes', 'gauge', 'memoryTotalBytes'],
  ['nv_gpu_memory_used_bytes', 'GPU used memory, in bytes', 'gauge', 'memoryUsedBytes'],
  ['nv_gpu_power_usage', 'GPU power usage in watts', 'gauge', 'powerUsageWatts'],
  ['nv_gpu_power_limit', 'GPU power management limit in watts', 'gauge', 'powerLimitWatts'],
  ['nv_energy_consumption', 'GPU energy consumption in joules since the Triton Server started', 'counter', 'energyJoules'],
];

export function gpuMetricFamilies(readings: readonly GpuReading[]): MetricFamily[] {
  return FAMILIES.map(([name, help, type, field]) => ({
    name,
    help,
    type,
    samples: readings
      .filter((r) => r[field] !== undefined)
      .map((r) => ({ labels: { gpu_uuid: r.uuid }, value: r[field] as number })),
  }));
}
