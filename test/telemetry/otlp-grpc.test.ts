/**
 * OTLP over grpc from a real engine process: the exporter calls the collector's
 * TraceService/Export at OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_HEADERS as
 * metadata. The local collector is a grpc-js server taking the message as raw bytes (an
 * empty reply is a valid ExportTraceServiceResponse); the service name and the caller's
 * trace id are found in the protobuf bytes without decoding them.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Server, ServerCredentials, type Metadata, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { makeTestRepository } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';

const randomHex = (bytes: number): string => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
const raw = (b: Buffer): Buffer => b;

let repo: string;
let server: Server;
let engine: RunningEngine;
const received: Array<{ body: Buffer; metadata: Metadata }> = [];

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-otlp-grpc-'));
  await makeTestRepository(repo);
  server = new Server();
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        received.push({ body: call.request, metadata: call.metadata });
        callback(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  engine = await startEngine({
    modelRepository: repo,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=t1',
      OTEL_SERVICE_NAME: 'grpc-service',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  });
}, 90_000);

afterAll(async () => {
  const code = await engine?.stop();
  server?.forceShutdown();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

it('exports spans to the collector over gRPC with the configured metadata', async () => {
  const traceId = randomHex(16);
  const res = await fetch(`${engine.url}/v2/models/mlp/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomHex(8)}-01` },
    body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }] }),
  });
  expect(res.status).toBe(200);
  const idBytes = Buffer.from(traceId, 'hex');
  for (let waited = 0; !received.some((e) => e.body.includes(idBytes)) && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  const exported = received.find((e) => e.body.includes(idBytes))!;
  expect(exported).toBeDefined();
  expect(exported.body.includes('grpc-service')).toBe(true);
  expect(exported.body.includes('compute')).toBe(true);
  expect(exported.metadata.get('x-tenant')).toEqual(['t1']);
}, 60_000);
