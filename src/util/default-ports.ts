/**
 * Where an engine listens unless told otherwise: Triton's well-known ports, which tritonclient,
 * perf_analyzer and Prometheus set-ups assume. `scoreline engine`'s defaults, the engine that
 * `scoreline serve` embeds, and `scoreline perf`'s target all come from here.
 */
export const DEFAULT_ENGINE_PORTS = { http: 8000, grpc: 8001, metrics: 8002 } as const;
