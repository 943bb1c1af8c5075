/**
 * tritonserver's `--metrics-config <setting>=<value>` (repeatable): which latency metrics
 * the engine publishes. Triton's settings, Triton's defaults; an unknown setting or a bad
 * value stops the start-up naming it (Triton logs and ignores a bad quantile; an operator
 * who asked for quantiles and silently got the defaults would read the wrong ones).
 */
import { InvalidOptionError } from '../../errors';
import type { QuantileTarget } from '../../util/targeted-quantiles';

export interface MetricsConfig {
  /** The cumulative nv_inference_*_duration_us counters (and the per-model cache counters): Triton's default, on. */
  counterLatencies: boolean;
  /** The nv_inference_*_summary_us summaries: off by default, as Triton. */
  summaryLatencies: boolean;
  /** The summaries' quantiles and their rank errors. */
  summaryQuantiles: QuantileTarget[];
}

/** Triton's default quantiles and errors (MetricReporterConfig::quantiles_). */
export const DEFAULT_SUMMARY_QUANTILES: readonly QuantileTarget[] = [
  { quantile: 0.5, error: 0.05 },
  { quantile: 0.9, error: 0.01 },
  { quantile: 0.95, error: 0.001 },
  { quantile: 0.99, error: 0.001 },
  { quantile: 0.999, error: 0.001 },
];

/** Most quantiles a summary may carry: each is one more series per model and summary. */
export const MAX_SUMMARY_QUANTILES = 20;

export const METRICS_CONFIG_SETTINGS = ['counter_latencies', 'summary_latencies', 'summary_quantiles'] as const;

export function defaultMetricsConfig(): MetricsConfig {
  return { counterLatencies: true, summaryLatencies: false, summaryQuantiles: DEFAULT_SUMMARY_QUANTILES.map((q) => ({ ...q })) };
}

function parseBool(entry: string, value: string): boolean {
  // tritonserver's bool options take these spellings.
  const v = value.toLowerCase();
  if (v === 'true' || v === 'on' || v === '1') return true;
  if (v === 'false' || v === 'off' || v === '0') return false;
  throw new InvalidOptionError(`--metrics-config '${entry}': expected true or false, got '${value}'`);
}

const NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** `<quantile>:<error>,...`, each in (0, 1), quantiles distinct. */
export function parseSummaryQuantiles(entry: string, value: string): QuantileTarget[] {
  const pairs = value.split(',').map((p) => p.trim());
  if (pairs.length > MAX_SUMMARY_QUANTILES) {
    throw new InvalidOptionError(`--metrics-config '${entry}': at most ${MAX_SUMMARY_QUANTILES} quantiles, got ${pairs.length}`);
  }
  const targets: QuantileTarget[] = [];
  for (const pair of pairs) {
    const m = /^([^:]+):([^:]+)$/.exec(pair);
    if (!m || !NUMBER.test(m[1]!) || !NUMBER.test(m[2]!)) {
      throw new InvalidOptionError(`--metrics-config '${entry}': '${pair}' is not <quantile>:<error> (e.g. 0.99:0.001)`);
    }
    const quantile = Number(m[1]);
    const error = Number(m[2]);
    if (!(quantile > 0 && quantile < 1)) {
      throw new InvalidOptionError(`--metrics-config '${entry}': quantile ${m[1]} must be between 0 and 1 (exclusive)`);
    }
    if (!(error > 0 && error < 1)) {
      throw new InvalidOptionError(`--metrics-config '${entry}': error ${m[2]} of quantile ${m[1]} must be between 0 and 1 (exclusive)`);
    }
    if (targets.some((t) => t.quantile === quantile)) {
      throw new InvalidOptionError(`--metrics-config '${entry}': quantile ${m[1]} is listed twice`);
    }
    targets.push({ quantile, error });
  }
  return targets;
}

/** Every --metrics-config entry applied in order over Triton's defaults. */
export function parseMetricsConfig(entries: readonly string[]): MetricsConfig {
  const config = defaultMetricsConfig();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? '' : entry.slice(eq + 1);
    if (eq < 0 || value === '') {
      throw new InvalidOptionError(`--metrics-config '${entry}': expected <setting>=<value> (settings: ${METRICS_CONFIG_SETTINGS.join(', ')})`);
    }
    switch (key) {
      case 'counter_latencies':
        config.counterLatencies = parseBool(entry, value);
        break;
      case 'summary_latencies':
        config.summaryLatencies = parseBool(entry, value);
        break;
      case 'summary_quantiles':
        config.summaryQuantiles = parseSummaryQuantiles(entry, value);
        break;
      case 'histogram_latencies':
        // Triton's one latency histogram is the time to a decoupled model's first response.
        throw new InvalidOptionError(
          `--metrics-config '${entry}': histogram_latencies is not supported (its one family, nv_inference_first_response_histogram_ms, is for decoupled models, which scoreline does not serve); see scoreline_inference_batch_size and the summaries instead`,
        );
      default:
        throw new InvalidOptionError(
          `--metrics-config '${entry}': unknown setting '${key}' (settings: ${METRICS_CONFIG_SETTINGS.join(', ')}; metric groups are not supported)`,
        );
    }
  }
  return config;
}
