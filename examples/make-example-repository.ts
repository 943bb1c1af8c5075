/**
 * Writes the example model repository (examples/model_repository by default) that
 * `npm start` serves and the examples and benchmarks use. Run by `npm run prepare` as
 * `node dist/examples/make-example-repository.js [dir]`; paths resolve from the package
 * root, so it works from any working directory. Rerunning it rewrites the same bytes.
 *
 * Each example model is an entry in EXAMPLE_MODELS with a lazy `build()`, so one can be
 * replaced (mlp_classifier is due to become an Iris-trained classifier) without touching
 * the rest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { classifier, mlp } from '../src/onnx/model-zoo';
import { RepositoryModel, WrittenModel, configText, writeRepositoryModel } from '../src/onnx/repository-writer';

export interface ExampleModel {
  name: string;
  build(): RepositoryModel;
}

/** Iris-shaped (4 features, 3 classes) so score modules written for it keep working when trained weights arrive. */
export const IRIS_LABELS: readonly string[] = ['setosa', 'versicolor', 'virginica'];

export const MLP_BENCH_LAYERS: readonly number[] = [512, 2048, 2048, 512, 10];

export const EXAMPLE_MODELS: readonly ExampleModel[] = [
  {
    // Random (seeded) weights for now: the labels it prints are not predictions.
    name: 'mlp_classifier',
    build() {
      const model = classifier({ features: 4, hidden: [16], labels: IRIS_LABELS, seed: 2024 });
      return {
        name: 'mlp_classifier',
        versions: { 1: model.bytes },
        labels: model.labels,
        config: configText({
          name: 'mlp_classifier',
          maxBatchSize: 64,
          inputs: [{ name: model.inputName, datatype: 'FP32', dims: [4] }],
          outputs: [{ name: model.outputName, datatype: 'FP32', dims: [model.labels.length], labelFilename: 'labels.txt' }],
          extra: ['dynamic_batching { }'],
        }),
      };
    },
  },
  {
    // The benchmark model: big enough that batching pays on a CPU (see DESIGN.md).
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

/** The directory holding scoreline's package.json, found from this file (source or dist). */
export function packageRoot(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'scoreline') return dir;
    if (dirname(dir) === dir) throw new Error(`no scoreline package.json above ${from}`);
  }
}

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
