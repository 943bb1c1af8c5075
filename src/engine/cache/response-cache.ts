/**
 * Triton's `local` response cache: one store shared by every model of the engine, bounded
 * in bytes, least recently used entry evicted first. Keys are the canonical request bytes
 * of cache-key.ts; a hash of them picks the slot and the full key bytes are compared on
 * every lookup, so a hash collision is a miss, never another request's response (Triton
 * keeps only a 64-bit hash and documents that a collision may answer wrongly).
 *
 * An entry costs its key bytes, its tensors' bytes (names, datatypes, shapes, data; a BYTES
 * element also its 4-byte length) and a fixed overhead per entry and per tensor for the
 * objects around them. An entry larger than the whole cache is not inserted. Tensors are
 * copied in and copied out: a cached response holds no view into a batch's larger buffer
 * (which would keep memory the accounting does not see), and no caller can alter what a
 * later hit returns. Single-threaded (the I/O thread), so no locking.
 */
import { createHash } from 'node:crypto';
import type { TensorData } from '../../tensor/datatypes';
import type { Tensor } from '../models/inference-types';

/** Bytes charged per entry on top of its contents (map slot, entry object, arrays). */
export const CACHE_ENTRY_OVERHEAD_BYTES = 128;
/** Bytes charged per output tensor on top of its contents (tensor object, shape array). */
export const CACHE_TENSOR_OVERHEAD_BYTES = 64;

export type CacheInsertResult = 'inserted' | 'exists' | 'too_large';

interface Entry {
  key: Buffer;
  outputs: Tensor[];
  bytes: number;
}

export interface ResponseCacheOptions {
  /** Capacity in bytes (Triton's `--cache-config local,size=N`). */
  capacityBytes: number;
  /** Slot hash of the key bytes; sha256 unless given (tests pass a colliding one). */
  hash?: (key: Buffer) => string;
}

const sha256 = (key: Buffer): string => createHash('sha256').update(key).digest('base64');

function dataBytes(t: Tensor): number {
  if (t.datatype === 'BYTES') return (t.data as Uint8Array[]).reduce((sum, e) => sum + 4 + e.byteLength, 0);
  return (t.data as ArrayBufferView).byteLength;
}

/** What one entry of `key` and `outputs` is charged against the capacity. */
export function cacheEntryBytes(key: Buffer, outputs: readonly Tensor[]): number {
  let bytes = CACHE_ENTRY_OVERHEAD_BYTES + key.byteLength;
  for (const t of outputs) {
    bytes += CACHE_TENSOR_OVERHEAD_BYTES + Buffer.byteLength(t.name) + t.datatype.length + 8 * t.shape.length + dataBytes(t);
  }
  return bytes;
}

function copyTensor(t: Tensor): Tensor {
  const data: TensorData =
    t.datatype === 'BYTES'
      ? (t.data as Uint8Array[]).map((e) => Uint8Array.prototype.slice.call(e))
      : ((t.data as Exclude<TensorData, Uint8Array[]>).slice() as TensorData);
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
}

export class ResponseCache {
  readonly capacityBytes: number;
  private readonly hash: (key: Buffer) => string;
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private used = 0;
  private evicted = 0;

  constructor(options: ResponseCacheOptions) {
    if (!Number.isSafeInteger(options.capacityBytes) || options.capacityBytes <= 0) {
      throw new RangeError(`response cache capacity must be a positive integer number of bytes, got ${options.capacityBytes}`);
    }
    this.capacityBytes = options.capacityBytes;
    this.hash = options.hash ?? sha256;
  }

  get entryCount(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Entries removed to make room (collision replacements included). */
  get evictionCount(): number {
    return this.evicted;
  }

  /** The cached outputs of `key` (fresh copies), or undefined; a hit becomes the most recent entry. */
  lookup(key: Buffer): Tensor[] | undefined {
    const slot = this.hash(key);
    const entry = this.entries.get(slot);
    if (!entry || !entry.key.equals(key)) return undefined;
    this.entries.delete(slot);
    this.entries.set(slot, entry);
    return entry.outputs.map(copyTensor);
  }

  /**
   * Stores `outputs` under `key`, evicting least recently used entries until it fits.
   * 'exists': an equal key is cached already (a concurrent miss inserted first; Triton's
   * ALREADY_EXISTS). 'too_large': the entry alone exceeds the capacity; nothing changes.
   */
  insert(key: Buffer, outputs: readonly Tensor[]): CacheInsertResult {
    const slot = this.hash(key);
    const existing = this.entries.get(slot);
    if (existing && existing.key.equals(key)) return 'exists';
    const bytes = cacheEntryBytes(key, outputs);
    if (bytes > this.capacityBytes) return 'too_large';
    // A different key in the same slot (a hash collision): the newer request takes it.
    if (existing) this.remove(slot, existing);
    while (this.used + bytes > this.capacityBytes) {
      const [oldestSlot, oldest] = this.entries.entries().next().value as [string, Entry];
      this.remove(oldestSlot, oldest);
    }
    this.entries.set(slot, { key: Buffer.from(key), outputs: outputs.map(copyTensor), bytes });
    this.used += bytes;
    return 'inserted';
  }

  private remove(slot: string, entry: Entry): void {
    this.entries.delete(slot);
    this.used -= entry.bytes;
    this.evicted += 1;
  }
}
