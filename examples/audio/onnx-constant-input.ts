/**
 * Turns one input of an exported ONNX model into a constant, without re-exporting it: the
 * graph input is removed and an initializer of the same name, holding the value, takes its
 * place, so every node that read the input reads the constant (subgraphs too: an If
 * branch sees its parent graph's initializers).
 *
 * Why the audio example needs it: Silero VAD takes its sample rate `sr` as an INT64 scalar
 * input, and a model with max_batch_size 0 cannot have a scalar input in Triton's config
 * (dims [1] may be reshaped to [] only when the model batches). The example serves 16 kHz
 * audio only, so the rate becomes part of the model.
 *
 * Field numbers are onnx.proto's: ModelProto.ir_version = 1, graph = 7; GraphProto.initializer
 * = 5, input = 11. An initializer that is not also a graph input needs IR version 4 or later.
 */
import * as protobuf from 'protobufjs';
import { encodeInitializer, type InitializerSpec } from '../../tools/onnx/onnx-builder';
import { Chunks, WireType, readFields, valueInfoName } from '../onnx-wire';

const WHO = 'withConstantInput';
/** The first IR version in which an initializer need not be listed among the graph's inputs. */
const MIN_IR_VERSION = 4;

export function withConstantInput(model: Uint8Array, constant: InitializerSpec): Uint8Array {
  const out = new Chunks();
  let irVersion: number | undefined;
  let removed = false;
  for (const field of readFields(model, WHO)) {
    if (field.number === 1 && field.wireType === WireType.VARINT) irVersion = protobuf.Reader.create(field.raw.subarray(1)).uint32();
    if (field.number !== 7 || field.wireType !== WireType.LENGTH_DELIMITED) {
      out.raw(field.raw);
      continue;
    }
    const graph = new Chunks();
    for (const g of readFields(field.payload, WHO)) {
      if (g.number === 11 && valueInfoName(g.payload, WHO) === constant.name) {
        removed = true;
        continue;
      }
      graph.raw(g.raw);
    }
    graph.bytes(5, encodeInitializer(constant));
    out.bytes(7, graph.finish());
  }
  if (!removed) throw new Error(`${WHO}: the model has no input named '${constant.name}'`);
  if (irVersion === undefined || irVersion < MIN_IR_VERSION) {
    throw new Error(`${WHO}: the model's IR version is ${irVersion ?? 'missing'}; an input can become a constant from IR version ${MIN_IR_VERSION}`);
  }
  return out.finish();
}
