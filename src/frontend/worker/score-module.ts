/**
 * The score module contract: what an entry script (`scoring/score.ts`, or any `.ts`, `.js`,
 * `.mjs`, `.cjs` file) exports for `scoreline serve`. These types are part of scoreline's
 * public API (exported from the package root); an entry script imports them with
 * `import type { ScoreModule, InitContext, RunContext } from 'scoreline'`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { InferenceServerClient } from '../../client';
import type { Logger } from '../../logger';

export type { Logger };

/** What `init()` gets, once per worker, before the worker serves its first request. */
export interface InitContext {
  /** AZUREML_MODEL_DIR (`--model-dir`), else the model repository; absolute; undefined when neither is set. */
  modelDir: string | undefined;
  /** The engine's HTTP URL; undefined when the server runs without an engine. */
  engineUrl: string | undefined;
  /** A client for the engine, which is ready when init() runs; undefined without an engine. */
  client: InferenceServerClient | undefined;
  logger: Logger;
  /** This worker's cluster id (1, 2, ...); a restarted worker gets a new one. */
  workerId: number;
}

/** What `run()` gets with each request. */
export interface RunContext {
  /** The x-request-id the response carries (the client's, or a generated UUID). */
  requestId: string;
  /** x-ms-client-request-id, when the client sent one. */
  clientRequestId: string | undefined;
  /** The request's headers, lower-cased names as Node.js gives them. */
  headers: IncomingHttpHeaders;
  /**
   * Aborted when SCORING_TIMEOUT_MS passes or the client goes away; pass it on to slow calls.
   * Made on first read (an AbortController and a listener, a few microseconds); the
   * scoreline client takes `cancellation` instead at no cost.
   */
  signal: AbortSignal;
  /**
   * Whether the client has gone, without making a signal: `aborted` and `reason`, read when
   * asked. Unlike `signal` it is not aborted at the deadline (pass `deadline` to the engine
   * for that). Pass it as the scoreline client's `signal` option; the client polls it while
   * the call is in flight and abandons the call when the client has gone.
   */
  cancellation: { readonly aborted: boolean; readonly reason?: unknown };
  /**
   * When the front end answers this request with a timeout (Date.now() milliseconds):
   * SCORING_TIMEOUT_MS after run() started, or sooner when the caller sent
   * x-scoreline-timeout-ms. Pass what is left of it to the engine (the client's `timeout`
   * option, in microseconds), so the engine drops the request rather than run it after its
   * caller has been answered. Undefined with --no-overload-protection.
   */
  deadline: number | undefined;
  logger: Logger;
}

/**
 * The minimum scoreline needs from a schema: zod's `safeParse` (any zod 4 schema has it).
 * `/swagger.json` is generated from zod schemas; other objects with `safeParse` validate
 * requests but appear in the swagger document as an open object.
 */
export interface RequestSchema<T = unknown> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: readonly unknown[] } };
}

/**
 * The usual score module: `run(data)` gets the parsed JSON body (the raw string when the
 * body is not JSON; GET: the query parameters, each parsed as JSON when it parses). The
 * return value is sent as JSON (a string as a JSON string, undefined as `{}`); a returned
 * web `Response` is sent as it is.
 */
export interface ScoreModule<Input = unknown, Output = unknown> {
  init(context: InitContext): void | Promise<void>;
  run(data: Input, context: RunContext): Output | Response | Promise<Output | Response>;
  /** Requests that fail it get 400 with the schema's issues; run() gets the parsed value. */
  inputSchema?: RequestSchema<Input>;
  /** Documents the response in /swagger.json; responses are not checked against it. */
  outputSchema?: RequestSchema<Output>;
  rawHttp?: false;
}

/** A score module that handles HTTP itself: `run(request)` gets a web `Request` for every method. */
export interface RawScoreModule {
  init(context: InitContext): void | Promise<void>;
  run(request: Request, context: RunContext): unknown;
  rawHttp: true;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any module, whatever its input and output types
export type AnyScoreModule = ScoreModule<any, any> | RawScoreModule;
