/**
 * InferTensorContents → the engine's tensor data. Each datatype reads exactly one repeated
 * field (Triton's table: INT8/INT16/INT32 share int_contents, UINT8/UINT16/UINT32 share
 * uint_contents); FP16 and BF16 have none and must come as raw contents. Values are
 * checked against the datatype's range, since a protobuf int32 holds more than an INT8.
 */
import { InvalidArgumentError } from '../../errors';
import { DataType, TensorData, allocateTypedArray } from '../../tensor/datatypes';
import type { WireTensorContents } from './grpc-messages';

export const CONTENTS_FIELD: Readonly<Record<DataType, keyof WireTensorContents | undefined>> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  BF16: undefined,
};

const NARROW_RANGES: Partial<Record<DataType, [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
};

/** `what` names the tensor in messages ("input 'INPUT0'"). */
export function tensorDataFromContents(datatype: DataType, count: number, contents: WireTensorContents, what: string): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) {
    throw new InvalidArgumentError(`${what}: ${datatype} has no typed contents field; send it in raw_input_contents`);
  }
  const values = contents[field];
  if (values.length !== count) {
    throw new InvalidArgumentError(`${what}: contents.${field} holds ${values.length} elements but the shape needs ${count}`);
  }
  if (datatype === 'BYTES') return (values as Buffer[]).slice();
  const out = allocateTypedArray(datatype, count);
  if (datatype === 'BOOL') {
    const bools = values as boolean[];
    for (let i = 0; i < count; i++) out[i] = bools[i] ? 1 : 0;
    return out;
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    // Decimal strings from the decoder: BigInt keeps every bit of a 64-bit value.
    const longs = values as string[];
    for (let i = 0; i < count; i++) out[i] = BigInt(longs[i]!);
    return out;
  }
  const numbers = values as number[];
  const range = NARROW_RANGES[datatype];
  if (range !== undefined) {
    const [min, max] = range;
    for (let i = 0; i < count; i++) {
      const v = numbers[i]!;
      if (v < min || v > max) {
        throw new InvalidArgumentError(`${what}: element ${i} of contents.${field} is ${v}, outside [${min}, ${max}] for ${datatype}`);
      }
    }
  }
  (out as Float64Array).set(numbers);
  return out;
}
