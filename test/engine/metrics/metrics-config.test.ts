/**
 * --metrics-config as tritonserver reads it: Triton's defaults, its settings, and a start-up
 * error naming the setting for anything else. Also the batch-size histogram's buckets.
 */
import { parseEngineArgs } from '../../../src/cli/engine-command';
import { batchSizeBuckets } from '../../../src/engine/metrics/batch-size-histogram';
import { DEFAULT_SUMMARY_QUANTILES, parseMetricsConfig } from '../../../src/engine/metrics/metrics-config';
import { resolveEngineOptions } from '../../../src/engine/engine-options';

describe('--metrics-config', () => {
  it("defaults to Triton's: latency counters on, summaries off, quantiles 0.5:0.05 0.9:0.01 0.95/0.99/0.999:0.001", () => {
    expect(parseMetricsConfig([])).toEqual({ counterLatencies: true, summaryLatencies: false, summaryQuantiles: [...DEFAULT_SUMMARY_QUANTILES] });
    expect(resolveEngineOptions({ modelRepository: '/m' }).metricsConfig).toEqual(parseMetricsConfig([]));
    expect(DEFAULT_SUMMARY_QUANTILES.map((q) => `${q.quantile}:${q.error}`).join(',')).toBe('0.5:0.05,0.9:0.01,0.95:0.001,0.99:0.001,0.999:0.001');
  });

  it('reads each setting, the flag repeated, as tritonserver spells them', () => {
    const args = ['--model-repository', '/m', '--metrics-config', 'summary_latencies=true', '--metrics-config=counter_latencies=false', '--metrics-config', 'summary_quantiles=0.5:0.05,0.99:0.001'];
    const options = resolveEngineOptions(parseEngineArgs(args) as never);
    expect(options.metricsConfig).toEqual({
      counterLatencies: false,
      summaryLatencies: true,
      summaryQuantiles: [{ quantile: 0.5, error: 0.05 }, { quantile: 0.99, error: 0.001 }],
    });
  });

  it.each([
    ['summary_latency=true', /unknown setting 'summary_latency'/],
    ['summary_latencies', /expected <setting>=<value>/],
    ['summary_latencies=yes', /'summary_latencies=yes': expected true or false, got 'yes'/],
    ['summary_quantiles=0.5', /'0.5' is not <quantile>:<error>/],
    ['summary_quantiles=1.5:0.01', /quantile 1.5 must be between 0 and 1/],
    ['summary_quantiles=0.5:0', /error 0 of quantile 0.5 must be between 0 and 1/],
    ['summary_quantiles=0.5:0.01,0.5:0.02', /quantile 0.5 is listed twice/],
    ['summary_quantiles=0.5:abc', /is not <quantile>:<error>/],
    ['histogram_latencies=true', /histogram_latencies is not supported/],
    ['model,summary_latencies=true', /unknown setting 'model,summary_latencies'/],
  ])('refuses %s naming the setting', (entry, message) => {
    expect(() => parseEngineArgs(['--model-repository', '/m', '--metrics-config', entry])).toThrow(message);
    expect(() => parseEngineArgs(['--model-repository', '/m', '--metrics-config', entry])).toThrow(/--metrics-config/);
  });

  it('bounds the number of quantiles', () => {
    const many = Array.from({ length: 21 }, (_, i) => `0.${String(i + 10)}:0.01`).join(',');
    expect(() => parseMetricsConfig([`summary_quantiles=${many}`])).toThrow(/at most 20 quantiles, got 21/);
  });
});

describe('scoreline_inference_batch_size buckets', () => {
  it.each([
    [0, [1]],
    [1, [1]],
    [4, [1, 2, 4]],
    [6, [1, 2, 4, 6]],
    [64, [1, 2, 4, 8, 16, 32, 64]],
  ])('max_batch_size %d: %j', (max, buckets) => {
    expect(batchSizeBuckets(max)).toEqual(buckets);
  });
});
