/**
 * Exports trained layers as an ONNX classifier: Gemm (transB) per layer, Relu between
 * layers, Softmax (axis 1) at the end: FP32 [batch, features] → probabilities
 * [batch, classes]. The same graph model-zoo's `classifier` builds from random weights,
 * here from weights a trainer found.
 */
import { InvalidArgumentError } from '../../src/errors';
import { InitializerSpec, NodeSpec, OnnxDim, ValueInfoSpec, attr, encodeModel } from '../onnx/onnx-builder';
import type { MlpLayer } from '../onnx/model-zoo';

export interface ClassifierOnnxOptions {
  inputName?: string;
  outputName?: string;
  /** The first dim of input and output; symbolic (the default, 'batch') lets the engine batch. */
  batchDim?: OnnxDim;
  /** Graph name and doc string, for whoever opens the file. */
  graphName?: string;
  docString?: string;
}

export function classifierToOnnx(layers: readonly MlpLayer[], options: ClassifierOnnxOptions = {}): Uint8Array {
  const { inputName = 'INPUT0', outputName = 'OUTPUT0', batchDim = 'batch', graphName = 'classifier', docString } = options;
  if (layers.length === 0) throw new InvalidArgumentError('classifierToOnnx: no layers');
  layers.forEach((layer, i) => {
    if (i > 0 && layer.inFeatures !== layers[i - 1]!.outFeatures) {
      throw new InvalidArgumentError(`classifierToOnnx: layer ${i} takes ${layer.inFeatures} inputs, layer ${i - 1} gives ${layers[i - 1]!.outFeatures}`);
    }
  });
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [];
  let current = inputName;
  layers.forEach((layer, i) => {
    initializers.push(
      { name: `fc${i}.weight`, datatype: 'FP32', dims: [layer.outFeatures, layer.inFeatures], data: layer.weight },
      { name: `fc${i}.bias`, datatype: 'FP32', dims: [layer.outFeatures], data: layer.bias },
    );
    nodes.push({ opType: 'Gemm', name: `fc${i}`, inputs: [current, `fc${i}.weight`, `fc${i}.bias`], outputs: [`fc${i}`], attributes: { transB: attr.int(1) } });
    current = `fc${i}`;
    if (i + 1 < layers.length) {
      nodes.push({ opType: 'Relu', name: `relu${i}`, inputs: [current], outputs: [`relu${i}`] });
      current = `relu${i}`;
    }
  });
  nodes.push({ opType: 'Softmax', name: 'softmax', inputs: [current], outputs: [outputName], attributes: { axis: attr.int(1) } });
  const inputs: ValueInfoSpec[] = [{ name: inputName, datatype: 'FP32', dims: [batchDim, layers[0]!.inFeatures] }];
  const outputs: ValueInfoSpec[] = [{ name: outputName, datatype: 'FP32', dims: [batchDim, layers[layers.length - 1]!.outFeatures] }];
  return encodeModel({ graph: { name: graphName, inputs, outputs, nodes, initializers }, docString });
}
