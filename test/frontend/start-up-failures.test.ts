/**
 * A server that cannot start says why and exits non-zero: bad options name the flag and the
 * environment variable (status 2); a score module that does not load, lacks run(), or whose
 * init() throws, hangs or blocks stops the server (status 3) with a log that names the
 * script, the error and the model directory's contents.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixture, startServe, stopChild } from './helpers/serve-process';

let modelDir: string;

beforeAll(async () => {
  modelDir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-failing-'));
  await mkdir(path.join(modelDir, 'model', '1'), { recursive: true });
  await writeFile(path.join(modelDir, 'model', '1', 'weights.onnx'), 'not really a model');
});

afterAll(async () => {
  await rm(modelDir, { recursive: true, force: true });
});

async function failedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string; ms: number }> {
  const started = performance.now();
  const serve = await startServe(args, { env, waitUntilServing: false });
  const exit = await stopChild(serve.child, serve.exited);
  return { code: exit.code, output: serve.output(), ms: performance.now() - started };
}

describe('invalid options', () => {
  it.each([
    [['--worker-count', 'two'], {}, /--worker-count \(WORKER_COUNT\): .*got "two"/],
    [[], { WORKER_COUNT: '0' }, /--worker-count \(WORKER_COUNT\): Too small/],
    [['--scoring-timeout-ms=-5'], {}, /--scoring-timeout-ms \(SCORING_TIMEOUT_MS\): Too small/],
    [['--entry-script', 'nope/score.ts'], {}, /--entry-script \(AZUREML_ENTRY_SCRIPT\): no such file: .*nope\/score\.ts/],
    [['--model-repository', '/nonexistent/repo'], {}, /--model-repository \(SCORELINE_MODEL_REPOSITORY\): no such directory/],
    [['--engine-url', 'grpc://localhost:8001'], {}, /--engine-url \(SCORELINE_ENGINE_URL\)/],
    [['--log-level', 'loud'], {}, /--log-level \(SCORELINE_LOG_LEVEL\)/],
    [['--no-such-flag'], {}, /Unknown option '--no-such-flag'/],
  ])('%j %j exits 2 naming the option', async (args, env, message) => {
    const { code, output } = await failedStart(args as string[], env);
    expect(code).toBe(2);
    expect(output).toMatch(message);
  });

  it('lets a flag win over its environment variable', async () => {
    const { code, output } = await failedStart(['--worker-count', 'x'], { WORKER_COUNT: '2' });
    expect(code).toBe(2);
    expect(output).toMatch(/got "x"/);
  });
});

describe('score modules that cannot start', () => {
  it('exits 3 when init() throws, naming the script, the error and the model directory contents', async () => {
    const script = fixture('init-throws.ts');
    const { code, output } = await failedStart(['--entry-script', script, '--model-dir', modelDir, '--worker-count', '2']);
    expect(code).toBe(3);
    expect(output).toContain(`could not start the score module ${script}: Error: model.onnx is missing from the model directory`);
    expect(output).toContain(`Model directory ${modelDir} contents:`);
    expect(output).toMatch(/model\/1\/weights\.onnx \(18 bytes\)/);
    expect(output).toMatch(/stopping: worker \d could not start/);
  });

  it('exits 3 when the module has no run()', async () => {
    const { code, output } = await failedStart(['--entry-script', fixture('no-run.mjs')]);
    expect(code).toBe(3);
    expect(output).toMatch(/no-run\.mjs: the score module must export a run\(\) function/);
  });

  it('exits 3 when init() never finishes, once the init timeout passes', async () => {
    const { code, output, ms } = await failedStart(['--entry-script', fixture('init-hangs.ts'), '--init-timeout-ms', '1500', '--model-dir', modelDir]);
    expect(code).toBe(3);
    expect(output).toMatch(/init-hangs\.ts: .*did not finish within 1500 ms/);
    expect(output).toContain(`Model directory ${modelDir} contents:`);
    expect(ms).toBeGreaterThan(1500);
  });

  it('exits 3 when init() blocks the event loop: the primary kills the worker', async () => {
    const { code, output } = await failedStart(['--entry-script', fixture('init-blocks.cjs'), '--init-timeout-ms', '1000']);
    expect(code).toBe(3);
    expect(output).toMatch(/worker 1 did not start within 3000 ms: is init\(\) of .*init-blocks\.cjs blocking the event loop\?/);
  });
});
