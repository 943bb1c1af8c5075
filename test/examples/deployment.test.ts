/**
 * Deployment files, checked against the server they deploy. No Docker engine or cluster
 * runs here, so: the manifests and the compose file parse; every port, probe and variable
 * they name is one `scoreline serve` really has; the Dockerfile builds with CI's commands;
 * and the image's start command, with the image's environment, starts a server that its
 * HEALTHCHECK and the Kubernetes probes find healthy, and that drains on SIGTERM in time.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { parseAllDocuments } from 'yaml';
import { SERVE_OPTION_SPECS, resolveServeOptions } from '../../src/frontend/serve-options';
import { startEngine } from '../helpers/start-engine';
import { call, freePort, PACKAGE_ROOT as ROOT } from '../frontend/helpers/serve-process';
import { envOf, execForm, parseDockerfile, type Instruction } from './helpers/dockerfile';
import { exampleRepository, type TemporaryRepository } from './helpers/example-repository';

const DOCKER = join(ROOT, 'docker');
const KUBERNETES = join(DOCKER, 'kubernetes');
/** What the primary adds to the grace period: 5 s for workers to exit, 10 s for the engine to stop. */
const DRAIN_MARGINS_S = 15;
const SERVE_ENV = new Set<string>(Object.values(SERVE_OPTION_SPECS).map((spec) => spec.env));
/** Set by the images for Node itself and for onnxruntime-node's install, not for scoreline serve. */
const OTHER_ENV = new Set(['NODE_ENV', 'ONNXRUNTIME_NODE_INSTALL']);
const README = readFileSync(join(ROOT, 'examples', 'README.md'), 'utf8');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function loadYaml(path: string): any[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  for (const doc of docs) if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
  return docs.map((doc) => doc.toJS());
}

/** Paths the image lays out under /app are the repository's paths here. */
function onThisMachine(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.startsWith('/app/') ? join(ROOT, v.slice('/app/'.length)) : v]));
}

const deployment = loadYaml(join(KUBERNETES, 'deployment.yaml'))[0];
const pod = deployment.spec.template;
const container = pod.spec.containers[0];
const plainEnv: Record<string, string> = Object.fromEntries(container.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
const portNamed = (name: string): number => container.ports.find((p: any) => p.name === name).containerPort;

describe('the YAML files under docker/', () => {
  it.each(yamlFiles(DOCKER).map((f) => [f.slice(ROOT.length + 1), f]))('%s parses', (_, file) => {
    expect(loadYaml(file).length).toBeGreaterThan(0);
  });

  it.each([['docker/kubernetes', KUBERNETES], ['docker/kubernetes/gpu', join(KUBERNETES, 'gpu')]])('%s/kustomization.yaml lists files that exist', (_, dir) => {
    const kustomization = loadYaml(join(dir, 'kustomization.yaml'))[0];
    for (const resource of kustomization.resources) expect(existsSync(join(dir, resource))).toBe(true);
    for (const patch of kustomization.patches ?? []) expect(existsSync(join(dir, patch.path))).toBe(true);
  });
});

describe('the Kubernetes Deployment', () => {
  it('sets only variables scoreline serve reads, with values it accepts', () => {
    for (const { name } of container.env) expect(SERVE_ENV.has(name) || OTHER_ENV.has(name) ? name : `unknown: ${name}`).toBe(name);
    const resolved = resolveServeOptions([], onThisMachine(plainEnv), ROOT);
    expect(resolved.help).toBe(false);
  });

  it('exposes the port the server listens on, and the engine\'s metrics port with Prometheus annotations', () => {
    const resolved = resolveServeOptions([], onThisMachine(plainEnv), ROOT);
    if (resolved.help) throw new Error('unexpected help');
    expect(portNamed('http')).toBe(resolved.options.port);
    expect(portNamed('metrics')).toBe(resolved.options.engineMetricsPort);
    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(resolved.options.engineMetricsPort), 'prometheus.io/path': '/metrics' });
  });

  it('probes liveness on / and readiness on /ready at the http port, and asks for resources', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('gives the pod time for the preStop pause and the front end\'s whole drain', () => {
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    const graceS = Number(plainEnv.SCORELINE_GRACE_PERIOD_MS) / 1000;
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + graceS + DRAIN_MARGINS_S);
  });
});

describe('the Service, autoscaler and disruption budget', () => {
  const labels = pod.metadata.labels;

  it('routes the Service to the container\'s http port on the Deployment\'s pods', () => {
    const service = loadYaml(join(KUBERNETES, 'service.yaml'))[0];
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(labels).toMatchObject(service.spec.selector);
  });

  it('scales the Deployment on CPU, and its queue-depth option names a metric the engine serves', async () => {
    const hpa = loadYaml(join(KUBERNETES, 'hpa.yaml'))[0];
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics[0].resource).toMatchObject({ name: 'cpu', target: { type: 'Utilization' } });
    const commented = /name: (nv_\w+)/.exec(readFileSync(join(KUBERNETES, 'hpa.yaml'), 'utf8'))![1]!;

    const repository = await exampleRepository(['iris']);
    const engine = await startEngine({ modelRepository: repository.dir, args: ['--grpc-port', '0'] });
    try {
      const agent = new Agent();
      const metrics = (await call(agent, engine.metricsUrl!)).text;
      await agent.close();
      expect(metrics).toMatch(new RegExp(`^${commented}\\{`, 'm'));
    } finally {
      await engine.stop();
      await repository.remove();
    }
  });

  it('keeps a pod of the Deployment up through voluntary disruptions', () => {
    const pdb = loadYaml(join(KUBERNETES, 'pdb.yaml'))[0];
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
  });

  it('puts the GPU variant on GPU nodes with one GPU per pod', () => {
    const patch = loadYaml(join(KUBERNETES, 'gpu', 'deployment-gpu.yaml'))[0];
    const gpuContainer = patch.spec.template.spec.containers[0];
    expect(gpuContainer.name).toBe(container.name);
    expect(gpuContainer.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(patch.spec.template.spec.tolerations[0].key).toBe('nvidia.com/gpu');
    expect(loadYaml(join(KUBERNETES, 'gpu', 'kustomization.yaml'))[0].images[0]).toMatchObject({ name: 'scoreline', newTag: expect.stringMatching(/-gpu$/) });
  });
});

describe('the compose file', () => {
  const compose = loadYaml(join(DOCKER, 'compose.yaml'))[0];
  // Prometheus and Grafana (profile observability) are other projects' images: test/docker checks them.
  const scorelineServices = Object.keys(compose.services).filter((name) => !(compose.services[name].profiles ?? []).includes('observability'));

  it('has the scoreline services, and only observability tools besides', () => {
    expect(scorelineServices).toEqual(expect.arrayContaining(['scoreline', 'scoreline-gpu']));
    expect(Object.keys(compose.services).filter((name) => !scorelineServices.includes(name)).sort()).toEqual(['grafana', 'prometheus']);
  });

  it.each(scorelineServices)('service %s builds a Dockerfile here and sets variables the server reads', (name) => {
    const service = compose.services[name];
    expect(existsSync(join(DOCKER, service.build.context, service.build.dockerfile))).toBe(true);
    expect(service.ports).toContain('5001:5001');
    for (const key of Object.keys(service.environment)) expect(SERVE_ENV.has(key) ? key : `unknown: ${key}`).toBe(key);
    expect(resolveServeOptions([], onThisMachine(service.environment), ROOT).help).toBe(false);
    expect(parseInt(service.stop_grace_period, 10)).toBeGreaterThanOrEqual(pod.spec.terminationGracePeriodSeconds);
  });

  it('reserves an NVIDIA GPU for the GPU service', () => {
    expect(compose.services['scoreline-gpu'].deploy.resources.reservations.devices[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
  });
});

describe.each([
  ['Dockerfile', 'docker/Dockerfile'],
  ['Dockerfile.gpu', 'docker/Dockerfile.gpu'],
])('docker/%s', (name, relative) => {
  const instructions = parseDockerfile(readFileSync(join(ROOT, relative), 'utf8'));
  const runtime = (keyword: string): Instruction[] => instructions.filter((i) => i.stage === 'runtime' && i.keyword === keyword);

  it('builds in a build stage with the commands CI runs, and runs from a separate runtime stage', () => {
    const ciInstall = /^npm ci[^|\n]*?(?=\s*\|\||$)/m.exec(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'))![0].trim();
    const buildRuns = instructions.filter((i) => i.stage === 'build' && i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns[0]).toBe(ciInstall);
    expect(buildRuns).toContain('npm prune --omit=dev --no-audit --no-fund');
    expect(instructions.filter((i) => i.keyword === 'FROM').map((i) => i.stage)).toEqual(expect.arrayContaining(['build', 'runtime']));
    expect(runtime('COPY').every((i) => /--from=\w+/.test(i.args))).toBe(true);
  });

  it('runs as a numeric non-root user, exposes /score and metrics, and sets only variables the server reads', () => {
    const [user] = runtime('USER');
    expect(user!.args).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(runtime('EXPOSE')[0]!.args.split(/\s+/)).toEqual(['5001', '8002']);
    for (const key of Object.keys(envOf(instructions, 'runtime'))) expect(SERVE_ENV.has(key) || OTHER_ENV.has(key) ? key : `unknown: ${key}`).toBe(key);
  });

  it('starts with the command the README documents', () => {
    const cmd = execForm(runtime('CMD')[0]!.args);
    expect(cmd).toEqual(['node', 'bin/scoreline.js', 'serve']);
    expect(README).toContain(cmd.join(' '));
    expect(README).toContain(`docker build -f ${relative}`);
  });

  if (name === 'Dockerfile.gpu') {
    it('installs onnxruntime-node with its CUDA provider and runs on an NVIDIA CUDA image', () => {
      expect(envOf(instructions, 'build').ONNXRUNTIME_NODE_INSTALL).toBe('cuda12');
      const env = instructions.findIndex((i) => i.stage === 'build' && i.keyword === 'ENV' && i.args.includes('ONNXRUNTIME_NODE_INSTALL'));
      const install = instructions.findIndex((i) => i.stage === 'build' && i.keyword === 'RUN' && i.args.startsWith('npm ci'));
      expect(env).toBeLessThan(install);
      expect(instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('CUDA_IMAGE='))!.args).toMatch(/^CUDA_IMAGE=nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    });
  }

  it('sends no local build output or dependencies as build context', () => {
    const ignored = readFileSync(join(ROOT, `${relative}.dockerignore`), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', 'examples/model_repository']));
  });
});

describe('the image\'s start command, run here with the image\'s environment', () => {
  const instructions = parseDockerfile(readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8'));
  const cmd = execForm(instructions.find((i) => i.stage === 'runtime' && i.keyword === 'CMD')!.args);
  const healthcheck = execForm(instructions.find((i) => i.stage === 'runtime' && i.keyword === 'HEALTHCHECK')!.args);
  let repository: TemporaryRepository;

  beforeAll(async () => {
    repository = await exampleRepository(['iris']);
  });
  afterAll(async () => {
    await repository?.remove();
  });

  it('serves, passes its HEALTHCHECK and the Deployment\'s probes, and drains on SIGTERM within the pod\'s grace period', async () => {
    const port = await freePort();
    const env = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/tmp',
      ...onThisMachine(envOf(instructions, 'runtime')),
      // Here, not in a container of its own: a free port, loopback, and no fixed engine ports.
      SCORELINE_PORT: String(port),
      SCORELINE_HOST: '127.0.0.1',
      SCORELINE_MODEL_REPOSITORY: repository.dir,
      SCORELINE_ENGINE_HTTP_PORT: '0',
      SCORELINE_ENGINE_METRICS_PORT: '0',
      SCORELINE_ENGINE_GRPC_PORT: '0',
    };
    expect(cmd[0]).toBe('node');
    const child = spawn(process.execPath, cmd.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const agent = new Agent();
    try {
      const deadline = Date.now() + 60_000;
      const probe = () => promisify(execFile)(process.execPath, healthcheck.slice(1), { env, cwd: dirname(ROOT) }).then(() => true, () => false);
      while (!(await probe())) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the HEALTHCHECK never passed:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      for (const probeSpec of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect((await call(agent, `http://127.0.0.1:${port}${probeSpec.httpGet.path}`)).status).toBe(200);
      }
      const started = Date.now();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(pod.spec.terminationGracePeriodSeconds * 1000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await agent.close();
    }
  });
});
