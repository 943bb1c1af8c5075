/**
 * Builds ONNX ModelProto bytes from a plain description of a graph. Field numbers follow
 * onnx/onnx.proto (proto2); only the parts the project's models use are covered:
 * tensor-typed inputs and outputs (fixed or symbolic dims), raw-data initializers, nodes
 * with int/float/string/ints/floats attributes, one opset import.
 *
 * The output depends only on the description (no timestamps, no host names), so a model
 * made twice from the same description is byte-for-byte the same file.
 */
import { endianness } from 'node:os';
import { InvalidArgumentError } from '../errors';
import { DataType, NumericTypedArray, dataTypeInfo, elementCount } from '../tensor/datatypes';
import { ProtobufWriter } from './protobuf-writer';

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
  const model = new ProtobufWriter();
  model.varint(1, spec.irVersion ?? DEFAULT_IR_VERSION); // ir_version
  model.string(2, spec.producerName ?? PRODUCER_NAME); // producer_name
  if (spec.docString) model.string(6, spec.docString); // doc_string
  model.message(7, encodeGraph(spec.graph)); // graph
  // opset_import: the default domain ("") is left out, as onnx's own helpers do.
  model.message(8, new ProtobufWriter().varint(2, spec.opsetVersion ?? DEFAULT_OPSET_VERSION));
  return model.finish();
}

function encodeGraph(graph: GraphSpec): ProtobufWriter {
  const w = new ProtobufWriter();
  for (const node of graph.nodes) w.message(1, encodeNode(node)); // node
  w.string(2, graph.name); // name
  for (const init of graph.initializers ?? []) w.message(5, encodeInitializer(init)); // initializer
  for (const input of graph.inputs) w.message(11, encodeValueInfo(input)); // input
  for (const output of graph.outputs) w.message(12, encodeValueInfo(output)); // output
  return w;
}

function encodeNode(node: NodeSpec): ProtobufWriter {
  const w = new ProtobufWriter();
  for (const input of node.inputs) w.string(1, input); // input
  for (const output of node.outputs) w.string(2, output); // output
  if (node.name) w.string(3, node.name); // name
  w.string(4, node.opType); // op_type
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, encodeAttribute(name, value)); // attribute
  if (node.domain) w.string(7, node.domain); // domain
  return w;
}

function encodeAttribute(name: string, spec: AttributeSpec): ProtobufWriter {
  const w = new ProtobufWriter();
  w.string(1, name); // name
  switch (spec.type) {
    case 'float':
      w.float(2, spec.value); // f
      break;
    case 'int':
      w.varint(3, spec.value); // i
      break;
    case 'string':
      w.string(4, spec.value); // s
      break;
    case 'floats':
      w.packedFloats(7, spec.value); // floats
      break;
    case 'ints':
      w.packedVarints(8, spec.value); // ints
      break;
  }
  w.varint(20, ATTRIBUTE_TYPE[spec.type]); // type
  return w;
}

/** One TensorProto (an initializer's raw data, dims and name); exported for examples that add a constant to an exported model. */
export function encodeInitializer(init: InitializerSpec): ProtobufWriter {
  const info = dataTypeInfo(init.datatype);
  if (!info.arrayType || !(init.data instanceof info.arrayType)) {
    throw new InvalidArgumentError(`initializer '${init.name}': ${init.datatype} data must be a ${info.arrayType?.name ?? 'typed array'}`);
  }
  const count = elementCount(init.dims);
  if (init.data.length !== count) {
    throw new InvalidArgumentError(`initializer '${init.name}': dims [${init.dims.join(', ')}] hold ${count} elements, data has ${init.data.length}`);
  }
  const w = new ProtobufWriter();
  w.packedVarints(1, init.dims); // dims
  w.varint(2, onnxElementType(init.datatype)); // data_type
  w.string(8, init.name); // name
  w.bytes(9, littleEndianBytes(init.data)); // raw_data
  return w;
}

function encodeValueInfo(value: ValueInfoSpec): ProtobufWriter {
  const tensor = new ProtobufWriter();
  tensor.varint(1, onnxElementType(value.datatype)); // TypeProto.Tensor.elem_type
  if (value.dims) {
    const shape = new ProtobufWriter();
    for (const dim of value.dims) {
      const d = new ProtobufWriter();
      if (typeof dim === 'number') d.varint(1, dim); // dim_value
      else d.string(2, dim); // dim_param
      shape.message(1, d); // TensorShapeProto.dim
    }
    tensor.message(2, shape); // TypeProto.Tensor.shape
  }
  const w = new ProtobufWriter();
  w.string(1, value.name); // ValueInfoProto.name
  w.message(2, new ProtobufWriter().message(1, tensor)); // type { tensor_type }
  return w;
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
