/**
 * Issue 20, over the wire: the repository load API's `config` override (POST
 * /v2/repository/models/add_sub/load with parameters.config) against a real engine in
 * explicit model-control mode. Overrides: add_sub's full valid config with huge numbers in
 * its numeric fields (2^31−1 instances, 5e7 priority levels, 1e5 threads, 2^32−1 warmup
 * runs, ...), the same config with random text edits, values nested up to 300 000 deep,
 * and random JSON. Each load must answer 200 (and leave add_sub ready) or a 4xx with an
 * error message, within LOAD_MS, growing the engine's memory by at most GROWTH; afterwards
 * the engine answers health and an MLP inference correctly.
 */
import fc from 'fast-check';
import { configJson, fuzzParameters, mutatedText } from '../faults/helpers/fuzz';
import { FUZZ_RUNS, MiB, StatusTally, hostileCase, startHostileEngine, type HostileEngine } from './helpers/hostile';
import { deepConfig, deepSpec, hugeNumberEdits, validConfigJson, withHugeNumbers } from './helpers/hostile-configs';

/** A load that refuses must do so at once; one that succeeds starts an onnxruntime session and a warmup run. */
const LOAD_MS = 20_000;
/** add_sub's sessions are a few MiB; a refused override should cost nothing. */
const GROWTH = 384 * MiB;

let hostile: HostileEngine;
const statuses = new StatusTally();

beforeAll(async () => {
  hostile = await startHostileEngine();
}, 120_000);

beforeEach(async () => {
  await hostile.revive();
}, 120_000);

afterAll(async () => {
  statuses.report('hostile load override');
  await hostile?.stop();
});

interface Answer {
  status: number;
  text: string;
}

async function load(body: string): Promise<Answer> {
  const res = await fetch(`${hostile.engine.url}/v2/repository/models/add_sub/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(LOAD_MS + 1_000) });
  return { status: res.status, text: await res.text() };
}

const overrideBody = (config: string): string => JSON.stringify({ parameters: { config } });

/** 200, or a 4xx whose JSON `error` says something. */
function judge(kind: string): (answer: Answer) => string | undefined {
  return (answer) => {
    statuses.count(kind, answer.status);
    if (answer.status === 200) return undefined;
    if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 400)}`;
    let error: unknown;
    try {
      error = (JSON.parse(answer.text) as { error?: unknown }).error;
    } catch {
      // reported below
    }
    return typeof error === 'string' && error !== '' ? undefined : `${answer.status} without an error message: ${answer.text.slice(0, 400)}`;
  };
}

/** After a 200 the overridden model must be ready (the load finished, not merely started). */
async function readyAfterSuccess(answer: Answer): Promise<void> {
  if (answer.status !== 200) return;
  const res = await fetch(`${hostile.engine.url}/v2/models/add_sub/ready`, { signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
}

async function loadCase(kind: string, body: string): Promise<void> {
  const { answer } = await hostileCase(hostile, `load override (${kind})`, { answerMs: LOAD_MS, growthBytes: GROWTH }, () => load(body), judge(kind));
  await readyAfterSuccess(answer);
}

it('loads the valid override (the base every other case edits)', async () => {
  await loadCase('valid', overrideBody(JSON.stringify(validConfigJson())));
  expect(statuses.of('valid', 200)).toBe(1);
}, 60_000);

it('answers huge numbers in any numeric field with 200 or a 4xx, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(hugeNumberEdits, async (edits) => loadCase('huge numbers', overrideBody(JSON.stringify(withHugeNumbers(edits))))),
    fuzzParameters(FUZZ_RUNS * 2),
  );
}, 600_000);

it('answers the issue probes (2^31−1 instances, 5e7 priority levels, 1e5 threads, 2^32−1 warmup runs) with a 4xx', async () => {
  const probes: Array<Array<[string, number]>> = [
    [['instance_group[0].count', 2 ** 31 - 1]],
    [['dynamic_batching.priority_levels', 5e7]],
    [['parameters.intra_op_thread_count', 1e5]],
    [['model_warmup[0].count', 2 ** 32 - 1]],
  ];
  const problems: string[] = [];
  for (const edits of probes) {
    try {
      await hostile.revive();
      await hostileCase(hostile, `load override ${edits.map(([f, n]) => `${f}=${n}`).join(' ')}`, { answerMs: LOAD_MS, growthBytes: GROWTH }, () => load(overrideBody(JSON.stringify(withHugeNumbers(edits)))), (answer) => {
        const wrong = judge('issue probes')(answer);
        return wrong ?? (answer.status === 200 ? `loaded (200) a config no server can run: ${JSON.stringify(edits)}` : undefined);
      });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  expect(problems).toEqual([]);
}, 600_000);

it('answers the valid override with random text edits with 200 or a 4xx, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(mutatedText(JSON.stringify(validConfigJson())), async (text) => loadCase('edited text', overrideBody(text))),
    fuzzParameters(FUZZ_RUNS * 2),
  );
}, 600_000);

it('answers values nested up to 300 000 deep, in the override or around it, with 200 or a 4xx, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(deepSpec, fc.boolean(), async (spec, inTheBody) => {
      const { text } = deepConfig(spec);
      // Deep in the config string, or deep in the request body next to a valid config.
      const body = inTheBody ? `{"parameters":{"config":${JSON.stringify(JSON.stringify(validConfigJson()))}},"extra":${'['.repeat(spec.depth)}${']'.repeat(spec.depth)}}` : overrideBody(text);
      await loadCase('deep nesting', body);
    }),
    fuzzParameters(FUZZ_RUNS),
  );
}, 600_000);

it('answers random JSON as the override with 200 or a 4xx, in bounded time and memory', async () => {
  await fc.assert(
    fc.asyncProperty(configJson, async (config) => loadCase('random JSON', overrideBody(JSON.stringify(config) ?? 'null'))),
    fuzzParameters(FUZZ_RUNS * 2),
  );
}, 600_000);
