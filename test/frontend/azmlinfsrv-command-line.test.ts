/**
 * azmlinfsrv's command line, config.json and separate health port, as AzureML's docs and
 * scripts use them: `azmlinfsrv --entry_script score.py --model_dir ./model --port 5001
 * --worker_count 2 --access_control_allow_origins ... --config_file config.json`, and
 * `SEPERATE_HEALTH_ENDPOINT=true HEALTH_PORT=5000`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { InvalidOptionError } from '../../src/errors';
import { resolveServeOptions } from '../../src/frontend/serve-options';
import { FIXTURES, PACKAGE_ROOT, call, fixture, freePort, postJson, startServe, type ServeProcess } from './helpers/serve-process';

const ENTRY = path.join(FIXTURES, 'behaviours.ts');

function resolve(args: string[], env: NodeJS.ProcessEnv = {}, cwd = PACKAGE_ROOT) {
  const resolved = resolveServeOptions(args, env, cwd);
  if (resolved.help) throw new Error('unexpected --help');
  return resolved;
}

function refusal(args: string[], env: NodeJS.ProcessEnv = {}, cwd = PACKAGE_ROOT): string {
  try {
    resolve(args, env, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return (err as Error).message;
  }
  throw new Error('the options were accepted');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-azmlinfsrv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("azmlinfsrv's flags", () => {
  it('are read as their scoreline spellings', () => {
    const { options } = resolve(['--entry_script', ENTRY, '--model_dir', FIXTURES, '--port', '6001', '--worker_count', '3', '--access_control_allow_origins', 'https://a.example, https://b.example']);
    expect(options).toMatchObject({ entryScript: ENTRY, modelDir: FIXTURES, port: 6001, workerCount: 3, corsOrigins: ['https://a.example', 'https://b.example'] });
  });

  it('refuse to disagree with the scoreline spelling, naming both', () => {
    expect(refusal(['--entry-script', ENTRY, '--entry_script', fixture('echo.js')])).toMatch(/--entry-script '.*behaviours\.ts' and --entry_script '.*echo\.js' disagree/);
    expect(resolve(['--worker-count', '2', '--worker_count', '2']).options.workerCount).toBe(2);
  });

  it('are validated like the scoreline spelling', () => {
    expect(refusal(['--entry_script', ENTRY, '--worker_count', '0'])).toMatch(/--worker-count \(WORKER_COUNT\)/);
    expect(refusal(['--entry_script', ENTRY, '--no_such_flag', 'x'])).toMatch(/no_such_flag/);
  });
});

describe('config.json (--config_file, AZUREML_CONFIG_FILE)', () => {
  it('supplies settings by environment variable name, weaker than the environment and flags, and lists the keys it does not use', async () => {
    const file = path.join(dir, 'settings.json');
    await writeFile(file, JSON.stringify({
      AZUREML_ENTRY_SCRIPT: ENTRY,
      SCORING_TIMEOUT_MS: 6000,
      AML_CORS_ORIGINS: 'https://www.microsoft.com ',
      WORKER_COUNT: 2,
      AML_APP_INSIGHTS_ENABLED: true,
      EXTRA_KEY: false,
    }));
    const { options, warnings } = resolve(['--config_file', file, '--worker-count', '4'], { SCORING_TIMEOUT_MS: '7000' });
    expect(options).toMatchObject({ entryScript: ENTRY, scoringTimeoutMs: 7000, workerCount: 4, corsOrigins: ['https://www.microsoft.com'], configFile: file });
    expect(warnings).toEqual([
      expect.stringMatching(/keys without effect in scoreline: AML_APP_INSIGHTS_ENABLED \(a key in this file turns App Insights on/),
      expect.stringMatching(/unknown keys, not used: EXTRA_KEY/),
    ]);
    expect(resolve([], { AZUREML_CONFIG_FILE: file }).options.scoringTimeoutMs).toBe(6000);
  });

  it('is found as config.json in the app root when none is named, as azmlinfsrv searches', async () => {
    const root = await mkdtemp(path.join(dir, 'app-'));
    await writeFile(path.join(root, 'config.json'), JSON.stringify({ AZUREML_ENTRY_SCRIPT: ENTRY, SERVICE_NAME: 'from-config' }));
    const { options } = resolve(['--app-root', root]);
    expect(options).toMatchObject({ serviceName: 'from-config', configFile: path.join(root, 'config.json') });
  });

  it.each([
    ['a named file that does not exist', async () => ['--config_file', path.join(dir, 'missing.json')], /--config-file \(AZUREML_CONFIG_FILE\): no such file/],
    ['a file that is not JSON', async () => ['--config_file', await written('bad.json', '{ not json')], /is not valid JSON/],
    ['a file that is not an object', async () => ['--config_file', await written('list.json', '[1]')], /must hold a JSON object of settings/],
    ['a nested value', async () => ['--config_file', await written('nested.json', '{"SCORING_TIMEOUT_MS": {"ms": 1}}')], /'SCORING_TIMEOUT_MS' must be a string, number or boolean/],
    ['a value of the wrong kind', async () => ['--config_file', await written('kind.json', '{"SCORING_TIMEOUT_MS": "soon"}')], /--scoring-timeout-ms \(SCORING_TIMEOUT_MS\)/],
  ])('refuses %s at start-up, naming it', async (_case, args, message) => {
    expect(refusal(['--entry-script', ENTRY, ...(await args())])).toMatch(message);
  });
});

describe('the separate health port', () => {
  it('is refused when it would do nothing, or share the scoring port', () => {
    expect(refusal(['--entry-script', ENTRY, '--health_port', '5005'])).toMatch(/--health-port \(HEALTH_PORT\) has no effect without --separate-health-endpoint \(SEPERATE_HEALTH_ENDPOINT\)=true/);
    expect(refusal(['--entry-script', ENTRY, '--port', '5005'], { SEPERATE_HEALTH_ENDPOINT: 'true', HEALTH_PORT: '5005' })).toMatch(/5005 is also the scoring port/);
    expect(resolve(['--entry-script', ENTRY], { SEPERATE_HEALTH_ENDPOINT: 'true' }).options.healthPort).toBe(5000);
  });

  describe('served', () => {
    const agent = new Agent();
    let serve: ServeProcess;
    let healthPort: number;
    beforeAll(async () => {
      healthPort = await freePort();
      serve = await startServe(['--entry_script', fixture('echo.js'), '--worker_count', '2', '--health_port', String(healthPort)], {
        env: { SEPERATE_HEALTH_ENDPOINT: 'true' },
      });
    });
    afterAll(async () => {
      await agent.close();
      await serve?.stop();
    });

    it('answers the liveness probe and every route on the health port, and /score on the scoring port', async () => {
      const health = `http://127.0.0.1:${healthPort}`;
      const live = await call(agent, `${health}/`);
      expect([live.status, live.text]).toEqual([200, 'Healthy']);
      expect((await postJson(agent, `${health}/score`, { a: 1 })).json()).toMatchObject({ data: { a: 1 } });
      expect((await postJson(agent, `${serve.url}/score`, { a: 2 })).json()).toMatchObject({ data: { a: 2 } });
      expect(serve.output()).toMatch(new RegExp(`serving on .* health_port=${healthPort}`));
    });
  });
});

async function written(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}
