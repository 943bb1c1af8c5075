/**
 * Writes the example model repository (examples/model_repository by default) that
 * `npm start` serves and the examples and benchmarks use. Run by `npm run prepare` as
 * `node dist/examples/make-example-repository.js [dir]`; paths resolve from the package
 * root, so it works from any working directory. Rerunning it rewrites the same bytes.
 *
 * Each example model is an entry in EXAMPLE_MODELS with a lazy `build()`:
 * - `iris`: the tabular example (`npm start`), trained here on Fisher's Iris data
 *   (examples/tabular/train-iris.ts, milliseconds);
 * - `spam_classifier`: the text example, trained here on the SpamAssassin corpus
 *   (examples/text/train-spam.ts, about two seconds); skipped with a log line when the
 *   corpus package is not installed;
 * - `mlp_bench`: random weights, the benchmark model.
 * The image example's network is not made here: it comes from an optional package
 * (examples/image/make-image-repository.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { mlp } from '../tools/onnx/model-zoo';
import { packageRoot } from '../src/util/package-root';
import { RepositoryModel, WrittenModel, configText, writeRepositoryModel } from '../tools/onnx/repository-writer';
import { IRIS_DATA_PACKAGE, IRIS_FEATURES, IRIS_INPUT, IRIS_LABELS, IRIS_OUTPUT, trainIris } from './tabular/train-iris';
import { SPAM_CORPUS_PACKAGE, SPAM_FEATURES, SPAM_INPUT, SPAM_LABELS, SPAM_OUTPUT, trainSpam } from './text/train-spam';

export interface ExampleModel {
  name: string;
  /** Why the model cannot be made here (a package that is not installed); undefined when it can. */
  unavailable?(): string | undefined;
  build(): RepositoryModel;
}

export { IRIS_LABELS, SPAM_LABELS };

export const MLP_BENCH_LAYERS: readonly number[] = [512, 2048, 2048, 512, 10];

export const EXAMPLE_MODELS: readonly ExampleModel[] = [
  {
    name: 'iris',
    unavailable: () => missingPackage(IRIS_DATA_PACKAGE),
    build() {
      const { onnx } = trainIris();
      return {
        name: 'iris',
        versions: { 1: onnx },
        labels: IRIS_LABELS,
        config: configText({
          name: 'iris',
          maxBatchSize: 64,
          inputs: [{ name: IRIS_INPUT, datatype: 'FP32', dims: [IRIS_FEATURES.length] }],
          outputs: [{ name: IRIS_OUTPUT, datatype: 'FP32', dims: [IRIS_LABELS.length], labelFilename: 'labels.txt' }],
          extra: ['dynamic_batching { }'],
        }),
      };
    },
  },
  {
    name: 'spam_classifier',
    unavailable: () => missingPackage(SPAM_CORPUS_PACKAGE),
    build() {
      const { onnx } = trainSpam();
      return {
        name: 'spam_classifier',
        versions: { 1: onnx },
        labels: SPAM_LABELS,
        config: configText({
          name: 'spam_classifier',
          maxBatchSize: 64,
          inputs: [{ name: SPAM_INPUT, datatype: 'FP32', dims: [SPAM_FEATURES] }],
          outputs: [{ name: SPAM_OUTPUT, datatype: 'FP32', dims: [SPAM_LABELS.length], labelFilename: 'labels.txt' }],
          extra: ['dynamic_batching { }'],
        }),
      };
    },
  },
  {
    // The benchmark model: big enough that batching pays on a CPU (bench/README.md: `npm run bench:engine`, batching vs none).
    name: 'mlp_bench',
    build() {
      const model = mlp({ layers: MLP_BENCH_LAYERS, batchDim: 'batch', seed: 42 });
      return {
        name: 'mlp_bench',
        versions: { 1: model.bytes },
        config: configText({
          name: 'mlp_bench',
          maxBatchSize: 64,
          inputs: [{ name: model.inputName, datatype: 'FP32', dims: [MLP_BENCH_LAYERS[0]] }],
          outputs: [{ name: model.outputName, datatype: 'FP32', dims: [MLP_BENCH_LAYERS[MLP_BENCH_LAYERS.length - 1]] }],
          extra: ['dynamic_batching { }'],
        }),
      };
    },
  },
];

/** A message saying how to install `name` when require() cannot find it; undefined when it can. */
export function missingPackage(name: string): string | undefined {
  try {
    require.resolve(name);
    return undefined;
  } catch {
    return `the package ${name} is not installed (npm install --no-save ${name})`;
  }
}

export { packageRoot };

export function defaultExampleRepository(): string {
  return join(packageRoot(), 'examples', 'model_repository');
}

export interface MakeExampleRepositoryOptions {
  /** Called with one line per model written; default: none. */
  log?: (line: string) => void;
  /** Which models to write; default: all of EXAMPLE_MODELS. */
  models?: readonly ExampleModel[];
}

/** Writes the example models into `dir`; other models already there are left alone. */
export async function makeExampleRepository(
  dir: string = defaultExampleRepository(),
  options: MakeExampleRepositoryOptions = {},
): Promise<WrittenModel[]> {
  const { log, models = EXAMPLE_MODELS } = options;
  await mkdir(dir, { recursive: true });
  const written: WrittenModel[] = [];
  for (const example of models) {
    const reason = example.unavailable?.();
    if (reason !== undefined) {
      log?.(`skipped ${example.name}: ${reason}`);
      continue;
    }
    const started = performance.now();
    const result = await writeRepositoryModel(dir, example.build());
    written.push(result);
    const where = relative(process.cwd(), result.path) || '.';
    const size = (result.bytes / 1e6).toFixed(1);
    log?.(`wrote ${where} (versions ${result.versions.join(', ')}; ${size} MB; ${Math.round(performance.now() - started)} ms)`);
  }
  return written;
}

if (require.main === module) {
  const target = process.argv[2] ? resolve(process.argv[2]) : defaultExampleRepository();
  makeExampleRepository(target, { log: (line) => console.log(line) }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
