/**
 * The engine's options, validated once, with every default in this one schema. The CLI
 * maps tritonserver-style flags onto these fields; library users pass them directly.
 */
import { z } from 'zod';
import { InvalidOptionError } from '../errors';
import { DEFAULT_ENGINE_PORTS } from '../util/default-ports';
import { MODEL_CONFIG_LIMIT_NAMES, type ModelConfigLimitName } from './config/config-limits';
import { MAX_SUMMARY_QUANTILES, defaultMetricsConfig } from './metrics/metrics-config';

const port = z.number().int().min(0).max(65535);

/** Triton's default --http-max-input-size: 64 MiB. */
export const DEFAULT_HTTP_MAX_INPUT_SIZE = 64 * 1024 * 1024;

export const engineOptionsSchema = z
  .object({
    modelRepository: z.string().min(1),
    host: z.string().min(1).default('127.0.0.1'),
    httpPort: port.default(DEFAULT_ENGINE_PORTS.http),
    /** Prometheus metrics port; -1 disables the metrics server. */
    metricsPort: port.or(z.literal(-1)).default(DEFAULT_ENGINE_PORTS.metrics),
    /** Address the metrics server binds (Triton's --metrics-address); default: `host`. */
    metricsAddress: z.string().min(1).optional(),
    /** KServe v2 gRPC port (GRPCInferenceService); -1 disables the gRPC server. */
    grpcPort: port.or(z.literal(-1)).default(DEFAULT_ENGINE_PORTS.grpc),
    autoCompleteConfig: z.boolean().default(true),
    modelControlMode: z.enum(['none', 'explicit', 'poll']).default('none'),
    /** Models to load at start-up in explicit mode ('*' loads all). */
    loadModels: z.array(z.string().min(1)).default([]),
    repositoryPollSecs: z.number().positive().default(15),
    /** Auto-complete's max_batch_size for models that can batch (Triton's default-max-batch-size). */
    defaultMaxBatchSize: z.number().int().min(0).default(4),
    /** Largest request body accepted (Triton's --http-max-input-size), in bytes. */
    httpMaxInputSize: z.number().int().positive().default(DEFAULT_HTTP_MAX_INPUT_SIZE),
    logLevel: z.enum(['error', 'warn', 'info', 'verbose']).default('info'),
    /** Seconds to let in-flight requests finish on shutdown. */
    exitTimeoutSecs: z.number().min(0).default(30),
    /**
     * Bounds on what a model config may ask for (config-limits.ts; the CLI's repeatable
     * --model-config-limit NAME=N): only the ones to change, the others keep their defaults.
     */
    modelConfigLimits: z.partialRecord(z.enum(MODEL_CONFIG_LIMIT_NAMES as [ModelConfigLimitName, ...ModelConfigLimitName[]]), z.number().int().positive()).default({}),
    /**
     * Seconds a model load (sessions created, warmup run) may take before it fails and its
     * threads are terminated; 0: no limit. Ten minutes leaves a multi-GB model and its
     * warmup ample time, and bounds how long a hostile load (an override with a huge warmup
     * count) can hold a model thread. At most a week (a timer's range is ~24.8 days).
     */
    modelLoadTimeoutSecs: z.number().min(0).max(604_800).default(600),
    /**
     * Bytes of the response cache shared by all models (Triton's --cache-config local,size=N);
     * 0: no cache. Only models whose config says response_cache { enable: true } use it.
     */
    responseCacheBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /**
     * Which latency metrics /metrics publishes (Triton's --metrics-config; the CLI parses
     * counter_latencies, summary_latencies, summary_quantiles in metrics-config.ts).
     */
    metricsConfig: z
      .strictObject({
        counterLatencies: z.boolean(),
        summaryLatencies: z.boolean(),
        summaryQuantiles: z
          .array(z.strictObject({ quantile: z.number().gt(0).lt(1), error: z.number().gt(0).lt(1) }))
          .min(1)
          .max(MAX_SUMMARY_QUANTILES),
      })
      .partial()
      .transform((c) => ({ ...defaultMetricsConfig(), ...c }))
      .prefault({}),
  })
  .strict();

export type EngineOptionsInput = z.input<typeof engineOptionsSchema>;
export type EngineOptions = z.output<typeof engineOptionsSchema>;

/** Validates options; the error names each offending option. */
export function resolveEngineOptions(input: EngineOptionsInput): EngineOptions {
  const result = engineOptionsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? `unknown option(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`
        : `option '${i.path.join('.')}': ${i.message}`,
    );
    throw new InvalidOptionError(`invalid engine options: ${problems.join('; ')}`);
  }
  return result.data;
}
