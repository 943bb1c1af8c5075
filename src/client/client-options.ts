/**
 * The options of `new InferenceServerClient(...)`, validated once when the client is built.
 * Defaults live in the schema; unknown keys are rejected; every message names the option,
 * because plain-JavaScript callers get no compile-time check.
 */
import { z } from 'zod';
import { InvalidOptionError } from '../errors';

/** Options of `new InferenceServerClient(...)`; only `url` is required. */
export interface InferenceServerClientOptions {
  /** 'host:port[/base-path]' as tritonclient takes it, or 'http(s)://host:port[/base-path]'. */
  url: string;
  /** Milliseconds to establish a connection (default 60 000, tritonclient's connection_timeout). */
  connectionTimeout?: number;
  /**
   * Milliseconds to wait for the response headers and then between body chunks (default
   * 60 000, tritonclient's network_timeout). undici checks it about twice a second, so a
   * timeout fires up to a second late; the lean transport's fires on time.
   */
  networkTimeout?: number;
  /**
   * Keep-alive connections in the pool (default 16). Each carries one request at a time;
   * calls beyond this many wait for the first connection that frees up.
   */
  concurrency?: number;
  /** Headers sent with every request (an API key, a tracing header); per-call headers win. */
  headers?: Record<string, string>;
  /**
   * The HTTP client underneath (default 'undici'). 'lean': scoreline's own keep-alive
   * HTTP/1.1 connections (src/http1/http1-pool.ts), plain http: URLs only; less CPU per request and a
   * request written at once. `scoreline serve`'s workers use it for the engine.
   */
  transport?: 'undici' | 'lean';
  /**
   * Hold `infer()` calls that fail because the server went away (connection refused or
   * broken, or a 503 while it restarts and loads its models), and resend them once it
   * answers ready again (default false: fail them). Inference is idempotent, so a call the
   * server may have run before it died is safe to send again; a call opts out with
   * `resend: false`. A held call waits at most until its own `timeout` (or `maxHoldMs`), and
   * at most `maxHeldCalls` wait at once (later ones fail at once). `scoreline serve` turns
   * this on for its workers, so an engine restart fails no /score request.
   */
  resendAfterOutage?: false | ResendAfterOutageOptions;
}

export interface ResendAfterOutageOptions {
  /** Calls held at once; beyond this many, a failed call fails (default 1024). */
  maxHeldCalls?: number;
  /** The longest a call without a `timeout` is held (default 30 000 ms). */
  maxHoldMs?: number;
  /** Pause between readiness probes while calls are held (default 25 ms). */
  probeIntervalMs?: number;
}

const positiveMs = z.number().finite().positive();

// The one place defaults live. A slow request holds only its own connection (no pipelining),
// so the pool size bounds parallelism without letting one call delay another.
const optionsSchema = z.strictObject({
  url: z.string().min(1),
  connectionTimeout: positiveMs.default(60_000),
  networkTimeout: positiveMs.default(60_000),
  concurrency: z.number().int().min(1).max(1024).default(16),
  headers: z.record(z.string(), z.string()).default({}),
  transport: z.enum(['undici', 'lean']).default('undici'),
  resendAfterOutage: z
    .union([
      z.literal(false),
      z.strictObject({
        maxHeldCalls: z.number().int().min(1).max(1_000_000).default(1024),
        maxHoldMs: positiveMs.default(30_000),
        probeIntervalMs: positiveMs.max(10_000).default(25),
      }),
    ])
    .default(false),
}) satisfies z.ZodType<Required<InferenceServerClientOptions>, InferenceServerClientOptions>;

export interface ResolvedClientOptions {
  /** Scheme, host and port, e.g. `http://127.0.0.1:8000`. */
  origin: string;
  /** Path prefix without a trailing slash ('' for none), e.g. `/triton`. */
  basePath: string;
  connectionTimeout: number;
  networkTimeout: number;
  concurrency: number;
  headers: Record<string, string>;
  transport: 'undici' | 'lean';
  resendAfterOutage: false | Required<ResendAfterOutageOptions>;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(options)';
  if (issue.code === 'unrecognized_keys') {
    // coalesceInfer was an option until merging calls moved to the front end: say where it went.
    const moved = issue.keys.includes('coalesceInfer') ? " ('coalesceInfer' was removed: merging infer() calls is scoreline serve's, --coalesce-infer)" : '';
    return `unknown option(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}${moved}`;
  }
  return `option '${where}': ${issue.message}`;
}

/**
 * 'localhost:8000', 'localhost:8000/base' or 'http://localhost:8000' → origin and base path.
 * A URL with credentials, a query or a fragment is rejected: none of them would be sent the
 * way the caller expects.
 */
export function parseServerUrl(url: string): { origin: string; basePath: string } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch (err) {
    throw new InvalidOptionError(`InferenceServerClient option 'url': '${url}' is not a valid 'host:port' or 'http://host:port'`, {
      cause: err,
    });
  }
  const bad = (why: string): never => {
    throw new InvalidOptionError(`InferenceServerClient option 'url': '${url}' ${why}`);
  };
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') bad(`has scheme '${parsed.protocol}'; use http or https`);
  if (parsed.hostname === '') bad('has no host');
  if (parsed.username !== '' || parsed.password !== '') bad('must not carry credentials; pass an Authorization header instead');
  if (parsed.search !== '' || parsed.hash !== '') bad('must not have a query or fragment');
  return { origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, '') };
}

export function resolveClientOptions(options: unknown): ResolvedClientOptions {
  if (typeof options === 'string') {
    // `new InferenceServerClient('localhost:8000')` reads naturally in JavaScript; accept it.
    options = { url: options };
  }
  const result = optionsSchema.safeParse(options);
  if (!result.success) {
    throw new InvalidOptionError(`invalid InferenceServerClient ${result.error.issues.map(describeIssue).join('; ')}`);
  }
  const { url, ...rest } = result.data;
  for (const name of Object.keys(rest.headers)) {
    if (name.toLowerCase() === 'transfer-encoding') {
      throw new InvalidOptionError("InferenceServerClient option 'headers': 'Transfer-Encoding' is set by the client and cannot be given");
    }
  }
  const server = parseServerUrl(url);
  if (rest.transport === 'lean' && server.origin.startsWith('https:')) {
    throw new InvalidOptionError(`InferenceServerClient option 'transport': 'lean' speaks plain HTTP only; use 'undici' for ${server.origin}`);
  }
  return { ...server, ...rest };
}
