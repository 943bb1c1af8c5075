import { CpuMetrics, CpuTimes, cpuUtilizationBetween, readCpuTimes } from '../../../src/engine/metrics/cpu-metrics';
import { gpuMetricFamilies } from '../../../src/engine/metrics/gpu-metrics';
import { renderPrometheusText } from '../../../src/engine/metrics/prometheus-text';
import { parsePrometheus, valueOf } from './parse-prometheus';

const t = (busyMs: number, totalMs: number): CpuTimes => ({ busyMs, totalMs });

describe('CPU utilization', () => {
  it.each([
    ['half the cores busy', t(100, 1000), t(600, 2000), 0.5],
    ['all idle', t(100, 1000), t(100, 3000), 0],
    ['all busy', t(0, 0), t(800, 800), 1],
    ['no time passed', t(5, 10), t(5, 10), 0],
    ['counters went backwards (clamped)', t(500, 1000), t(400, 2000), 0],
  ])('is the busy share of the interval: %s', (_, previous, next, expected) => {
    expect(cpuUtilizationBetween(previous, next)).toBeCloseTo(expected, 10);
  });

  it('reports each scrape the interval since the previous one, starting at construction', () => {
    const readings = [t(0, 1000), t(250, 2000), t(1250, 3000)];
    const cpu = new CpuMetrics(() => readings.shift()!, () => ({ totalBytes: 1000, availableBytes: 400 }));
    const scrape = () => parsePrometheus(renderPrometheusText(cpu.collect()));
    expect(valueOf(scrape(), 'nv_cpu_utilization')).toBeCloseTo(0.25);
    const second = scrape();
    expect(valueOf(second, 'nv_cpu_utilization')).toBeCloseTo(1);
    expect(valueOf(second, 'nv_cpu_memory_total_bytes')).toBe(1000);
    expect(valueOf(second, 'nv_cpu_memory_used_bytes')).toBe(600);
    expect(second.get('nv_cpu_utilization')!.type).toBe('gauge');
  });

  it('reads this machine: busy time never exceeds total time', () => {
    const now = readCpuTimes();
    expect(now.busyMs).toBeGreaterThanOrEqual(0);
    expect(now.busyMs).toBeLessThanOrEqual(now.totalMs);
  });
});

describe('GPU metrics', () => {
  it('labels each GPU by gpu_uuid and leaves out what a source could not read', () => {
    const families = parsePrometheus(
      renderPrometheusText(
        gpuMetricFamilies([
          { uuid: 'GPU-a', utilization: 0.5, memoryTotalBytes: 80e9, memoryUsedBytes: 1e9, powerUsageWatts: 70, powerLimitWatts: 700, energyJoules: 12 },
          { uuid: 'GPU-b', memoryTotalBytes: 40e9 },
        ]),
      ),
    );
    expect(valueOf(families, 'nv_gpu_utilization', { gpu_uuid: 'GPU-a' })).toBe(0.5);
    expect(valueOf(families, 'nv_gpu_memory_total_bytes', { gpu_uuid: 'GPU-b' })).toBe(40e9);
    expect(families.get('nv_gpu_utilization')!.samples).toHaveLength(1);
    expect(families.get('nv_energy_consumption')!.type).toBe('counter');
    expect(families.get('nv_gpu_power_usage')!.type).toBe('gauge');
  });

  it('renders nothing when there is no GPU', () => {
    expect(renderPrometheusText(gpuMetricFamilies([]))).toBe('');
  });
});
