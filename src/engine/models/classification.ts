/**
 * Triton's classification extension: an output asked for with `classification: N` comes
 * back as a BYTES tensor holding, per batch item, the N highest values as
 * "value:index" or "value:index:label" (value with 6 decimals, as Triton prints it).
 */
import { InvalidArgumentError } from '../../errors';
import { NumericTypedArray, dataTypeInfo } from '../../tensor/datatypes';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../../tensor/half-float';
import type { Tensor } from './inference-types';

function valueAt(t: Tensor, i: number): number {
  const v = (t.data as NumericTypedArray)[i]!;
  if (t.datatype === 'FP16') return float16BitsToFloat32(v as number);
  if (t.datatype === 'BF16') return bfloat16BitsToFloat32(v as number);
  return Number(v);
}

/**
 * @param batched whether the first dim is the batch dim (model max_batch_size > 0); each
 *   batch item is classified separately, otherwise the whole tensor is one item.
 */
export function topKClassification(t: Tensor, count: number, batched: boolean, labels: readonly string[] | undefined): Tensor {
  if (t.datatype === 'BYTES' || t.datatype === 'BOOL' || dataTypeInfo(t.datatype).arrayType === undefined) {
    throw new InvalidArgumentError(`class result not available for output '${t.name}' with datatype ${t.datatype}`);
  }
  const items = batched ? (t.shape[0] ?? 1) : 1;
  const total = t.shape.reduce((a, b) => a * b, 1);
  const perItem = items === 0 ? 0 : total / items;
  const k = Math.min(count, perItem);
  const out: Uint8Array[] = [];
  for (let item = 0; item < items; item++) {
    const base = item * perItem;
    const order = Array.from({ length: perItem }, (_, i) => i);
    // Stable sort: equal values keep index order, so results are deterministic.
    order.sort((a, b) => valueAt(t, base + b) - valueAt(t, base + a));
    for (let r = 0; r < k; r++) {
      const index = order[r]!;
      const label = labels?.[index];
      const text = `${valueAt(t, base + index).toFixed(6)}:${index}${label !== undefined ? `:${label}` : ''}`;
      out.push(Buffer.from(text, 'utf8'));
    }
  }
  return { name: t.name, datatype: 'BYTES', shape: batched ? [items, k] : [k], data: out };
}
