/**
 * Named factories for the models the project's tests, examples and benchmarks use. Each
 * returns the ONNX bytes together with what a test needs to compute the expected outputs
 * without onnxruntime (weights, factors, labels) and the graph's inputs and outputs.
 *
 * Weights come from a seeded PRNG, so a factory called with the same options always gives
 * the same bytes.
 */
import { DATATYPES, DataType } from '../../src/tensor/datatypes';
import { InitializerSpec, NodeSpec, OnnxDim, ValueInfoSpec, attr, encodeModel } from './onnx-builder';
import { seededRandom, type RandomSource } from '../../src/util/seeded-random';

/** `count` float32 weights uniform in [-bound, bound). */
function uniformFloat32(random: RandomSource, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}

export interface OnnxModel {
  bytes: Uint8Array;
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
}

export interface MlpLayer {
  inFeatures: number;
  outFeatures: number;
  /** [outFeatures, inFeatures], row-major (the Gemm uses transB = 1). */
  weight: Float32Array;
  /** [outFeatures]. */
  bias: Float32Array;
}

export interface MlpModel extends OnnxModel {
  layers: MlpLayer[];
  /** Relu follows every layer but the last; softmax (axis 1) follows the last when set. */
  softmax: boolean;
  inputName: string;
  outputName: string;
}

export interface MlpOptions {
  /** Feature counts, input first: [512, 2048, 2048, 512, 10] is four Gemm layers. */
  layers: readonly number[];
  /** The first dim of input and output: a symbolic name (batchable) or a fixed size. */
  batchDim?: OnnxDim;
  seed?: number;
  softmax?: boolean;
  inputName?: string;
  outputName?: string;
}

/**
 * A float32 multi-layer perceptron: Gemm (+ Relu) per layer. Weights and biases are
 * uniform in [-1, 1) / sqrt(fan_in), the scale PyTorch's Linear starts from, so
 * activations neither vanish nor explode through deep stacks.
 */
export function mlp(options: MlpOptions): MlpModel {
  const { layers: sizes, batchDim = 'batch', seed = 1, softmax = false } = options;
  const inputName = options.inputName ?? 'INPUT0';
  const outputName = options.outputName ?? 'OUTPUT0';
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`mlp layers must be two or more positive integers, got [${sizes.join(', ')}]`);
  }
  const random = seededRandom(seed);
  const layers: MlpLayer[] = [];
  const nodes: NodeSpec[] = [];
  const initializers: InitializerSpec[] = [];
  let current = inputName;
  for (let i = 0; i + 1 < sizes.length; i++) {
    const [inFeatures, outFeatures] = [sizes[i], sizes[i + 1]];
    const bound = 1 / Math.sqrt(inFeatures);
    const weight = uniformFloat32(random, outFeatures * inFeatures, bound);
    const bias = uniformFloat32(random, outFeatures, bound);
    layers.push({ inFeatures, outFeatures, weight, bias });
    initializers.push(
      { name: `fc${i}.weight`, datatype: 'FP32', dims: [outFeatures, inFeatures], data: weight },
      { name: `fc${i}.bias`, datatype: 'FP32', dims: [outFeatures], data: bias },
    );
    const last = i + 2 === sizes.length;
    const gemmOut = last && !softmax ? outputName : `fc${i}`;
    nodes.push({
      opType: 'Gemm',
      name: `fc${i}`,
      inputs: [current, `fc${i}.weight`, `fc${i}.bias`],
      outputs: [gemmOut],
      attributes: { transB: attr.int(1) },
    });
    current = gemmOut;
    if (!last) {
      nodes.push({ opType: 'Relu', name: `relu${i}`, inputs: [current], outputs: [`relu${i}`] });
      current = `relu${i}`;
    }
  }
  if (softmax) {
    nodes.push({ opType: 'Softmax', name: 'softmax', inputs: [current], outputs: [outputName], attributes: { axis: attr.int(1) } });
  }
  const inputs: ValueInfoSpec[] = [{ name: inputName, datatype: 'FP32', dims: [batchDim, sizes[0]] }];
  const outputs: ValueInfoSpec[] = [{ name: outputName, datatype: 'FP32', dims: [batchDim, sizes[sizes.length - 1]] }];
  const bytes = encodeModel({ graph: { name: 'mlp', inputs, outputs, nodes, initializers } });
  return { bytes, inputs, outputs, layers, softmax, inputName, outputName };
}

export interface ClassifierOptions {
  features?: number;
  hidden?: readonly number[];
  /** One per class; their count is the number of classes. */
  labels?: readonly string[];
  seed?: number;
  batchDim?: OnnxDim;
}

export interface ClassifierModel extends MlpModel {
  labels: string[];
}

export const DEFAULT_CLASSIFIER_LABELS: readonly string[] = ['cat', 'dog', 'bird'];

/** An MLP ending in softmax, FP32 [batch, features] → probabilities [batch, classes]. */
export function classifier(options: ClassifierOptions = {}): ClassifierModel {
  const { features = 4, hidden = [8], labels = DEFAULT_CLASSIFIER_LABELS, seed = 7, batchDim = 'batch' } = options;
  const model = mlp({ layers: [features, ...hidden, labels.length], seed, softmax: true, batchDim });
  return { ...model, labels: [...labels] };
}

/** INT32 INPUT0, INPUT1 [batch, width] → OUTPUT0 = a + b, OUTPUT1 = a − b (Triton's "simple"). */
export function addSub(options: { width?: number; batchDim?: OnnxDim } = {}): OnnxModel & { width: number } {
  const { width = 16, batchDim = 'batch' } = options;
  const io = (name: string): ValueInfoSpec => ({ name, datatype: 'INT32', dims: [batchDim, width] });
  const inputs = [io('INPUT0'), io('INPUT1')];
  const outputs = [io('OUTPUT0'), io('OUTPUT1')];
  const nodes: NodeSpec[] = [
    { opType: 'Add', name: 'add', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT0'] },
    { opType: 'Sub', name: 'sub', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT1'] },
  ];
  return { bytes: encodeModel({ graph: { name: 'add_sub', inputs, outputs, nodes } }), inputs, outputs, width };
}

/** BYTES (ONNX STRING) INPUT0 [batch, 1] → OUTPUT0, unchanged. */
export function stringIdentity(options: { batchDim?: OnnxDim } = {}): OnnxModel {
  const { batchDim = 'batch' } = options;
  const inputs: ValueInfoSpec[] = [{ name: 'INPUT0', datatype: 'BYTES', dims: [batchDim, 1] }];
  const outputs: ValueInfoSpec[] = [{ name: 'OUTPUT0', datatype: 'BYTES', dims: [batchDim, 1] }];
  const nodes: NodeSpec[] = [{ opType: 'Identity', name: 'identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] }];
  return { bytes: encodeModel({ graph: { name: 'string_identity', inputs, outputs, nodes } }), inputs, outputs };
}

/**
 * FP32 A [n] + B [m] → SUM [k], dims symbolic and unrelated, so any two lengths pass
 * request validation; lengths that do not broadcast (neither equal nor 1) fail inside
 * onnxruntime's Add node at run time: a real run failure for the engine's error paths.
 */
export function unbroadcastableAdd(): OnnxModel {
  const inputs: ValueInfoSpec[] = [
    { name: 'A', datatype: 'FP32', dims: ['n'] },
    { name: 'B', datatype: 'FP32', dims: ['m'] },
  ];
  const outputs: ValueInfoSpec[] = [{ name: 'SUM', datatype: 'FP32', dims: ['k'] }];
  const nodes: NodeSpec[] = [{ opType: 'Add', name: 'add', inputs: ['A', 'B'], outputs: ['SUM'] }];
  return { bytes: encodeModel({ graph: { name: 'unbroadcastable_add', inputs, outputs, nodes } }), inputs, outputs };
}

/** A model that cannot batch (no symbolic dims): FP32 INPUT0 [size] → OUTPUT0 = factor · x. */
export function fixedShape(options: { size?: number; factor?: number } = {}): OnnxModel & { size: number; factor: number } {
  const { size = 4, factor = 2 } = options;
  const model = scaleGraph('fixed', [size], factor);
  return { ...model, size, factor };
}

/**
 * FP32 INPUT0 [batch, n] → OUTPUT0 = k · x; both dims symbolic, for variable-shape
 * batching and for versions whose outputs differ (k = version).
 */
export function scaleBy(k: number, options: { batchDim?: OnnxDim; featureDim?: OnnxDim } = {}): OnnxModel & { factor: number } {
  const { batchDim = 'batch', featureDim = 'n' } = options;
  return { ...scaleGraph('scale', [batchDim, featureDim], k), factor: k };
}

function scaleGraph(name: string, dims: OnnxDim[], factor: number): OnnxModel {
  const inputs: ValueInfoSpec[] = [{ name: 'INPUT0', datatype: 'FP32', dims }];
  const outputs: ValueInfoSpec[] = [{ name: 'OUTPUT0', datatype: 'FP32', dims }];
  const initializers: InitializerSpec[] = [{ name: 'factor', datatype: 'FP32', dims: [], data: Float32Array.of(factor) }];
  const nodes: NodeSpec[] = [{ opType: 'Mul', name: 'scale', inputs: ['INPUT0', 'factor'], outputs: ['OUTPUT0'] }];
  return { bytes: encodeModel({ graph: { name, inputs, outputs, nodes, initializers } }), inputs, outputs };
}

/**
 * The datatypes onnxruntime's CPU Identity passes through and onnxruntime-node can feed
 * and fetch (checked against onnxruntime-node 1.30 by test/onnx/model-zoo.test.ts).
 * BF16 is left out: onnxruntime-node has no bfloat16 tensor type.
 */
export const IDENTITY_DATATYPES: readonly DataType[] = DATATYPES.filter((d) => d !== 'BF16');

/** The input and output names identityAll uses for a datatype (BYTES is named STRING, as ONNX calls it). */
export function identityTensorNames(datatype: DataType): { input: string; output: string } {
  const suffix = datatype === 'BYTES' ? 'STRING' : datatype;
  return { input: `INPUT_${suffix}`, output: `OUTPUT_${suffix}` };
}

/** One Identity per datatype: INPUT_FP32 [batch, n] → OUTPUT_FP32, and so on. */
export function identityAll(options: { datatypes?: readonly DataType[] } = {}): OnnxModel & { datatypes: DataType[] } {
  const datatypes = [...(options.datatypes ?? IDENTITY_DATATYPES)];
  const inputs: ValueInfoSpec[] = [];
  const outputs: ValueInfoSpec[] = [];
  const nodes: NodeSpec[] = [];
  for (const datatype of datatypes) {
    const { input, output } = identityTensorNames(datatype);
    inputs.push({ name: input, datatype, dims: ['batch', 'n'] });
    outputs.push({ name: output, datatype, dims: ['batch', 'n'] });
    nodes.push({ opType: 'Identity', name: `identity_${datatype.toLowerCase()}`, inputs: [input], outputs: [output] });
  }
  return { bytes: encodeModel({ graph: { name: 'identity_all', inputs, outputs, nodes } }), inputs, outputs, datatypes };
}

/**
 * A stateful model for the sequence batcher: an accumulator. FP32 INPUT [batch, width] and
 * the implicit state STATE_IN (same shape) → OUTPUT = INPUT + STATE_IN, STATE_OUT = OUTPUT,
 * so each step's OUTPUT is the running sum of the sequence's inputs. It also echoes its
 * control inputs: START, END (INT32 [batch, 1]) and CORRID (UINT64 [batch, 1]) come back
 * as START_SEEN, END_SEEN, CORRID_SEEN. `batched: false` drops the batch dim (for
 * max_batch_size 0): INPUT [width], controls [1]. `corrid: 'BYTES'` makes CORRID a string
 * tensor, for string correlation IDs.
 */
export function accumulator(
  options: { width?: number; batched?: boolean; corrid?: 'UINT64' | 'BYTES'; flags?: 'INT32' | 'FP32' | 'BOOL'; ready?: boolean } = {},
): OnnxModel & { width: number } {
  const { width = 4, batched = true, corrid = 'UINT64', flags = 'INT32', ready = false } = options;
  const lead: OnnxDim[] = batched ? ['batch'] : [];
  const t = (name: string, datatype: DataType, dims: OnnxDim[]): ValueInfoSpec => ({ name, datatype, dims: [...lead, ...dims] });
  // Each control input comes back as <NAME>_SEEN, so a test reads what the engine fed it.
  const controls = ['START', 'END', ...(ready ? ['READY'] : [])];
  const inputs = [t('INPUT', 'FP32', [width]), t('STATE_IN', 'FP32', [width]), ...controls.map((c) => t(c, flags, [1])), t('CORRID', corrid, [1])];
  const outputs = [t('OUTPUT', 'FP32', [width]), t('STATE_OUT', 'FP32', [width]), ...controls.map((c) => t(`${c}_SEEN`, flags, [1])), t('CORRID_SEEN', corrid, [1])];
  const nodes: NodeSpec[] = [
    { opType: 'Add', name: 'add', inputs: ['INPUT', 'STATE_IN'], outputs: ['OUTPUT'] },
    { opType: 'Identity', name: 'state', inputs: ['OUTPUT'], outputs: ['STATE_OUT'] },
    ...controls.map((c): NodeSpec => ({ opType: 'Identity', name: c.toLowerCase(), inputs: [c], outputs: [`${c}_SEEN`] })),
    { opType: 'Identity', name: 'corrid', inputs: ['CORRID'], outputs: ['CORRID_SEEN'] },
  ];
  return { bytes: encodeModel({ graph: { name: 'accumulator', inputs, outputs, nodes } }), inputs, outputs, width };
}
