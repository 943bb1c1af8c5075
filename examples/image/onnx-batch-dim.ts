/**
 * Makes an exported ONNX model batchable without re-exporting it: the first dim of the
 * named inputs and outputs becomes the symbolic `batch`, outputs nobody asked for are
 * dropped (ISNet lists its six side outputs and decoder activations), and the graph's
 * intermediate value_info is dropped, since its shapes were recorded for batch 1 and would
 * contradict a larger batch (onnxruntime infers them again).
 *
 * It edits the protobuf wire format directly: fields it does not touch (the weights, the
 * nodes) are copied byte for byte. Field numbers are onnx.proto's: ModelProto.graph = 7;
 * GraphProto.input = 11, output = 12, value_info = 13; ValueInfoProto.name = 1, type = 2;
 * TypeProto.tensor_type = 1; Tensor.shape = 2; TensorShapeProto.dim = 1;
 * Dimension.dim_value = 1, dim_param = 2.
 */
import { Chunks, WireType, readFields as readWireFields, valueInfoName as wireValueInfoName } from '../onnx-wire';

const readFields = (bytes: Uint8Array) => readWireFields(bytes, 'makeBatchable');
const valueInfoName = (valueInfo: Uint8Array) => wireValueInfoName(valueInfo, 'makeBatchable');

export interface BatchableOptions {
  /** Inputs whose first dim becomes symbolic. */
  inputs: readonly string[];
  /** Outputs to keep (in the model's order), each with a symbolic first dim. */
  outputs: readonly string[];
  /** The symbolic name (default 'batch'). */
  dimName?: string;
}

export function makeBatchable(model: Uint8Array, options: BatchableOptions): Uint8Array {
  const { inputs, outputs, dimName = 'batch' } = options;
  const found = { inputs: new Set<string>(), outputs: new Set<string>() };
  const out = new Chunks();
  let sawGraph = false;
  for (const field of readFields(model)) {
    if (field.number !== 7 || field.wireType !== WireType.LENGTH_DELIMITED) {
      out.raw(field.raw);
      continue;
    }
    sawGraph = true;
    const graph = new Chunks();
    for (const g of readFields(field.payload)) {
      if (g.number === 13) continue; // value_info
      if (g.number === 11 || g.number === 12) {
        const name = valueInfoName(g.payload);
        const wanted = g.number === 11 ? inputs : outputs;
        if (g.number === 12 && !wanted.includes(name)) continue;
        if (wanted.includes(name)) {
          (g.number === 11 ? found.inputs : found.outputs).add(name);
          graph.bytes(g.number, withSymbolicFirstDim(g.payload, dimName, name));
          continue;
        }
      }
      graph.raw(g.raw);
    }
    out.bytes(7, graph.finish());
  }
  if (!sawGraph) throw new Error('makeBatchable: the bytes hold no ONNX graph');
  for (const [kind, names] of [['input', inputs], ['output', outputs]] as const) {
    const missing = names.filter((n) => !found[`${kind}s`].has(n));
    if (missing.length > 0) throw new Error(`makeBatchable: the model has no ${kind} named ${missing.map((n) => `'${n}'`).join(', ')}`);
  }
  return out.finish();
}

/** ValueInfoProto with its tensor shape's first dim replaced by dim_param `dimName`. */
function withSymbolicFirstDim(valueInfo: Uint8Array, dimName: string, name: string): Uint8Array {
  return rewrite(valueInfo, 2, (type) =>
    rewrite(type, 1, (tensor) =>
      rewrite(tensor, 2, (shape) => {
        const w = new Chunks();
        let first = true;
        for (const dim of readFields(shape)) {
          if (dim.number === 1 && first) {
            first = false;
            w.bytes(1, new Chunks().bytes(2, new TextEncoder().encode(dimName)).finish());
          } else w.raw(dim.raw);
        }
        if (first) throw new Error(`makeBatchable: '${name}' has a shape without dims`);
        return w.finish();
      }, name),
    name),
  name);
}

/** Copies `message`, replacing the payload of its (single) field `number` by `edit(payload)`. */
function rewrite(message: Uint8Array, number: number, edit: (payload: Uint8Array) => Uint8Array, name: string): Uint8Array {
  const w = new Chunks();
  let edited = false;
  for (const f of readFields(message)) {
    if (f.number === number && f.wireType === WireType.LENGTH_DELIMITED && !edited) {
      w.bytes(number, edit(f.payload));
      edited = true;
    } else w.raw(f.raw);
  }
  if (!edited) throw new Error(`makeBatchable: '${name}' is not a tensor with a known shape`);
  return w.finish();
}
