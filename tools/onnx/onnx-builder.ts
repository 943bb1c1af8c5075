/**
 * Builds ONNX ModelProto bytes from a plain description of a graph, encoded by protobufjs
 * with onnx-proto.ts's subset of onnx/onnx.proto; only the parts the project's models use are covered:
 * tensor-typed inputs and outputs (fixed or symbolic dims), raw-data initializers, nodes
 * with int/float/string/ints/floats attributes, one opset import.
 *
 * The output depends only on the description (no timestamps, no host names), so a model
 * made twice from the same description is byte-for-byte the same file.
 */
import { endianness } from 'node:os';
import { InvalidArgumentError } from '../../src/errors';
import { DataType, NumericTypedArray, dataTypeInfo, elementCount } from '../../src/tensor/datatypes';
import { ModelProto, TensorProto } from './onnx-proto';

/** ir_version 8 (ONNX 1.10+) is read by every onnxruntime the project supports. */
export const DEFAULT_IR_VERSION = 8;
/** Opset 17: Identity, Gemm, Softmax, Add, Sub, Mul all have their current forms. */
export const DEFAULT_OPSET_VERSION = 17;
export const PRODUCER_NAME = 'scoreline';

/** TensorProto.DataType values, keyed by the KServe datatype that carries them. */
const ELEMENT_TYPES: Record<DataType, number> = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8, // STRING
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
  BF16: 16,
};

/** ONNX TensorProto.DataType number for a KServe datatype (BYTES → STRING). */
export function onnxElementType(datatype: DataType): number {
  return ELEMENT_TYPES[datatype];
}

/** A dimension: a fixed size, or a symbolic name such as "batch" (dim_param). */
export type OnnxDim = number | string;

export interface ValueInfoSpec {
  name: string;
  datatype: DataType;
  /** Omit for a tensor of unknown rank. */
  dims?: readonly OnnxDim[];
}

export type AttributeSpec =
  | { type: 'int'; value: number | bigint }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: ReadonlyArray<number | bigint> }
  | { type: 'floats'; value: ArrayLike<number> };

/** Attribute constructors, so a JavaScript number says whether it is an int or a float. */
export const attr = {
  int: (value: number | bigint): AttributeSpec => ({ type: 'int', value }),
  float: (value: number): AttributeSpec => ({ type: 'float', value }),
  string: (value: string): AttributeSpec => ({ type: 'string', value }),
  ints: (value: ReadonlyArray<number | bigint>): AttributeSpec => ({ type: 'ints', value }),
  floats: (value: ArrayLike<number>): AttributeSpec => ({ type: 'floats', value }),
};

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** Operator set domain; omitted means the default ONNX domain. */
  domain?: string;
  /** Written in insertion order. */
  attributes?: Readonly<Record<string, AttributeSpec>>;
}

export interface InitializerSpec {
  name: string;
  /** Any fixed-size datatype; `data` must be the typed array that datatype uses. */
  datatype: Exclude<DataType, 'BYTES'>;
  dims: readonly number[];
  data: NumericTypedArray;
}

export interface GraphSpec {
  name: string;
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  /** Topologically sorted. */
  nodes: readonly NodeSpec[];
  initializers?: readonly InitializerSpec[];
}

export interface ModelSpec {
  graph: GraphSpec;
  opsetVersion?: number;
  irVersion?: number;
  producerName?: string;
  docString?: string;
}

// Attribute type discriminators (AttributeProto.AttributeType).
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

/** Serializes a model to ONNX protobuf bytes. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const model = {
    ir_version: spec.irVersion ?? DEFAULT_IR_VERSION,
    producer_name: spec.producerName ?? PRODUCER_NAME,
    ...(spec.docString ? { doc_string: spec.docString } : {}),
    graph: graphMessage(spec.graph),
    // opset_import: the default domain ("") is left out, as onnx's own helpers do.
    opset_import: [{ version: spec.opsetVersion ?? DEFAULT_OPSET_VERSION }],
  };
  return ModelProto.encode(ModelProto.create(model)).finish();
}

/** protobufjs takes 64-bit integers as numbers or decimal strings. */
const int64 = (value: number | bigint): number | string => (typeof value === 'bigint' ? value.toString() : value);

function graphMessage(graph: GraphSpec): object {
  return {
    node: graph.nodes.map(nodeMessage),
    name: graph.name,
    initializer: (graph.initializers ?? []).map(initializerMessage),
    input: graph.inputs.map(valueInfoMessage),
    output: graph.outputs.map(valueInfoMessage),
  };
}

function nodeMessage(node: NodeSpec): object {
  return {
    input: [...node.inputs],
    output: [...node.outputs],
    ...(node.name ? { name: node.name } : {}),
    op_type: node.opType,
    attribute: Object.entries(node.attributes ?? {}).map(([name, value]) => attributeMessage(name, value)),
    ...(node.domain ? { domain: node.domain } : {}),
  };
}

function attributeMessage(name: string, spec: AttributeSpec): object {
  const value = (() => {
    switch (spec.type) {
      case 'float':
        return { f: spec.value };
      case 'int':
        return { i: int64(spec.value) };
      case 'string':
        return { s: Buffer.from(spec.value, 'utf8') };
      case 'floats':
        return { floats: Array.from(spec.value) };
      case 'ints':
        return { ints: spec.value.map(int64) };
    }
  })();
  return { name, ...value, type: ATTRIBUTE_TYPE[spec.type] };
}

function initializerMessage(init: InitializerSpec): object {
  const info = dataTypeInfo(init.datatype);
  if (!info.arrayType || !(init.data instanceof info.arrayType)) {
    throw new InvalidArgumentError(`initializer '${init.name}': ${init.datatype} data must be a ${info.arrayType?.name ?? 'typed array'}`);
  }
  const count = elementCount(init.dims);
  if (init.data.length !== count) {
    throw new InvalidArgumentError(`initializer '${init.name}': dims [${init.dims.join(', ')}] hold ${count} elements, data has ${init.data.length}`);
  }
  return { dims: [...init.dims], data_type: onnxElementType(init.datatype), name: init.name, raw_data: littleEndianBytes(init.data) };
}

/** One TensorProto's bytes (an initializer's raw data, dims and name), for examples that add a constant to an exported model. */
export function encodeInitializer(init: InitializerSpec): Uint8Array {
  return TensorProto.encode(TensorProto.create(initializerMessage(init))).finish();
}

function valueInfoMessage(value: ValueInfoSpec): object {
  const shape = value.dims && { dim: value.dims.map((dim) => (typeof dim === 'number' ? { dim_value: dim } : { dim_param: dim })) };
  return { name: value.name, type: { tensor_type: { elem_type: onnxElementType(value.datatype), ...(shape ? { shape } : {}) } } };
}

/** raw_data is little-endian by definition; typed arrays use the host's byte order. */
function littleEndianBytes(data: NumericTypedArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const width = data.BYTES_PER_ELEMENT;
  if (endianness() === 'LE' || width === 1) return bytes;
  const swapped = new Uint8Array(bytes.byteLength);
  for (let i = 0; i < bytes.byteLength; i += width) {
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j];
  }
  return swapped;
}
