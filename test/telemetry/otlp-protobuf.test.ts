/**
 * OTLP over http/protobuf from a real engine process: posted to the traces endpoint as
 * given, as application/x-protobuf, with OTEL_EXPORTER_OTLP_HEADERS, carrying the service
 * name, the span name and the caller's trace id (protobuf keeps strings as their UTF-8
 * bytes and ids as raw bytes, so they can be found in the body without decoding it; the
 * http/json path is decoded in full in engine-traces.test.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestRepository } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';
import { Collector, startCollector } from './helpers/collector';

const randomHex = (bytes: number): string => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

let repo: string;
let collector: Collector;
let engine: RunningEngine;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-otlp-proto-'));
  await makeTestRepository(repo);
  collector = await startCollector();
  engine = await startEngine({
    modelRepository: repo,
    env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cret%21',
      OTEL_SERVICE_NAME: 'proto-service',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  });
}, 90_000);

afterAll(async () => {
  const code = await engine?.stop();
  await collector?.close();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

it('posts protobuf spans with the service name and the configured headers', async () => {
  const traceId = randomHex(16);
  const res = await fetch(`${engine.url}/v2/models/mlp/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomHex(8)}-01` },
    body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 8], data: [1, 2, 3, 4, 5, 6, 7, 8] }] }),
  });
  expect(res.status).toBe(200);
  const idBytes = Buffer.from(traceId, 'hex');
  await collector.waitFor(() => collector.received.some((r) => r.body.includes(idBytes)));
  const post = collector.received.find((r) => r.body.includes(idBytes))!;
  expect(post.path).toBe('/custom/traces');
  expect(post.headers['content-type']).toBe('application/x-protobuf');
  expect(post.headers['x-api-key']).toBe('s3cret!');
  expect(post.body.includes('proto-service')).toBe(true);
  expect(post.body.includes('POST /v2/models/{model}/infer')).toBe(true);
}, 60_000);
