/**
 * The text example end to end: score.ts tokenizes and featurizes in the worker, the engine
 * runs the spam model; held-out messages of the corpus sent to /score come back labelled.
 */
import { join } from 'node:path';
import { Agent } from 'undici';
import { loadSpamCorpus, splitCorpus } from '../../examples/text/train-spam';
import { call, PACKAGE_ROOT, postJson, startServe, type ServeProcess } from '../frontend/helpers/serve-process';
import { engineUrlFrom, exampleRepository, FREE_ENGINE_PORTS, type TemporaryRepository } from './helpers/example-repository';

const SCORE_MODULE = join(PACKAGE_ROOT, 'examples', 'text', 'score.ts');
/** Held-out messages sent, and how many at once. */
const SAMPLE = 300;
const CONCURRENCY = 16;

let repository: TemporaryRepository;
let serve: ServeProcess;
const agent = new Agent({ connections: CONCURRENCY });
beforeAll(async () => {
  repository = await exampleRepository(['spam_classifier']);
  serve = await startServe(['--model-repository', repository.dir, '--entry-script', SCORE_MODULE, ...FREE_ENGINE_PORTS]);
});
afterAll(async () => {
  await serve?.stop();
  await agent.close();
  await repository?.remove();
});

interface Verdict {
  label: 'ham' | 'spam';
  score: number;
}

describe('the spam filter at /score', () => {
  it.each([
    ['spam', 'Subject: You WIN!!! Claim your prize\n\nCongratulations! You have been selected to receive $1,000,000 cash. Click here now to claim your FREE prize. Limited time offer, act now! To unsubscribe reply REMOVE.'],
    ['ham', 'Subject: Re: patch for the build script\n\nThanks, I applied the patch to CVS. The tests pass on my machine now; could you check that the Debian package still builds?'],
  ])('labels a typical %s message, with the probability of spam as its score', async (label, text) => {
    const reply = await postJson(agent, `${serve.url}/score`, { text });
    expect(reply.status).toBe(200);
    const verdict = reply.json() as Verdict;
    expect(verdict.label).toBe(label);
    expect(label === 'spam' ? verdict.score : 1 - verdict.score).toBeGreaterThan(0.8);
  });

  it(`labels ${SAMPLE} held-out corpus messages, ${CONCURRENCY} at a time, at least 97 % correctly`, async () => {
    const messages = loadSpamCorpus();
    const { heldOut } = splitCorpus(messages);
    const step = Math.floor(heldOut.length / SAMPLE);
    const sample = Array.from({ length: SAMPLE }, (_, k) => messages[heldOut[k * step]!]!);
    const verdicts: Verdict[] = new Array(sample.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < sample.length) {
          const i = next++;
          const reply = await postJson(agent, `${serve.url}/score`, { text: sample[i]!.text });
          expect(reply.status).toBe(200);
          verdicts[i] = reply.json() as Verdict;
        }
      }),
    );
    const right = sample.filter((m, i) => (verdicts[i]!.label === 'spam') === m.spam).length;
    expect(sample.filter((m) => m.spam).length).toBeGreaterThan(50);
    expect(right / SAMPLE).toBeGreaterThanOrEqual(0.97);

    const stats = (await call(agent, `${engineUrlFrom(serve.output())}/v2/models/spam_classifier/stats`)).json();
    expect(stats.model_stats[0].inference_count).toBe(SAMPLE + 2);
  });

  it('answers 400 to a request without text', async () => {
    const reply = await postJson(agent, `${serve.url}/score`, { message: 'hello' });
    expect(reply.status).toBe(400);
  });
});
