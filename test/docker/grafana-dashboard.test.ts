/**
 * docker/grafana's dashboard names only metrics that exist: every PromQL expression in it
 * (panels and the model variable) is parsed, and each metric it selects is checked against
 * what real servers export: `scoreline engine` from dist with --metrics-config
 * summary_latencies=true after inferences, and `scoreline serve` on the test repository after
 * a /score request (one scrape of its metrics port: front end and engine together). Also
 * the provisioning and compose wiring the dashboard relies on.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { parse as parseYaml } from 'yaml';
import { ClusterMetrics } from '../../src/frontend/metrics/cluster-metrics';
import { ScoreMetrics } from '../../src/frontend/metrics/score-metrics';
import { ParsedFamily, parsePrometheus } from '../engine/metrics/parse-prometheus';
import { makeTestRepository } from '../fixtures/test-repository';
import { PACKAGE_ROOT, RunningEngine, startEngine } from '../helpers/start-engine';
import { freePort, postJson, startServe, type ServeProcess } from '../frontend/helpers/serve-process';
import { Selector, promqlSelectors } from './promql';

type Families = Map<string, ParsedFamily>;

const DOCKER = path.join(PACKAGE_ROOT, 'docker');
const DASHBOARD = path.join(DOCKER, 'grafana', 'dashboards', 'scoreline.json');

interface Query {
  where: string;
  expr: string;
}

interface DashboardPanel {
  title?: string;
  type: string;
  datasource?: { uid?: string };
  targets?: Array<{ expr?: string; datasource?: { uid?: string } }>;
  panels?: DashboardPanel[];
}

let dashboard: { panels: DashboardPanel[]; templating: { list: Array<{ name: string; query: { query: string } | string }> } };
let queries: Query[];
let repo: string;
let engine: RunningEngine;
let serve: ServeProcess;
let serveMetricsPort: number;
const agent = new Agent();

function allPanels(panels: DashboardPanel[]): DashboardPanel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** `label_values(metric, label)`: Grafana's variable query, its metric and label. */
function labelValues(query: string): { metric: string; label: string } {
  const m = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(query);
  if (!m) throw new Error(`not a label_values(metric, label) query: ${query}`);
  return { metric: m[1]!, label: m[2]! };
}

/**
 * The family a selected name belongs to in `families`, and the sample name it selects:
 * x_bucket only of a histogram, x_sum / x_count of a histogram or summary, a bare name of
 * anything but a histogram (which has no series under its own name).
 */
function resolve(name: string, families: Families): { family: ParsedFamily; sample: string } | undefined {
  const own = families.get(name);
  if (own && own.type !== 'histogram') return { family: own, sample: name };
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (base && (base.type === 'histogram' || (base.type === 'summary' && suffix !== '_bucket'))) return { family: base, sample: name };
  }
  return undefined;
}

/** Each selector that `families` cannot answer: a missing metric, or a matcher on a label its samples lack. */
function unanswered(selectors: Selector[], families: Families): string[] {
  const problems: string[] = [];
  for (const s of selectors) {
    const hit = s.metric === undefined ? undefined : resolve(s.metric, families);
    if (!hit) {
      problems.push(`${s.metric ?? '(no metric name)'}: not exported`);
      continue;
    }
    const samples = hit.family.samples.filter((x) => x.name === hit.sample);
    for (const m of s.matchers) {
      if (m.label === '__name__') continue;
      if (!samples.some((x) => m.label in x.labels)) problems.push(`${s.metric}: no label '${m.label}'`);
    }
  }
  return problems;
}

const isFrontEnd = (name: string): boolean => name.startsWith('scoreline_') && !name.startsWith('scoreline_inference_');

async function scrape(url: string): Promise<Families> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parsePrometheus(await res.text());
}

beforeAll(async () => {
  dashboard = JSON.parse(await fs.readFile(DASHBOARD, 'utf8'));
  queries = allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).filter((t) => t.expr !== undefined).map((t) => ({ where: `panel '${p.title}'`, expr: t.expr! })));
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-dashboard-'));
  await makeTestRepository(repo);
  serveMetricsPort = await freePort();
  [engine, serve] = await Promise.all([
    startEngine({ modelRepository: repo, args: ['--metrics-config', 'summary_latencies=true'] }),
    startServe(['--model-repository', repo, '--worker-count', '1', '--engine-http-port', '0', '--engine-grpc-port', '0', '--engine-metrics-port', String(serveMetricsPort)], {
      timeoutMs: 90_000,
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await agent.close();
  const [engineCode, serveExit] = await Promise.all([engine?.stop(), serve?.stop()]);
  await fs.rm(repo, { recursive: true, force: true });
  expect(engineCode).toBe(0);
  expect(serveExit).toEqual({ code: 0, signal: null });
});

describe('docker/grafana/dashboards/scoreline.json', () => {
  it('has queries, each of which parses as PromQL and selects at least one metric', () => {
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) expect([q.where, promqlSelectors(q.expr).length > 0]).toEqual([q.where, true]);
  });

  it('names, in every query and the model variable, only what an engine with summaries on exports (after one inference per model kind)', async () => {
    const body = (data: number[]) => JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [data.length], data }] });
    const res = await fetch(`${engine.url}/v2/models/fixed/infer`, { method: 'POST', body: body([1, 2, 3, 4]), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const families = await scrape(engine.metricsUrl!);
    const problems = queries.flatMap((q) =>
      unanswered(
        promqlSelectors(q.expr).filter((s) => s.metric === undefined || !isFrontEnd(s.metric)),
        families,
      ).map((p) => `${q.where}: ${p}`),
    );
    for (const v of dashboard.templating.list) {
      const query = typeof v.query === 'string' ? v.query : v.query.query;
      const { metric, label } = labelValues(query);
      problems.push(...unanswered([{ metric, matchers: [{ label, op: '=~', value: '.*' }] }], families).map((p) => `variable '${v.name}': ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it("names only front-end metrics that src/frontend/metrics registers (ScoreMetrics, ClusterMetrics)", async () => {
    const worker = new ScoreMetrics();
    const text = await new ClusterMetrics().scrape([async () => worker.registry.getMetricsAsJSON()]);
    const families = parsePrometheus(text);
    const frontEnd = queries.flatMap((q) => promqlSelectors(q.expr).filter((s) => s.metric !== undefined && isFrontEnd(s.metric)).map((s) => ({ q, s })));
    expect(frontEnd.length).toBeGreaterThan(5);
    expect(frontEnd.flatMap(({ q, s }) => unanswered([s], families).map((p) => `${q.where}: ${p}`))).toEqual([]);
  });

  it("finds every metric it names, but the engine's opt-in summaries, in one scrape of a real serve's metrics port after a /score request", async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { model: 'mlp', data: [[0.5, -1, 2, 0.25, 1, 0, -0.5, 3]] });
    expect(reply.status).toBe(200);
    const families = await scrape(`http://127.0.0.1:${serveMetricsPort}/metrics`);
    const problems = queries.flatMap((q) =>
      unanswered(
        promqlSelectors(q.expr).filter((s) => !s.metric?.includes('_summary_')),
        families,
      ).map((p) => `${q.where}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it('uses only the provisioned datasource uid, which points at the compose file\'s Prometheus', async () => {
    const provisioned = parseYaml(await fs.readFile(path.join(DOCKER, 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'), 'utf8'));
    const [ds] = provisioned.datasources;
    expect(ds).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const uids = new Set(allPanels(dashboard.panels).flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource?.uid)]).filter((u) => u !== undefined));
    expect([...uids]).toEqual([ds.uid]);
  });
});

describe('docker/compose.yaml and docker/prometheus.yml', () => {
  it('run prometheus and grafana only in the observability profile, with the dashboard and provisioning mounted, scraping scoreline:8002', async () => {
    const compose = parseYaml(await fs.readFile(path.join(DOCKER, 'compose.yaml'), 'utf8'));
    expect(compose.services.scoreline.profiles).toBeUndefined();
    for (const name of ['prometheus', 'grafana']) expect(compose.services[name].profiles).toEqual(['observability']);
    expect(compose.services.prometheus.volumes).toContain('./prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(compose.services.grafana.volumes).toEqual(['./grafana/provisioning:/etc/grafana/provisioning:ro', './grafana/dashboards:/var/lib/grafana/dashboards:ro']);
    const provider = parseYaml(await fs.readFile(path.join(DOCKER, 'grafana', 'provisioning', 'dashboards', 'scoreline.yaml'), 'utf8'));
    expect(provider.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
    const prometheus = parseYaml(await fs.readFile(path.join(DOCKER, 'prometheus.yml'), 'utf8'));
    expect(prometheus.scrape_configs[0].static_configs[0].targets).toEqual(['scoreline:8002']);
    // The scrape reaches serve's metrics port only if it listens beyond the container's loopback.
    expect(compose.services.scoreline.environment.SCORELINE_ENGINE_HOST).toBe('0.0.0.0');
  });
});
