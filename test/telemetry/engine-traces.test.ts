/**
 * The engine's traces from the outside: `scoreline engine` in a child process configured by
 * OTEL_* variables only, a local OTLP/HTTP receiver (http/json, decoded in full), KServe v2
 * requests over HTTP and gRPC carrying a W3C traceparent. Also: Triton's trace extension
 * turning a model's spans off, and an endpoint that refuses connections not failing requests.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Metadata, credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadInferencePackageDefinition } from '../../src/util/proto-files';
import { makeTestRepository } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';
import { Collector, FlatSpan, startCollector } from './helpers/collector';

 

function engineWith(repo: string, env: Record<string, string>): Promise<RunningEngine> {
  return startEngine({ modelRepository: repo, env });
}

const randomHex = (bytes: number): string => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

function addSubBody(id?: string): object {
  const a = Array.from({ length: 16 }, (_, i) => i);
  return {
    ...(id === undefined ? {} : { id }),
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: a },
    ],
  };
}

function inferHttp(engine: RunningEngine, model: string, body: object, traceparent?: string): Promise<Response> {
  return fetch(`${engine.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(traceparent ? { traceparent } : {}) },
  });
}

let repo: string;
let collector: Collector;
let engine: RunningEngine;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-traces-'));
  await makeTestRepository(repo);
  collector = await startCollector();
  engine = await engineWith(repo, {
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'traces-test-engine',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
}, 90_000);

afterAll(async () => {
  const code = await engine?.stop();
  await collector?.close();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

const spansOf = (traceId: string): FlatSpan[] => collector.spans().filter((s) => s.traceId === traceId);

describe('engine spans over HTTP', () => {
  it('continues the caller trace: a SERVER span with queue and compute children', async () => {
    const traceId = randomHex(16);
    const parentId = randomHex(8);
    const res = await inferHttp(engine, 'add_sub', addSubBody('req-7'), `00-${traceId}-${parentId}-01`);
    expect(res.status).toBe(200);
    await res.json();
    await collector.waitFor(() => spansOf(traceId).length >= 3);
    const spans = spansOf(traceId);
    const server = spans.find((s) => s.kind === 2)!;
    expect(server).toMatchObject({
      serviceName: 'traces-test-engine',
      name: 'POST /v2/models/{model}/infer',
      parentSpanId: parentId,
    });
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v2/models/{model}/infer',
      'http.response.status_code': 200,
      'scoreline.model.name': 'add_sub',
      'scoreline.model.version': '1',
      'scoreline.request_id': 'req-7',
    });
    const queue = spans.find((s) => s.name === 'queue')!;
    const compute = spans.find((s) => s.name === 'compute')!;
    expect(queue.parentSpanId).toBe(server.spanId);
    expect(compute.parentSpanId).toBe(server.spanId);
    const batchSize = compute.attributes['scoreline.batch_size'] as number;
    expect(batchSize).toBeGreaterThanOrEqual(1);
    expect(compute.attributes['scoreline.compute.infer_ns']).toBeGreaterThan(0);
    // Children inside their parent, the queue before the compute.
    expect(queue.startNs).toBeGreaterThanOrEqual(server.startNs);
    expect(queue.endNs).toBeLessThanOrEqual(compute.endNs);
    expect(compute.startNs).toBeGreaterThanOrEqual(queue.endNs);
    expect(compute.endNs).toBeLessThanOrEqual(server.endNs);
  });

  it('gives each request of a batch the size of the batch it ran in', async () => {
    const traceIds = Array.from({ length: 8 }, () => randomHex(16));
    const answers = await Promise.all(traceIds.map((t) => inferHttp(engine, 'add_sub', addSubBody(), `00-${t}-${randomHex(8)}-01`)));
    for (const a of answers) expect(a.status).toBe(200);
    await collector.waitFor(() => traceIds.every((t) => spansOf(t).some((s) => s.name === 'compute')));
    const stats = (await (await fetch(`${engine.url}/v2/models/add_sub/stats`)).json()) as any;
    const executed = new Set<number>(stats.model_stats[0].batch_stats.map((b: any) => b.batch_size));
    for (const t of traceIds) {
      const size = spansOf(t).find((s) => s.name === 'compute')!.attributes['scoreline.batch_size'] as number;
      expect(executed.has(size)).toBe(true);
    }
  });

  it('marks a failed request ERROR with its status', async () => {
    const traceId = randomHex(16);
    const res = await inferHttp(engine, 'add_sub', { inputs: [] }, `00-${traceId}-${randomHex(8)}-01`);
    expect(res.status).toBe(400);
    await collector.waitFor(() => spansOf(traceId).length >= 1);
    const server = spansOf(traceId)[0]!;
    expect(server.status.code).toBe(2);
    expect(server.attributes['http.response.status_code']).toBe(400);
  });
});

describe('engine spans over gRPC', () => {
  it('continues the traceparent of ModelInfer metadata', async () => {
    const pkg = loadPackageDefinition(loadInferencePackageDefinition({ keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true }));
    const Service = (pkg.inference as GrpcObject).GRPCInferenceService as ServiceClientConstructor;
    const client = new Service(engine.grpcUrl!, credentials.createInsecure());
    const traceId = randomHex(16);
    const parentId = randomHex(8);
    const metadata = new Metadata();
    metadata.set('traceparent', `00-${traceId}-${parentId}-01`);
    const raw = Buffer.from(Int32Array.from({ length: 16 }, (_, i) => i).buffer);
    await new Promise((resolve, reject) =>
      (client as any).ModelInfer(
        {
          model_name: 'add_sub',
          id: 'grpc-1',
          inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16] })),
          raw_input_contents: [raw, raw],
        },
        metadata,
        (err: ServiceError | null, response: unknown) => (err ? reject(err) : resolve(response)),
      ),
    );
    client.close();
    await collector.waitFor(() => spansOf(traceId).length >= 3);
    const server = spansOf(traceId).find((s) => s.kind === 2)!;
    expect(server.name).toBe('inference.GRPCInferenceService/ModelInfer');
    expect(server.parentSpanId).toBe(parentId);
    expect(server.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.method': 'ModelInfer',
      'rpc.grpc.status_code': 0,
      'scoreline.model.name': 'add_sub',
      'scoreline.request_id': 'grpc-1',
    });
    expect(spansOf(traceId).map((s) => s.name).sort()).toEqual(['compute', 'inference.GRPCInferenceService/ModelInfer', 'queue']);
  });
});

describe("Triton's trace extension", () => {
  it('reads the settings, and trace_level OFF for a model stops its spans', async () => {
    const global = (await (await fetch(`${engine.url}/v2/trace/setting`)).json()) as any;
    expect(global).toEqual({ trace_level: ['TIMESTAMPS'], trace_rate: '1', trace_count: '-1', log_frequency: '0', trace_file: '', trace_mode: 'opentelemetry' });
    const meta = (await (await fetch(`${engine.url}/v2`)).json()) as any;
    expect(meta.extensions).toContain('trace');

    const off = await fetch(`${engine.url}/v2/models/add_sub/trace/setting`, { method: 'POST', body: JSON.stringify({ trace_level: ['OFF'] }) });
    expect(await off.json()).toMatchObject({ trace_level: ['OFF'] });
    const silent = randomHex(16);
    expect((await inferHttp(engine, 'add_sub', addSubBody(), `00-${silent}-${randomHex(8)}-01`)).status).toBe(200);
    // Spans are exported in the order they end: once a later one has arrived, an earlier one would have too.
    const later = randomHex(16);
    expect((await inferHttp(engine, 'mlp', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }] }, `00-${later}-${randomHex(8)}-01`)).status).toBe(200);
    await collector.waitFor(() => spansOf(later).length >= 3);
    expect(spansOf(silent)).toEqual([]);

    // An empty body removes the model's own settings: back to the global level.
    const reset = await fetch(`${engine.url}/v2/models/add_sub/trace/setting`, { method: 'POST', body: '{}' });
    expect(await reset.json()).toMatchObject({ trace_level: ['TIMESTAMPS'] });
  });

  it('refuses settings that make no sense here, naming the field', async () => {
    for (const [body, field] of [
      [{ trace_level: ['TENSORS'] }, 'trace_level'],
      [{ trace_file: '/tmp/trace.json' }, 'trace_file'],
      [{ trace_mode: 'triton' }, 'trace_mode'],
      [{ trace_rate: '0' }, 'trace_rate'],
      [{ log_frequency: '10' }, 'log_frequency'],
    ] as const) {
      const res = await fetch(`${engine.url}/v2/trace/setting`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error).toContain(field);
    }
  });
});

describe('an OTLP endpoint that refuses connections', () => {
  it('leaves requests succeeding, and logs the failure without a line per span', async () => {
    // A port that was just free: nothing listens there.
    const closed = await startCollector();
    const deadUrl = closed.url;
    await closed.close();
    const dead = await engineWith(repo, {
      OTEL_EXPORTER_OTLP_ENDPOINT: deadUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '20',
      // The exporter retries until its timeout: a short one makes the failure show soon.
      OTEL_EXPORTER_OTLP_TIMEOUT: '500',
    });
    try {
      const started = Date.now();
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => inferHttp(dead, 'add_sub', addSubBody(), `00-${randomHex(16)}-${randomHex(8)}-01`)),
        );
        for (const a of answers) {
          expect(a.status).toBe(200);
          await a.json();
        }
      }
      // Generous sanity only: 100 small requests, whatever the exporter is doing.
      expect(Date.now() - started).toBeLessThan(30_000);
      const failures = (): string[] => dead.output().split('\n').filter((l) => l.includes('trace export to'));
      for (let waited = 0; failures().length === 0 && waited < 15_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      expect(failures().length).toBeGreaterThanOrEqual(1);
      expect(failures()[0]).toContain('spans dropped so far');
      // One line per minute at most, however many batches failed.
      expect(failures().length).toBe(1);
    } finally {
      expect(await dead.stop()).toBe(0);
    }
  }, 60_000);
});
