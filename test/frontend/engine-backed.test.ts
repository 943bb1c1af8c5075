/**
 * `scoreline serve` with the real engine: the default entry script (scoring/score.ts) on
 * the test repository and on the example repository, as `npm start` serves it; and the
 * primary's care of the engine (the init context's ready client, /ready, restarts).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { makeExampleRepository } from '../../examples/make-example-repository';
import { mlpForward } from '../fixtures/mlp-reference';
import { CLASSIFIER_LABELS, makeTestRepository, testModels } from '../fixtures/test-repository';
import { startEngine, type RunningEngine } from '../helpers/start-engine';
import { call, fixture, postJson, startServe, waitForOutput, type ServeProcess } from './helpers/serve-process';

const ENGINE_PORTS = ['--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0'];

let testRepository: string;
const agent = new Agent();

beforeAll(async () => {
  testRepository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-serve-repo-'));
  await makeTestRepository(testRepository);
});

afterAll(async () => {
  await agent.close();
  await rm(testRepository, { recursive: true, force: true });
});

describe('the default entry script scoring/score.ts on the test repository', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    // No --entry-script: the app root (the package root here) has scoring/score.ts.
    serve = await startServe(['--model-repository', testRepository, '--worker-count', '2', ...ENGINE_PORTS], { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    expect(await serve?.stop()).toEqual({ code: 0, signal: null });
  });

  const score = (body: unknown) => postJson(agent, `${serve.url}/score`, body);

  it('is ready once the engine reports its models ready', async () => {
    expect((await call(agent, `${serve.url}/ready`)).status).toBe(200);
    expect(serve.output()).toMatch(/serving on .* entry_script=.*scoring\/score\.ts engine=http:\/\/127\.0\.0\.1:\d+/);
  });

  it("turns {data} into the model's input and returns its outputs by name, as the model computes them", async () => {
    const rows = [
      [0.5, -1, 2, 0.25, 1, 0, -0.5, 3],
      [1, 1, 1, 1, 1, 1, 1, 1],
    ];
    const reply = await score({ model: 'mlp', data: rows });
    expect(reply.status).toBe(200);
    const expected = mlpForward(testModels().mlp, rows.flat(), 2);
    const got = reply.json().OUTPUT0 as number[][];
    expect(got).toHaveLength(2);
    got.flat().forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 4));
  });

  it('accepts one sample without the batch dimension and answers without it', async () => {
    const reply = await score({ model: 'mlp', data: [1, 1, 1, 1, 1, 1, 1, 1] });
    const expected = mlpForward(testModels().mlp, [1, 1, 1, 1, 1, 1, 1, 1], 1);
    const got = reply.json().OUTPUT0 as number[];
    expect(got).toHaveLength(4);
    got.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 4));
  });

  it('feeds several inputs by name from {inputs} and can limit the outputs', async () => {
    const a = Array.from({ length: 16 }, (_, i) => i);
    const b = Array.from({ length: 16 }, (_, i) => 2 * i);
    const reply = await score({ model: 'add_sub', inputs: { INPUT0: [a], INPUT1: [b] } });
    expect(reply.json()).toEqual({ OUTPUT0: [a.map((x, i) => x + b[i]!)], OUTPUT1: [a.map((x, i) => x - b[i]!)] });
    const only = await score({ model: 'add_sub', inputs: { INPUT0: a, INPUT1: b }, outputs: ['OUTPUT1'] });
    expect(only.json()).toEqual({ OUTPUT1: a.map((x, i) => x - b[i]!) });
  });

  it.each([
    ['BYTES', { model: 'string_identity', data: [['hello'], ['wörld']] }, { OUTPUT0: [['hello'], ['wörld']] }],
    ['a model that cannot batch', { model: 'fixed', data: [1, 2, 3, 4] }, { OUTPUT0: [2, 4, 6, 8] }],
  ])('scores %s', async (_case, body, expected) => {
    const reply = await score(body);
    expect([reply.status, reply.json()]).toEqual([200, expected]);
  });

  it('returns the top classes with their labels when asked for classification', async () => {
    const reply = await score({ model: 'classifier', data: [[0.1, 0.2, 0.3, 0.4]], classification: 2 });
    const [classes] = reply.json().OUTPUT0 as { score: number; index: number; label: string }[][];
    expect(classes).toHaveLength(2);
    for (const entry of classes!) expect(entry.label).toBe(CLASSIFIER_LABELS[entry.index]);
    expect(classes![0]!.score).toBeGreaterThanOrEqual(classes![1]!.score);
  });

  it('answers each of 120 concurrent requests with its own rows (merged engine calls or not)', async () => {
    // Whether calls from separate requests meet in one event-loop turn depends on the
    // machine's load; the merge itself is counted deterministically below (fan-out.ts).
    const before = await mlpStats(engineUrlOf(serve));
    const rows = Array.from({ length: 120 }, (_, i) => Array.from({ length: 8 }, (__, k) => Math.cos(i + k)));
    const replies = await Promise.all(rows.map((row) => score({ model: 'mlp', data: row })));
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      const expected = mlpForward(testModels().mlp, rows[i]!, 1);
      (reply.json().OUTPUT0 as number[]).forEach((value, k) => expect(value).toBeCloseTo(expected[k]!, 4));
    });
    const after = await mlpStats(engineUrlOf(serve));
    expect(after.rows - before.rows).toBe(120);
    expect(after.requests - before.requests).toBeLessThanOrEqual(120);
  });

  it.each([
    ['no model named while several are served', { data: [[1]] }, /name the model: .*one of: .*add_sub/],
    ['an unknown model (the engine says so)', { model: 'nope', data: [[1]] }, /nope/],
    ['the wrong shape', { model: 'mlp', data: [[1, 2, 3]] }, /input "INPUT0" of model "mlp" has shape \[-1,8\]/],
    ['a ragged array', { model: 'mlp', data: [[1, 2, 3, 4, 5, 6, 7, 8], [1]] }, /not a rectangular array/],
    ['a string for a number', { model: 'fixed', data: ['1', 2, 3, 4] }, /FP32: element 0 should be a number/],
    ['a null inside a batch', { model: 'mlp', data: [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, null]] }, /FP32: element 15 should be a number, got null/],
    [
      'a fraction for an INT32 input',
      { model: 'add_sub', inputs: { INPUT0: [...Array(15).fill(1), 1.5], INPUT1: Array(16).fill(1) } },
      /INPUT0" is INT32: element 15 should be an integer in \[-2147483648, 2147483647\], got 1.5/,
    ],
    ['an INT32 out of range', { model: 'add_sub', inputs: { INPUT0: Array(16).fill(2 ** 31), INPUT1: Array(16).fill(1) } }, /INT32: element 0 should be an integer/],
    ['data for a model with two inputs', { model: 'add_sub', data: [[1]] }, /has 2 inputs \(INPUT0, INPUT1\)/],
    ['a body that is not an object', [1, 2, 3], /send a JSON object/],
  ])('refuses %s with 400 and a message that says what to fix', async (_case, body, message) => {
    const reply = await score(body);
    expect(reply.status).toBe(400);
    expect(reply.json().message).toMatch(message);
  });
});

describe('the example repository, as npm start serves it', () => {
  let serve: ServeProcess;
  let exampleRepository: string;
  beforeAll(async () => {
    exampleRepository = await mkdtemp(path.join(os.tmpdir(), 'scoreline-examples-'));
    await makeExampleRepository(exampleRepository);
    serve = await startServe(['--model-repository', exampleRepository, ...ENGINE_PORTS], {
      env: { SCORELINE_MODEL_NAME: 'iris' },
      timeoutMs: 90_000,
    });
  }, 120_000);
  afterAll(async () => {
    await serve?.stop();
    await rm(exampleRepository, { recursive: true, force: true });
  });

  it('answers the README body with a real prediction', async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { data: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], classification: 1 });
    expect(reply.status).toBe(200);
    const labels = (await readFile(path.join(exampleRepository, 'iris', 'labels.txt'), 'utf8')).trim().split('\n');
    const [[setosa], [virginica]] = reply.json().probabilities;
    expect([setosa.label, virginica.label]).toEqual([labels[0], labels[2]]);
  });
});

describe('an external engine (--engine-url)', () => {
  let engine: RunningEngine;
  let serve: ServeProcess;
  beforeAll(async () => {
    engine = await startEngine({ modelRepository: testRepository, args: ['--grpc-port=-1'] });
    serve = await startServe(['--engine-url', engine.url], { env: { SCORELINE_MODEL_NAME: 'fixed' }, timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    await serve?.stop();
    await engine?.stop();
  });

  it('is used, not started: scoring goes to it, and /ready follows it', async () => {
    expect(serve.output()).not.toMatch(/starting the engine/);
    const reply = await postJson(agent, `${serve.url}/score`, { data: [1, 2, 3, 4] });
    expect(reply.json()).toEqual({ OUTPUT0: [2, 4, 6, 8] });
    await engine.stop();
    expect((await call(agent, `${serve.url}/ready`)).status).toBe(503);
    const failed = await postJson(agent, `${serve.url}/score`, { data: [1, 2, 3, 4] });
    expect(failed.status).toBe(503);
    expect(failed.headers['x-ms-run-function-failed']).toBe('True');
  });
});

function engineUrlOf(serve: ServeProcess): string {
  return /engine=(http:\/\/127\.0\.0\.1:\d+)/.exec(serve.output())![1]!;
}

/** The mlp model's statistics: rows inferred and requests that succeeded. */
async function mlpStats(engineUrl: string): Promise<{ rows: number; requests: number; maxBatchSize: number }> {
  const stats = (await call(agent, `${engineUrl}/v2/models/mlp/stats`)).json() as {
    model_stats: { inference_count: number; inference_stats: { success: { count: number } } }[];
  };
  const config = (await call(agent, `${engineUrl}/v2/models/mlp/config`)).json() as { max_batch_size: number };
  const model = stats.model_stats[0]!;
  return { rows: model.inference_count, requests: model.inference_stats.success.count, maxBatchSize: config.max_batch_size };
}

describe("the workers' client merges engine calls made together (--[no-]coalesce-infer), over either transport", () => {
  let engine: RunningEngine;
  const serves: Record<'merging' | 'plain', ServeProcess | undefined> = { merging: undefined, plain: undefined };
  beforeAll(async () => {
    engine = await startEngine({ modelRepository: testRepository, args: ['--grpc-port=-1'] });
    const common = ['--entry-script', fixture('fan-out.ts'), '--engine-url', engine.url, '--worker-count', '1'];
    [serves.merging, serves.plain] = await Promise.all([
      startServe(common, { timeoutMs: 90_000 }),
      // The plain one also talks to the engine through undici instead of the lean transport.
      startServe([...common, '--no-coalesce-infer', '--engine-transport', 'undici'], { timeoutMs: 90_000 }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([serves.merging?.stop(), serves.plain?.stop()]);
    await engine?.stop();
  });

  it.each([
    ['merged up to max_batch_size (the default)', 'merging', (calls: number, max: number) => Math.ceil(calls / max)],
    ['one engine request per call with --no-coalesce-infer (over undici: --engine-transport undici)', 'plain', (calls: number) => calls],
  ] as const)('sends %s, and every call gets its own rows', async (_case, which, expectedRequests) => {
    const rows = Array.from({ length: 20 }, (_, i) => Array.from({ length: 8 }, (__, k) => Math.sin(3 * i + k)));
    const before = await mlpStats(engine.url);
    const reply = await postJson(agent, `${serves[which]!.url}/score`, { data: rows });
    expect(reply.status).toBe(200);
    const got = reply.json().OUTPUT0 as number[][];
    rows.forEach((row, i) => {
      const expected = mlpForward(testModels().mlp, row, 1);
      got[i]!.forEach((value, k) => expect(value).toBeCloseTo(expected[k]!, 4));
    });
    const after = await mlpStats(engine.url);
    expect(before.maxBatchSize).toBeGreaterThan(1);
    expect(after.rows - before.rows).toBe(rows.length);
    expect(after.requests - before.requests).toBe(expectedRequests(rows.length, before.maxBatchSize));
  });
});

describe('the engine under the primary', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture('behaviours.ts'), '--model-repository', testRepository, ...ENGINE_PORTS], { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    await serve?.stop();
  });

  it("hands init() the engine's URL and a client that is ready", async () => {
    const context = (await postJson(agent, `${serve.url}/score`, { action: 'init' })).json();
    expect(context).toMatchObject({ initCalls: 1, hasClient: true, modelDir: testRepository, azuremlModelDir: testRepository });
    expect(context.engineUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('is restarted on the same port when it dies; /ready says 503 until it is back', async () => {
    const engineUrl = (await postJson(agent, `${serve.url}/score`, { action: 'init' })).json().engineUrl as string;
    const enginePid = childPids(serve.child.pid!).find((pid) => commandLine(pid).includes('engine'));
    expect(enginePid).toBeDefined();
    process.kill(enginePid!, 'SIGKILL');

    let ready = 200;
    for (let tries = 0; tries < 100 && ready === 200; tries++) {
      ready = (await call(agent, `${serve.url}/ready`)).status;
      if (ready === 200) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(ready).toBe(503);
    await waitForOutput(serve, (output) => /the engine died \(signal SIGKILL\); restarting it/.test(output));
    await waitForOutput(serve, (output) => output.includes(`engine restarted at ${engineUrl}`), 60_000);
    expect((await call(agent, `${serve.url}/ready`)).status).toBe(200);
  });
});

/** Linux: the children of a process, and a process's command line. */
function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}
