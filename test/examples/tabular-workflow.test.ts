/**
 * The user's workflow with the tabular example, step by step as examples/README.md walks
 * it: (1) the engine serves the model, (2) a client calls the engine, (3) score.ts serves
 * it at /score with several workers — each step through the built CLI, as a user runs it.
 */
import { join } from 'node:path';
import { Agent } from 'undici';
import { callEngine, FLOWERS } from '../../examples/clients/engine-client';
import { score } from '../../examples/clients/score-client';
import { IRIS_LABELS, loadIris, trainIris } from '../../examples/tabular/train-iris';
import { startEngine, type RunningEngine } from '../helpers/start-engine';
import { call, PACKAGE_ROOT, postJson, startServe, type ServeProcess } from '../frontend/helpers/serve-process';
import { exampleRepository, FREE_ENGINE_PORTS, type TemporaryRepository } from './helpers/example-repository';

const SCORE_MODULE = join(PACKAGE_ROOT, 'examples', 'tabular', 'score.ts');
const EXPECTED_SPECIES = ['setosa', 'versicolor', 'virginica'];

let repository: TemporaryRepository;
const agent = new Agent();
beforeAll(async () => {
  repository = await exampleRepository(['iris']);
});
afterAll(async () => {
  await agent.close();
  await repository?.remove();
});

describe('step 1: the engine serves the Iris model', () => {
  let engine: RunningEngine;
  beforeAll(async () => {
    engine = await startEngine({ modelRepository: repository.dir, args: ['--grpc-port', '0'] });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('is ready, and its metadata names the measurements in and the probabilities out', async () => {
    expect((await call(agent, `${engine.url}/v2/health/ready`)).status).toBe(200);
    const metadata = (await call(agent, `${engine.url}/v2/models/iris`)).json();
    expect(metadata.inputs).toEqual([{ name: 'measurements', datatype: 'FP32', shape: [-1, 4] }]);
    expect(metadata.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }]);
  });

  it('answers the README\'s curl request with the species probabilities', async () => {
    const body = { inputs: [{ name: 'measurements', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] };
    const reply = await postJson(agent, `${engine.url}/v2/models/iris/infer`, body);
    const [p] = reply.json().outputs;
    expect(p).toMatchObject({ name: 'probabilities', shape: [1, 3] });
    expect(p.data[0]).toBeGreaterThan(0.9);
  });

  describe('step 2: a client calls the engine (examples/clients/engine-client.ts)', () => {
    it('gets each known flower\'s species, as probabilities and through the classification extension', async () => {
      const report = await callEngine(engine.url);
      expect(report.ready).toBe(true);
      expect(report.inputs).toEqual(['measurements FP32 [-1, 4]']);
      report.probabilities.forEach((p, i) => {
        expect(p.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
        expect(IRIS_LABELS[p.indexOf(Math.max(...p))]).toBe(EXPECTED_SPECIES[i]);
      });
      expect(report.topClass.map((c) => c.split(':').slice(1))).toEqual(EXPECTED_SPECIES.map((s, i) => [String(i), s]));
      expect(FLOWERS).toHaveLength(3);
    });
  });
});

describe('step 3: score.ts serves it at /score with two workers', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--model-repository', repository.dir, '--entry-script', SCORE_MODULE, '--worker-count', '2', ...FREE_ENGINE_PORTS]);
  });
  afterAll(async () => {
    await serve?.stop();
  });

  it('is live and ready', async () => {
    expect((await call(agent, `${serve.url}/`)).status).toBe(200);
    expect((await call(agent, `${serve.url}/ready`)).status).toBe(200);
  });

  it('returns the species and the probabilities for {"data": [[5.1, 3.5, 1.4, 0.2]]} (examples/clients/score-client.ts)', async () => {
    const reply = await score(serve.url, { data: [[5.1, 3.5, 1.4, 0.2]] }, { requestId: 'iris-1' });
    expect(reply.status).toBe(200);
    expect(reply.requestId).toBe('iris-1');
    expect(Number(reply.runMs)).toBeGreaterThanOrEqual(0);
    const [prediction] = (reply.body as { predictions: { species: string; probabilities: Record<string, number> }[] }).predictions;
    expect(prediction!.species).toBe('setosa');
    expect(Object.keys(prediction!.probabilities)).toEqual(IRIS_LABELS);
    expect(prediction!.probabilities.setosa).toBeGreaterThan(0.9);
  });

  it('classifies the whole data set as the trained model does (98 % of the 150 flowers)', async () => {
    const data = loadIris();
    const rows = data.measurements;
    // Three requests of 50 rows at once: the engine may batch them together.
    const replies = await Promise.all([0, 50, 100].map((from) => score(serve.url, { data: rows.slice(from, from + 50) })));
    const species = replies.flatMap((r) => (r.body as { predictions: { species: string }[] }).predictions.map((p) => p.species));
    const accuracy = species.filter((s, i) => s === IRIS_LABELS[data.species[i]!]).length / rows.length;
    expect(accuracy).toBe(trainIris(data).accuracy);
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
  });

  it.each([
    ['a row of three measurements', { data: [[5.1, 3.5, 1.4]] }],
    ['no rows', { data: [] }],
    ['text instead of numbers', { data: [['a', 'b', 'c', 'd']] }],
  ])('answers 400 to %s, naming the problem', async (_, body) => {
    const reply = await postJson(agent, `${serve.url}/score`, body);
    expect(reply.status).toBe(400);
    expect(reply.json().message).toEqual(expect.any(String));
  });

  it('documents the input and output in /swagger.json', async () => {
    const swagger = (await call(agent, `${serve.url}/swagger.json?version=3`)).text;
    expect(swagger).toContain('sepal length');
    expect(swagger).toContain('species');
  });
});
