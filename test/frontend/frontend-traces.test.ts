/**
 * One trace from /score through the engine, from the outside: a real `scoreline serve` whose
 * workers and engine export OTLP/HTTP JSON (configured by OTEL_* variables only) to a local
 * collector. A request carrying a W3C traceparent must come back as one tree: the caller's
 * span → POST /score (front end, SERVER) → run() → the client's engine call (CLIENT) → the
 * engine's SERVER span → its queue and compute children.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { makeTestRepository } from '../fixtures/test-repository';
import { startCollector, type Collector, type FlatSpan } from '../telemetry/helpers/collector';
import { fixture, postJson, startServe, type ServeProcess } from './helpers/serve-process';

const ENGINE_PORTS = ['--engine-http-port', '0', '--engine-grpc-port=-1', '--engine-metrics-port', '0'];
const ROW = [0.5, -1, 2, 0.25, 1, 0, -0.5, 3];
const SERVER = 2;
const CLIENT = 3;

let repository: string;
let collector: Collector;
let serve: ServeProcess;
const agent = new Agent();

beforeAll(async () => {
  repository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-frontend-traces-'));
  await makeTestRepository(repository);
  collector = await startCollector();
  serve = await startServe(['--entry-script', fixture('observed.ts'), '--model-repository', repository, '--worker-count', '1', ...ENGINE_PORTS], {
    timeoutMs: 90_000,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' },
  });
}, 120_000);

afterAll(async () => {
  expect(await serve?.stop()).toEqual({ code: 0, signal: null });
  await collector?.close();
  await agent.close();
  await rm(repository, { recursive: true, force: true });
});

const inTrace = (traceId: string): FlatSpan[] => collector.spans().filter((s) => s.traceId === traceId);
const one = (spans: FlatSpan[], predicate: (s: FlatSpan) => boolean, what: string): FlatSpan => {
  const hits = spans.filter(predicate);
  if (hits.length !== 1) throw new Error(`${hits.length} spans are ${what}: ${JSON.stringify(spans.map((s) => [s.serviceName, s.name]))}`);
  return hits[0]!;
};

it("continues the caller's trace from /score through run() and the engine call to the engine's queue and compute", async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  const reply = await postJson(agent, `${serve.url}/score`, { row: ROW }, { traceparent: `00-${traceId}-${callerSpan}-01` });
  expect(reply.status).toBe(200);
  const requestId = reply.headers['x-request-id'] ?? reply.headers['x-ms-request-id'];

  await collector.waitFor(() => inTrace(traceId).some((s) => s.name === 'compute') && inTrace(traceId).some((s) => s.name === 'POST /score'), 30_000);
  const spans = inTrace(traceId);
  const score = one(spans, (s) => s.name === 'POST /score', 'POST /score');
  expect(score).toMatchObject({ serviceName: 'scoreline-frontend', kind: SERVER, parentSpanId: callerSpan });
  expect(score.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/score', 'http.response.status_code': 200 });
  if (typeof requestId === 'string') expect(score.attributes['scoreline.request_id']).toBe(requestId);

  const run = one(spans, (s) => s.name === 'run()', 'run()');
  expect(run.parentSpanId).toBe(score.spanId);
  const call = one(spans, (s) => s.kind === CLIENT, 'CLIENT spans');
  expect(call).toMatchObject({ serviceName: 'scoreline-frontend', name: 'POST /v2/models/{model_name}/infer', parentSpanId: run.spanId });
  expect(call.attributes).toMatchObject({ 'scoreline.model.name': 'mlp', 'http.response.status_code': 200 });

  const engine = one(spans, (s) => s.serviceName === 'scoreline-engine' && s.kind === SERVER, "the engine's SERVER span");
  expect(engine.parentSpanId).toBe(call.spanId);
  expect(engine.attributes['scoreline.model.name']).toBe('mlp');
  const queue = one(spans, (s) => s.name === 'queue', 'queue');
  const compute = one(spans, (s) => s.name === 'compute', 'compute');
  expect([queue.parentSpanId, compute.parentSpanId]).toEqual([engine.spanId, engine.spanId]);
  expect(compute.attributes['scoreline.batch_size']).toBeGreaterThanOrEqual(1);

  // Each span lies within its parent. The engine builds its spans from one monotonic clock:
  // exactly. The front end's come from the OpenTelemetry SDK, which anchors each span's start
  // on Date.now() (millisecond steps) and measures its duration with performance.now(): a
  // child may show up to 1 ms outside its parent there.
  const SDK_ANCHOR_NS = 1_000_000n;
  for (const [child, parent, slackNs] of [[run, score, SDK_ANCHOR_NS], [call, run, SDK_ANCHOR_NS], [queue, engine, 0n], [compute, engine, 0n]] as const) {
    expect(child.startNs + slackNs).toBeGreaterThanOrEqual(parent.startNs);
    expect(child.endNs).toBeLessThanOrEqual(parent.endNs + slackNs);
  }
}, 60_000);

it('starts a trace of its own for a request without traceparent, and marks a failed run() as an error', async () => {
  const reply = await postJson(agent, `${serve.url}/score`, { row: [1, 2] });
  expect(reply.status).toBeGreaterThanOrEqual(400);
  await collector.waitFor(() => collector.spans().some((s) => s.name === 'run()' && s.status.code === 2), 30_000);
  const run = collector.spans().find((s) => s.name === 'run()' && s.status.code === 2)!;
  const score = one(inTrace(run.traceId), (s) => s.name === 'POST /score', 'POST /score');
  expect(score.parentSpanId).toBe('');
  expect(score.attributes['http.response.status_code']).toBe(reply.status);
}, 60_000);

it('refuses an unusable tracing setting at start-up, naming it', async () => {
  const refused = await startServe(['--entry-script', fixture('observed.ts')], {
    waitUntilServing: false,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' },
  });
  expect(await refused.exited).toEqual({ code: 2, signal: null });
  expect(refused.output()).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon' is not one of grpc, http\/protobuf, http\/json/);
}, 30_000);
