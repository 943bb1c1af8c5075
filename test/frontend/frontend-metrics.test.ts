/**
 * The front end's Prometheus metrics, from the outside: a real `scoreline serve` (two workers,
 * the embedded engine on the test repository), requests of every outcome, and scrapes of
 * serve's one metrics port, which must hold the workers' counts added up and the engine's
 * nv_* families in one well-formed exposition.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { makeTestRepository } from '../fixtures/test-repository';
import { parsePrometheus, sampleValue, valueOf, type ParsedFamily } from '../engine/metrics/parse-prometheus';
import { fixture, postJson, startServe, waitForOutput, type ServeProcess } from './helpers/serve-process';

const MODULE = fixture('observed.ts');
const ENGINE_PORTS = ['--engine-http-port', '0', '--engine-grpc-port=-1', '--engine-metrics-port', '0'];
const ROW = [0.5, -1, 2, 0.25, 1, 0, -0.5, 3];

let repository: string;
const agent = new Agent();

beforeAll(async () => {
  repository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-frontend-metrics-'));
  await makeTestRepository(repository);
});

afterAll(async () => {
  await agent.close();
  await rm(repository, { recursive: true, force: true });
});

function metricsUrl(serve: ServeProcess): string {
  const match = /metrics on (http:\/\/\S+\/metrics)/.exec(serve.output());
  if (match === null) throw new Error(`no metrics line in:\n${serve.output()}`);
  return match[1]!;
}

async function scrape(serve: ServeProcess): Promise<Map<string, ParsedFamily>> {
  const res = await request(metricsUrl(serve), { dispatcher: agent });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  // parsePrometheus throws on a family declared twice or a sample outside its family.
  return parsePrometheus(await res.body.text());
}

const requestsWith = (families: Map<string, ParsedFamily>, code: number): number => {
  const family = families.get('scoreline_score_requests_total');
  return family?.samples.find((s) => s.labels.code === String(code))?.value ?? 0;
};

describe('one scrape of serve with two workers and the embedded engine', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', MODULE, '--model-repository', repository, '--worker-count', '2', '--max-concurrency', '1', '--engine-metrics-config', 'summary_latencies=true', ...ENGINE_PORTS], { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    expect(await serve?.stop()).toEqual({ code: 0, signal: null });
  });

  it("adds up both workers' /score counts and durations, and carries the engine's families", async () => {
    const before = await scrape(serve);
    expect(requestsWith(before, 200)).toBe(0);
    // Enough connections that both workers serve some (the kernel spreads them).
    const replies = await Promise.all(Array.from({ length: 12 }, () => postJson(new Agent({ connections: 1 }), `${serve.url}/score`, { row: ROW })));
    const served = replies.filter((r) => r.status === 200).length;
    const refused = replies.filter((r) => r.status === 429).length;
    expect(served + refused).toBe(12);
    expect(served).toBeGreaterThan(0);
    const bad = await postJson(agent, `${serve.url}/score`, 'not an object', {});
    expect(bad.status).toBeGreaterThanOrEqual(400);

    const after = await scrape(serve);
    expect(requestsWith(after, 200)).toBe(served);
    expect(requestsWith(after, 429)).toBe(refused);
    expect(valueOf(after, 'scoreline_score_rejected_total', { reason: 'concurrency_limit' })).toBe(refused);
    expect(requestsWith(after, bad.status)).toBe(1);
    const answered = served + refused + 1;
    expect(sampleValue(after, 'scoreline_score_request_duration_seconds', 'scoreline_score_request_duration_seconds_count')).toBe(answered);
    expect(sampleValue(after, 'scoreline_score_request_duration_seconds', 'scoreline_score_request_duration_seconds_bucket', { le: '+Inf' })).toBe(answered);
    // run() ran for the served ones and for the refused input only if it got that far: at least the served.
    expect(sampleValue(after, 'scoreline_run_duration_seconds', 'scoreline_run_duration_seconds_count')).toBeGreaterThanOrEqual(served);
    expect(valueOf(after, 'scoreline_score_requests_in_flight')).toBe(0);
    // The engine's part of the same scrape: the served rows reached the mlp model.
    expect(valueOf(after, 'nv_inference_request_success', { model: 'mlp' })).toBe(served);
    // --engine-metrics-config reached the engine: Triton's latency summaries are on.
    expect(sampleValue(after, 'nv_inference_request_summary_us', 'nv_inference_request_summary_us_count', { model: 'mlp' })).toBe(served);
    for (const family of ['scoreline_score_requests_total', 'scoreline_worker_restarts_total', 'nv_inference_count']) expect(after.has(family)).toBe(true);
  }, 60_000);

  it('counts a run() past its deadline as a timeout and a client that leaves as cancelled', async () => {
    const before = await scrape(serve);
    const timedOut = await postJson(agent, `${serve.url}/score`, { sleepMs: 5_000 }, { 'x-scoreline-timeout-ms': '200' });
    expect(timedOut.status).toBe(500);
    const leaving = new AbortController();
    const abandoned = request(`${serve.url}/score`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sleepMs: 5_000 }),
      signal: leaving.signal,
    }).catch(() => undefined);
    // The request must be in a worker before the client leaves.
    await waitUntil(async () => valueOf(await scrape(serve), 'scoreline_score_requests_in_flight') === 1);
    leaving.abort();
    await abandoned;
    await waitUntil(async () => requestsWith(await scrape(serve), 499) === requestsWith(before, 499) + 1);
    const after = await scrape(serve);
    expect(valueOf(after, 'scoreline_score_timeouts_total') - valueOf(before, 'scoreline_score_timeouts_total')).toBe(1);
    expect(valueOf(after, 'scoreline_score_cancelled_total') - valueOf(before, 'scoreline_score_cancelled_total')).toBe(1);
  }, 60_000);

  it('counts a worker that died and was started again', async () => {
    const { pid } = (await postJson(agent, `${serve.url}/score`, { pid: true })).json() as { pid: number };
    process.kill(pid, 'SIGKILL');
    await waitForOutput(serve, (output) => /died \(signal SIGKILL\); starting a new one/.test(output), 30_000);
    await waitUntil(async () => valueOf(await scrape(serve), 'scoreline_worker_restarts_total') === 1);
  }, 60_000);
});

describe('workers replaced at --max-requests-per-worker', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', MODULE, '--model-repository', repository, '--worker-count', '1', '--max-requests-per-worker', '4', ...ENGINE_PORTS], { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    expect(await serve?.stop()).toEqual({ code: 0, signal: null });
  });

  it('hand their counts to the primary: the totals never step back', async () => {
    for (let i = 0; i < 10; i++) expect((await postJson(agent, `${serve.url}/score`, { row: ROW })).status).toBe(200);
    // The first worker (whose kept-alive connection may have carried all ten) is gone by now:
    // what it counted is the primary's to keep.
    await waitForOutput(serve, (output) => /worker 1 replaced/.test(output), 30_000);
    const families = await scrape(serve);
    expect(requestsWith(families, 200)).toBe(10);
    expect(valueOf(families, 'scoreline_worker_restarts_total')).toBe(0);
  }, 60_000);
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
