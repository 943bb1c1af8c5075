/**
 * The response cache's key: one canonical byte string for "the same request to the same
 * model version". Triton hashes the model name, the version and each input (sorted by name)
 * with its bytes; scoreline's key holds those and also each input's datatype and shape (two
 * requests whose bytes agree but whose shapes differ are different requests) and the
 * requested outputs with their classification count, in request order: a response carries
 * only the outputs that were asked for, so a request for a subset, or for top-N classes,
 * must never be answered with another request's response. `binary_data` is left out: it
 * picks the wire encoding, not the content, so a JSON and a binary request share an entry.
 *
 * The key also names the load of the model (and of an ensemble's composing models) that
 * answers, so a reload of the same version never gets the old model's responses.
 *
 * Every variable-length field is length-prefixed, so no two different requests can encode
 * to the same bytes (the cache compares these bytes in full, a hash only finds the slot).
 */
import type { DataType, TensorData } from '../../tensor/datatypes';
import type { RequestedOutput } from '../models/inference-types';

export interface CacheKeyInput {
  name: string;
  datatype: DataType;
  shape: readonly number[];
  data: TensorData;
}

export interface CacheKeyRequest {
  modelName: string;
  version: number;
  /**
   * Which load of the model answers (load-identity.ts), an ensemble's followed by its
   * composing models': a reload never serves the previous model's answers. None: [].
   */
  loads?: readonly number[];
  inputs: readonly CacheKeyInput[];
  /** Undefined or empty: every output (the same request either way). */
  outputs?: readonly RequestedOutput[];
}

class KeyWriter {
  private readonly parts: Buffer[] = [];

  u32(n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(n >>> 0);
    this.parts.push(b);
  }

  /** Dims are integers up to 2^53 (int64 in the protocol, checked by validation). */
  f64(n: number): void {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(n);
    this.parts.push(b);
  }

  text(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.byteLength);
    this.parts.push(b);
  }

  bytes(view: ArrayBufferView): void {
    this.u32(view.byteLength);
    // A view, not a copy: concat copies once at the end.
    this.parts.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const byName = (a: CacheKeyInput, b: CacheKeyInput): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The canonical key bytes of a request (what the cache stores and compares). */
export function responseCacheKey(request: CacheKeyRequest): Buffer {
  const w = new KeyWriter();
  w.text(request.modelName);
  w.f64(request.version);
  const loads = request.loads ?? [];
  w.u32(loads.length);
  for (const l of loads) w.f64(l);
  const inputs = [...request.inputs].sort(byName);
  w.u32(inputs.length);
  for (const input of inputs) {
    w.text(input.name);
    w.text(input.datatype);
    w.u32(input.shape.length);
    for (const d of input.shape) w.f64(d);
    if (input.datatype === 'BYTES') {
      const elements = input.data as Uint8Array[];
      w.u32(elements.length);
      for (const e of elements) w.bytes(e);
    } else {
      w.bytes(input.data as ArrayBufferView);
    }
  }
  const outputs = request.outputs ?? [];
  w.u32(outputs.length);
  for (const o of outputs) {
    w.text(o.name);
    w.f64(o.classification && o.classification > 0 ? o.classification : 0);
  }
  return w.finish();
}
