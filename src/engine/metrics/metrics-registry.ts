/**
 * The engine's metrics registry: nothing is stored here; every scrape asks each collector
 * for its families (model statistics, GPU readings, CPU and memory) and renders them.
 */
import type { Logger } from '../../logger';
import { CpuMetrics } from './cpu-metrics';
import { GpuMetricsSource, gpuMetricFamilies } from './gpu-metrics';
import { MetricsModelVersion, collectModelMetrics } from './model-metrics';
import { MetricFamily, renderPrometheusText } from './prometheus-text';

export type MetricsCollector = () => MetricFamily[] | Promise<MetricFamily[]>;

export class MetricsRegistry {
  constructor(
    private readonly collectors: ReadonlyArray<{ name: string; collect: MetricsCollector }>,
    private readonly logger?: Logger,
  ) {}

  /** The exposition text. A collector that fails is left out of this scrape (and logged), not the others. */
  async scrape(): Promise<string> {
    const families: MetricFamily[] = [];
    for (const c of this.collectors) {
      try {
        families.push(...(await c.collect()));
      } catch (err) {
        this.logger?.warn(`metrics: ${c.name} metrics failed: ${(err as Error).message}`);
      }
    }
    return renderPrometheusText(families);
  }
}

export interface EngineMetricsOptions {
  /** The loaded versions at scrape time (ModelManager.loadedVersions). */
  versions: () => Iterable<MetricsModelVersion>;
  /** Triton's counter_latencies (default true): false leaves out the cumulative latency counters. */
  counterLatencies?: boolean;
  /** Absent (no GPU, or no way to read one): no GPU families. */
  gpu?: GpuMetricsSource;
  logger?: Logger;
}

/** Triton's families in Triton's order: per-model inference metrics, GPU, then CPU. */
export function createEngineMetrics(options: EngineMetricsOptions): MetricsRegistry {
  const cpu = new CpuMetrics();
  const { gpu } = options;
  return new MetricsRegistry(
    [
      { name: 'model', collect: () => collectModelMetrics(options.versions(), { counterLatencies: options.counterLatencies }) },
      ...(gpu ? [{ name: 'GPU', collect: async () => gpuMetricFamilies(await gpu.read()) }] : []),
      { name: 'CPU', collect: () => cpu.collect() },
    ],
    options.logger,
  );
}
