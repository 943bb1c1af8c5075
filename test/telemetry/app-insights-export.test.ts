/**
 * AzureML's App Insights settings end to end: `scoreline engine` with a connection string
 * whose IngestionEndpoint is a local HTTP server (no Azure is reachable), an infer request
 * carrying a traceparent, and what Microsoft's exporter delivers: the request's spans as
 * Request / RemoteDependency envelopes under the caller's operation id, and its request log
 * record as a Message envelope in the same operation. The exporter speaks HTTPS only (it
 * rewrites http:// endpoints), so the server has a throw-away certificate for 127.0.0.1
 * that the engine trusts through NODE_EXTRA_CA_CERTS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestRepository } from '../fixtures/test-repository';
import { RunningEngine, startEngine } from '../helpers/start-engine';
import { Collector, startCollector } from './helpers/collector';

 

const KEY = '11111111-2222-4333-8444-555555555555';
const randomHex = (bytes: number): string => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

let repo: string;
let collector: Collector;
let engine: RunningEngine;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-appinsights-'));
  await makeTestRepository(repo);
  const key = path.join(repo, 'key.pem');
  const cert = path.join(repo, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  collector = await startCollector({ tls: { key: await fs.readFile(key), cert: await fs.readFile(cert) } });
  engine = await startEngine({
    modelRepository: repo,
    env: {
      AML_APP_INSIGHTS_ENABLED: 'true',
      APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${KEY};IngestionEndpoint=${collector.url}/`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'appinsights-engine',
      NODE_EXTRA_CA_CERTS: cert,
      // The exporter's own usage statistics go to Microsoft's endpoints, unreachable here.
      APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
      APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
      APPLICATIONINSIGHTS_SDKSTATS_DISABLED: 'true',
    },
  });
}, 90_000);

afterAll(async () => {
  const code = await engine?.stop();
  await collector?.close();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
});

it('delivers the spans and the request log of an infer request to the ingestion endpoint', async () => {
  const traceId = randomHex(16);
  const a = Array.from({ length: 16 }, (_, i) => i);
  const res = await fetch(`${engine.url}/v2/models/add_sub/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${randomHex(8)}-01` },
    body: JSON.stringify({ id: 'ai-1', inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32', shape: [1, 16], data: a })) }),
  });
  expect(res.status).toBe(200);
  const ofTrace = (): any[] => collector.envelopes().filter((e) => e.tags?.['ai.operation.id'] === traceId);
  await collector.waitFor(() => ofTrace().length >= 4);
  const envelopes = ofTrace();
  for (const e of envelopes) expect(e.iKey).toBe(KEY);
  const request = envelopes.find((e) => e.data.baseType === 'RequestData')!;
  expect(request.data.baseData.name).toBe('POST /v2/models/{model}/infer');
  expect(request.data.baseData.properties).toMatchObject({ 'scoreline.model.name': 'add_sub', 'scoreline.request_id': 'ai-1' });
  expect(request.tags['ai.cloud.role']).toBe('appinsights-engine');
  const dependencies = envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData').map((e) => e.data.baseData.name).sort();
  expect(dependencies).toEqual(['compute', 'queue']);
  const log = envelopes.find((e) => e.data.baseType === 'MessageData')!;
  expect(log.data.baseData.message).toBe('POST /v2/models/{model}/infer 200');
  expect(log.data.baseData.properties).toMatchObject({ 'scoreline.model.name': 'add_sub', 'scoreline.request_id': 'ai-1' });
  expect(Number(log.data.baseData.properties['scoreline.duration_ms'])).toBeGreaterThan(0);
}, 60_000);
