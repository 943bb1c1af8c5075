/**
 * The audio example's score module: streaming voice-activity detection with Silero VAD,
 * its state kept in the engine between requests.
 *
 *   POST /score {"session": "call-7", "start": true, "audio": "<base64 PCM>"}
 *   → {"session": "call-7", "probabilities": [0.02, 0.91], "speech": true}
 *
 * A client streams each session's audio as chunks: 16 kHz mono PCM, 16-bit little-endian,
 * base64-encoded, a whole number of 512-sample frames (32 ms each), up to MAX_FRAMES per
 * chunk. The first chunk of a session says `start: true`, the last may say `end: true`
 * (the engine then frees the session's state at once; otherwise it goes after 30 s
 * without chunks). run() turns each frame into one step of the engine's sequence for the
 * session: the session id is the sequence_id, so the network's LSTM state (h, c) never
 * leaves the engine and sessions never see each other's state, whichever worker serves
 * each chunk. `probabilities` holds each frame's speech probability, `speech` whether
 * any reached 0.5 (Silero's usual threshold).
 *
 * A chunk of a session that was never started, has ended or was dropped for idling is
 * refused by the engine with a 400 that says which; that reply passes through to the
 * client, who starts the session again. The frames of one chunk run in order; chunks of one
 * session should be sent one after another (the engine runs a sequence's requests in the
 * order they arrive, and two chunks in flight at once may arrive in either order).
 */
import { z } from 'zod';
import { InvalidArgumentError, type InitContext, type RunContext } from 'scoreline';
import { InferInput, InferRequestedOutput, type InferenceServerClient } from 'scoreline/client';

const MODEL = 'silero_vad';
const FRAME_SAMPLES = 512;
const BYTES_PER_SAMPLE = 2;
/** About a second of audio per chunk (32 × 32 ms). */
const MAX_FRAMES = 32;
const SPEECH_THRESHOLD = 0.5;

export const inputSchema = z.object({
  session: z.string().min(1).max(128).describe('the stream this chunk belongs to (any string; it becomes the engine\'s sequence_id)'),
  start: z.boolean().default(false).describe('first chunk of the session: its state starts from zeros'),
  end: z.boolean().default(false).describe('last chunk of the session: its state is freed after it'),
  audio: z
    .string()
    .max(Math.ceil((MAX_FRAMES * FRAME_SAMPLES * BYTES_PER_SAMPLE * 4) / 3) + 4)
    .describe(`16 kHz mono PCM, 16-bit little-endian, base64; a whole number of ${FRAME_SAMPLES}-sample frames, 1 to ${MAX_FRAMES}`),
});

export const outputSchema = z.object({
  session: z.string(),
  probabilities: z.array(z.number()).describe('speech probability of each 32 ms frame, in order'),
  speech: z.boolean().describe(`whether any frame reached ${SPEECH_THRESHOLD}`),
});

type Input = z.infer<typeof inputSchema>;
type Output = z.infer<typeof outputSchema>;

let client: InferenceServerClient;

export async function init(context: InitContext): Promise<void> {
  if (context.client === undefined) {
    throw new Error('the audio example needs the engine: serve it with --model-repository examples/audio/model_repository');
  }
  client = context.client;
  if (!(await client.isModelReady(MODEL))) throw new Error(`model '${MODEL}' is not ready: run node dist/examples/audio/make-audio-repository.js first`);
}

export async function run(input: Input, context: RunContext): Promise<Output> {
  const frames = decodeFrames(input.audio);
  const probabilities: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const result = await client.infer(MODEL, [new InferInput('input', [1, FRAME_SAMPLES], 'FP32').setData(frames[i]!)], {
      outputs: [new InferRequestedOutput('output')],
      sequenceId: input.session,
      sequenceStart: input.start && i === 0,
      sequenceEnd: input.end && i === frames.length - 1,
      signal: context.signal,
    });
    probabilities.push(Math.round(result.asTypedArray<Float32Array>('output')[0]! * 1e4) / 1e4);
  }
  return { session: input.session, probabilities, speech: probabilities.some((p) => p >= SPEECH_THRESHOLD) };
}

/** The chunk's frames as the network takes them: float samples in [-1, 1). */
function decodeFrames(base64: string): Float32Array[] {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new InvalidArgumentError("'audio' must be base64 (A-Z, a-z, 0-9, +, /, = padding)");
  const pcm = Buffer.from(base64, 'base64');
  const frameBytes = FRAME_SAMPLES * BYTES_PER_SAMPLE;
  const count = pcm.length / frameBytes;
  if (!Number.isInteger(count) || count < 1 || count > MAX_FRAMES) {
    throw new InvalidArgumentError(
      `'audio' holds ${pcm.length} bytes (${pcm.length / BYTES_PER_SAMPLE} samples); it must be 1 to ${MAX_FRAMES} frames of ${FRAME_SAMPLES} 16-bit samples (${frameBytes} bytes each)`,
    );
  }
  const frames: Float32Array[] = [];
  for (let f = 0; f < count; f++) {
    const frame = new Float32Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) frame[i] = pcm.readInt16LE((f * FRAME_SAMPLES + i) * BYTES_PER_SAMPLE) / 32768;
    frames.push(frame);
  }
  return frames;
}
