/**
 * Per-feature standardisation ((x - mean) / std), fitted on training rows and then folded
 * into a model's first layer, so the exported model takes the raw measurements and a
 * caller never has to know the training set's statistics.
 */
import { InvalidArgumentError } from '../../src/errors';
import type { MlpLayer } from '../onnx/model-zoo';

export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Means and (population) standard deviations of each column; a constant column gets std 1. */
export function fitStandardizer(rows: readonly (readonly number[])[]): Standardizer {
  if (rows.length === 0) throw new InvalidArgumentError('fitStandardizer: no rows');
  const width = rows[0]!.length;
  const mean = new Float64Array(width);
  const std = new Float64Array(width);
  for (const row of rows) for (let c = 0; c < width; c++) mean[c] += row[c]! / rows.length;
  for (const row of rows) for (let c = 0; c < width; c++) std[c] += (row[c]! - mean[c]!) ** 2 / rows.length;
  for (let c = 0; c < width; c++) std[c] = std[c]! > 0 ? Math.sqrt(std[c]!) : 1;
  return { mean, std };
}

export function standardize(rows: readonly (readonly number[])[], s: Standardizer): number[][] {
  return rows.map((row) => row.map((x, c) => (x - s.mean[c]!) / s.std[c]!));
}

/**
 * The layer that computes `layer(standardize(x))` from raw x:
 * W' = W / std (per input column), b' = b - W' · mean.
 */
export function foldStandardizer(layer: MlpLayer, s: Standardizer): MlpLayer {
  const { inFeatures, outFeatures } = layer;
  if (s.mean.length !== inFeatures) throw new InvalidArgumentError(`foldStandardizer: ${s.mean.length} statistics for a layer of ${inFeatures} inputs`);
  const weight = new Float32Array(layer.weight.length);
  const bias = new Float32Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let shift = 0;
    for (let i = 0; i < inFeatures; i++) {
      const w = layer.weight[o * inFeatures + i]! / s.std[i]!;
      weight[o * inFeatures + i] = w;
      shift += w * s.mean[i]!;
    }
    bias[o] = layer.bias[o]! - shift;
  }
  return { inFeatures, outFeatures, weight, bias };
}
