/**
 * A small, deterministic classifier trainer: a multi-layer perceptron (no hidden layer is
 * softmax regression) fitted by full-batch Adam on the mean cross-entropy, with L2 weight
 * decay. Full batch and a seeded initialisation mean the same data and options always give
 * the same weights, so example models are reproducible files made at install time.
 *
 * The first layer reads CSR rows, so a bag-of-words model with thousands of columns costs
 * only its stored entries; later layers are dense. Layers come out in model-zoo's MlpLayer
 * form (weight [out, in] row-major, float32), ready for classifierToOnnx.
 */
import { InvalidArgumentError } from '../../src/errors';
import type { MlpLayer } from '../onnx/model-zoo';
import { seededRandom } from '../../src/util/seeded-random';
import type { SparseRows } from './sparse-rows';

export interface TrainClassifierOptions {
  classes: number;
  /** Hidden layer widths (ReLU); empty (the default) is softmax regression. */
  hidden?: readonly number[];
  epochs: number;
  /** Adam step size (default 0.01). */
  learningRate?: number;
  /** L2 penalty on weights, not biases (default 0). */
  l2?: number;
  /** Seeds the initial weights (default 1). */
  seed?: number;
}

export interface TrainedClassifier {
  layers: MlpLayer[];
  /** Training loss (mean cross-entropy plus the L2 term) before each epoch's update. */
  losses: number[];
}

// Module-scope copies: under jest, global lookups in hot loops go through a proxy.
const { exp, log, sqrt, max } = Math;

interface Parameters {
  inFeatures: number;
  outFeatures: number;
  weight: Float64Array;
  bias: Float64Array;
}

export function trainClassifier(data: SparseRows, labels: ArrayLike<number>, options: TrainClassifierOptions): TrainedClassifier {
  const { classes, hidden = [], epochs, learningRate = 0.01, l2 = 0, seed = 1 } = options;
  if (labels.length !== data.rows) throw new InvalidArgumentError(`trainClassifier: ${data.rows} rows but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new InvalidArgumentError(`trainClassifier: label ${y} of row ${i} is not in [0, ${classes})`);
  }
  const params = initialParameters([data.columns, ...hidden, classes], seed);
  const adam = params.map((p) => ({ weight: new AdamState(p.weight.length), bias: new AdamState(p.bias.length) }));
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const activations = forward(params, data);
    const probabilities = activations[activations.length - 1]!;
    losses.push(crossEntropy(probabilities, labels, classes) + l2Term(params, l2));
    const gradients = backward(params, data, activations, labels, l2);
    params.forEach((p, i) => {
      adam[i]!.weight.step(p.weight, gradients[i]!.weight, learningRate, epoch);
      adam[i]!.bias.step(p.bias, gradients[i]!.bias, learningRate, epoch);
    });
  }
  return { layers: params.map(toMlpLayer), losses };
}

/** Class probabilities, rows × classes, row-major: the forward pass the ONNX export computes. */
export function predictProbabilities(layers: readonly MlpLayer[], data: SparseRows): Float64Array {
  const params = layers.map((l) => ({ inFeatures: l.inFeatures, outFeatures: l.outFeatures, weight: Float64Array.from(l.weight), bias: Float64Array.from(l.bias) }));
  if (params[0]!.inFeatures !== data.columns) {
    throw new InvalidArgumentError(`predictProbabilities: the model takes ${params[0]!.inFeatures} features, the rows have ${data.columns}`);
  }
  const activations = forward(params, data);
  return activations[activations.length - 1]!;
}

/** The most probable class of each row. */
export function predictClasses(layers: readonly MlpLayer[], data: SparseRows): Int32Array {
  const probabilities = predictProbabilities(layers, data);
  const classes = layers[layers.length - 1]!.outFeatures;
  const out = new Int32Array(data.rows);
  for (let r = 0; r < data.rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[r * classes + c]! > probabilities[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Uniform in ±1/sqrt(fan_in), as model-zoo's mlp and PyTorch's Linear start. */
function initialParameters(sizes: readonly number[], seed: number): Parameters[] {
  const random = seededRandom(seed);
  const params: Parameters[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [inFeatures, outFeatures] = [sizes[i]!, sizes[i + 1]!];
    if (!Number.isInteger(outFeatures) || outFeatures < 1) throw new InvalidArgumentError(`trainClassifier: layer width ${outFeatures} is not a positive integer`);
    const bound = 1 / sqrt(inFeatures);
    const weight = new Float64Array(inFeatures * outFeatures);
    for (let k = 0; k < weight.length; k++) weight[k] = (random() * 2 - 1) * bound;
    const bias = new Float64Array(outFeatures);
    for (let k = 0; k < bias.length; k++) bias[k] = (random() * 2 - 1) * bound;
    params.push({ inFeatures, outFeatures, weight, bias });
  }
  return params;
}

/** Each layer's output for every row (post-ReLU for hidden layers, softmax for the last). */
function forward(params: readonly Parameters[], data: SparseRows): Float64Array[] {
  const n = data.rows;
  const outputs: Float64Array[] = [];
  params.forEach((p, layer) => {
    const { inFeatures, outFeatures, weight, bias } = p;
    const z = new Float64Array(n * outFeatures);
    if (layer === 0) {
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outFeatures; o++) {
          let sum = bias[o]!;
          const row = o * inFeatures;
          for (let k = data.rowStarts[r]!; k < data.rowStarts[r + 1]!; k++) sum += weight[row + data.indices[k]!]! * data.values[k]!;
          z[r * outFeatures + o] = sum;
        }
      }
    } else {
      const a = outputs[layer - 1]!;
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outFeatures; o++) {
          let sum = bias[o]!;
          for (let i = 0; i < inFeatures; i++) sum += weight[o * inFeatures + i]! * a[r * inFeatures + i]!;
          z[r * outFeatures + o] = sum;
        }
      }
    }
    if (layer + 1 < params.length) {
      for (let k = 0; k < z.length; k++) if (z[k]! < 0) z[k] = 0;
    } else {
      softmaxRows(z, outFeatures);
    }
    outputs.push(z);
  });
  return outputs;
}

function softmaxRows(z: Float64Array, width: number): void {
  for (let r = 0; r < z.length; r += width) {
    let top = -Infinity;
    for (let c = 0; c < width; c++) top = max(top, z[r + c]!);
    let total = 0;
    for (let c = 0; c < width; c++) total += z[r + c] = exp(z[r + c]! - top);
    for (let c = 0; c < width; c++) z[r + c] = z[r + c]! / total;
  }
}

function crossEntropy(probabilities: Float64Array, labels: ArrayLike<number>, classes: number): number {
  let total = 0;
  for (let r = 0; r < labels.length; r++) total -= log(max(probabilities[r * classes + labels[r]!]!, 1e-12));
  return total / labels.length;
}

function l2Term(params: readonly Parameters[], l2: number): number {
  if (l2 === 0) return 0;
  let total = 0;
  for (const p of params) for (const w of p.weight) total += w * w;
  return (l2 / 2) * total;
}

function backward(
  params: readonly Parameters[],
  data: SparseRows,
  activations: readonly Float64Array[],
  labels: ArrayLike<number>,
  l2: number,
): { weight: Float64Array; bias: Float64Array }[] {
  const n = data.rows;
  const gradients = params.map((p) => ({ weight: new Float64Array(p.weight.length), bias: new Float64Array(p.bias.length) }));
  // d(mean cross-entropy)/d(logits) = (p - onehot(y)) / n
  const classes = params[params.length - 1]!.outFeatures;
  let delta = Float64Array.from(activations[activations.length - 1]!);
  for (let r = 0; r < n; r++) delta[r * classes + labels[r]!] -= 1;
  for (let k = 0; k < delta.length; k++) delta[k] = delta[k]! / n;

  for (let layer = params.length - 1; layer >= 0; layer--) {
    const { inFeatures, outFeatures, weight } = params[layer]!;
    const g = gradients[layer]!;
    for (let r = 0; r < n; r++) for (let o = 0; o < outFeatures; o++) g.bias[o] += delta[r * outFeatures + o]!;
    if (layer === 0) {
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outFeatures; o++) {
          const d = delta[r * outFeatures + o]!;
          if (d === 0) continue;
          const row = o * inFeatures;
          for (let k = data.rowStarts[r]!; k < data.rowStarts[r + 1]!; k++) g.weight[row + data.indices[k]!] += d * data.values[k]!;
        }
      }
    } else {
      const a = activations[layer - 1]!;
      const previous = new Float64Array(n * inFeatures);
      for (let r = 0; r < n; r++) {
        for (let o = 0; o < outFeatures; o++) {
          const d = delta[r * outFeatures + o]!;
          if (d === 0) continue;
          for (let i = 0; i < inFeatures; i++) {
            g.weight[o * inFeatures + i] += d * a[r * inFeatures + i]!;
            previous[r * inFeatures + i] += d * weight[o * inFeatures + i]!;
          }
        }
      }
      // ReLU: no gradient where the unit was off.
      for (let k = 0; k < previous.length; k++) if (a[k] === 0) previous[k] = 0;
      delta = previous;
    }
    if (l2 !== 0) for (let k = 0; k < weight.length; k++) g.weight[k] += l2 * weight[k]!;
  }
  return gradients;
}

class AdamState {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  constructor(size: number) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  step(param: Float64Array, gradient: Float64Array, rate: number, t: number): void {
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let k = 0; k < param.length; k++) {
      const g = gradient[k]!;
      this.m[k] = b1 * this.m[k]! + (1 - b1) * g;
      this.v[k] = b2 * this.v[k]! + (1 - b2) * g * g;
      param[k] -= (rate * (this.m[k]! / c1)) / (sqrt(this.v[k]! / c2) + eps);
    }
  }
}

function toMlpLayer(p: Parameters): MlpLayer {
  return { inFeatures: p.inFeatures, outFeatures: p.outFeatures, weight: Float32Array.from(p.weight), bias: Float32Array.from(p.bias) };
}
