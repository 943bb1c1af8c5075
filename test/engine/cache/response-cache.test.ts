/**
 * The response cache's store and key on their own: LRU order by bytes, the size charged per
 * entry, an entry too large for the cache, hash collisions (a constant slot hash) answered
 * by the full key compare, copies in and out, and what the key does and does not include.
 */
import { responseCacheKey, type CacheKeyRequest } from '../../../src/engine/cache/cache-key';
import { parseEngineArgs } from '../../../src/cli/engine-command';
import { parseCacheConfig } from '../../../src/engine/cache/cache-config';
import { resolveEngineOptions } from '../../../src/engine/engine-options';
import {
  CACHE_ENTRY_OVERHEAD_BYTES,
  CACHE_TENSOR_OVERHEAD_BYTES,
  ResponseCache,
  cacheEntryBytes,
} from '../../../src/engine/cache/response-cache';
import type { Tensor } from '../../../src/engine/models/inference-types';

const request = (k: number, extra: Partial<CacheKeyRequest> = {}): CacheKeyRequest => ({
  modelName: 'm',
  version: 1,
  inputs: [{ name: 'IN', datatype: 'FP32', shape: [4], data: new Float32Array([k, k, k, k]) }],
  ...extra,
});
const key = (k: number): Buffer => responseCacheKey(request(k));
const outputs = (k: number, elements = 4): Tensor[] => [
  { name: 'OUT', datatype: 'FP32', shape: [elements], data: new Float32Array(elements).fill(k) },
];

describe('ResponseCache', () => {
  it('charges key bytes, tensor bytes and the fixed overheads', () => {
    const k = key(1);
    const out = outputs(1);
    // 'OUT' (3) + 'FP32' (4) + one dim (8) + 16 data bytes
    expect(cacheEntryBytes(k, out)).toBe(CACHE_ENTRY_OVERHEAD_BYTES + k.byteLength + CACHE_TENSOR_OVERHEAD_BYTES + 3 + 4 + 8 + 16);
    const bytesOut: Tensor[] = [{ name: 'S', datatype: 'BYTES', shape: [2], data: [Buffer.from('ab'), Buffer.from('cde')] }];
    expect(cacheEntryBytes(k, bytesOut)).toBe(CACHE_ENTRY_OVERHEAD_BYTES + k.byteLength + CACHE_TENSOR_OVERHEAD_BYTES + 1 + 5 + 8 + (4 + 2) + (4 + 3));
    const cache = new ResponseCache({ capacityBytes: 10_000 });
    cache.insert(k, out);
    cache.insert(key(2), bytesOut);
    expect(cache.usedBytes).toBe(cacheEntryBytes(k, out) + cacheEntryBytes(key(2), bytesOut));
    expect(cache.entryCount).toBe(2);
  });

  it('evicts the least recently used entries first, a hit counting as a use', () => {
    const one = cacheEntryBytes(key(1), outputs(1));
    const cache = new ResponseCache({ capacityBytes: 3 * one });
    for (const k of [1, 2, 3]) expect(cache.insert(key(k), outputs(k))).toBe('inserted');
    expect(cache.lookup(key(1))).toBeDefined(); // 1 is now the most recent; 2 the oldest
    cache.insert(key(4), outputs(4));
    expect(cache.lookup(key(2))).toBeUndefined();
    expect([1, 3, 4].map((k) => cache.lookup(key(k)) !== undefined)).toEqual([true, true, true]);
    expect(cache.entryCount).toBe(3);
    expect(cache.usedBytes).toBe(3 * one);
    expect(cache.evictionCount).toBe(1);
    // Recency is now 1, 3, 4 (oldest first). An entry of about 1.5 times the others needs
    // two of them gone: 1 and 3 go, 4 stays.
    const big = outputs(5, 4 + Math.floor(one / 8));
    expect(cache.insert(key(5), big)).toBe('inserted');
    expect(cache.lookup(key(3))).toBeUndefined();
    expect(cache.lookup(key(1))).toBeUndefined();
    expect(cache.lookup(key(4))).toBeDefined();
    expect(cache.usedBytes).toBeLessThanOrEqual(cache.capacityBytes);
    expect(cache.usedBytes).toBe(one + cacheEntryBytes(key(5), big));
  });

  it('does not insert an entry larger than the whole cache, and keeps what it has', () => {
    const one = cacheEntryBytes(key(1), outputs(1));
    const cache = new ResponseCache({ capacityBytes: one + 10 });
    cache.insert(key(1), outputs(1));
    expect(cache.insert(key(2), outputs(2, 1000))).toBe('too_large');
    expect(cache.lookup(key(2))).toBeUndefined();
    expect(cache.lookup(key(1))).toBeDefined();
    expect(cache.usedBytes).toBe(one);
  });

  it("reports 'exists' for a key already cached and leaves the first response", () => {
    const cache = new ResponseCache({ capacityBytes: 10_000 });
    expect(cache.insert(key(1), outputs(1))).toBe('inserted');
    expect(cache.insert(key(1), outputs(9))).toBe('exists');
    expect(Array.from(cache.lookup(key(1))![0]!.data as Float32Array)).toEqual([1, 1, 1, 1]);
    expect(cache.entryCount).toBe(1);
  });

  it('never answers a request with the response of another whose hash collides', () => {
    const cache = new ResponseCache({ capacityBytes: 10_000, hash: () => 'same-slot' });
    cache.insert(key(1), outputs(1));
    expect(cache.lookup(key(2))).toBeUndefined();
    expect(Array.from(cache.lookup(key(1))![0]!.data as Float32Array)).toEqual([1, 1, 1, 1]);
    // The newer request takes the slot; the older one is then a miss, never a wrong answer.
    expect(cache.insert(key(2), outputs(2))).toBe('inserted');
    expect(cache.lookup(key(1))).toBeUndefined();
    expect(Array.from(cache.lookup(key(2))![0]!.data as Float32Array)).toEqual([2, 2, 2, 2]);
    expect(cache.entryCount).toBe(1);
    expect(cache.usedBytes).toBe(cacheEntryBytes(key(2), outputs(2)));
  });

  it('copies tensors in and out: neither the producer nor a caller can change a later hit', () => {
    const cache = new ResponseCache({ capacityBytes: 10_000 });
    // A response row that is a view into a larger batch buffer.
    const batch = new Float32Array([7, 7, 7, 7, 8, 8, 8, 8]);
    const row: Tensor[] = [{ name: 'OUT', datatype: 'FP32', shape: [4], data: batch.subarray(0, 4) }];
    const text: Tensor[] = [{ name: 'S', datatype: 'BYTES', shape: [1], data: [Buffer.from('hi')] }];
    cache.insert(key(1), row);
    cache.insert(key(2), text);
    batch.fill(0);
    (text[0]!.data as Uint8Array[])[0]![0] = 0;
    const hit = cache.lookup(key(1))![0]!;
    expect((hit.data as Float32Array).buffer.byteLength).toBe(16);
    expect(Array.from(hit.data as Float32Array)).toEqual([7, 7, 7, 7]);
    (hit.data as Float32Array).fill(1);
    hit.shape[0] = 99;
    const again = cache.lookup(key(1))![0]!;
    expect(Array.from(again.data as Float32Array)).toEqual([7, 7, 7, 7]);
    expect(again.shape).toEqual([4]);
    expect(Buffer.from((cache.lookup(key(2))![0]!.data as Uint8Array[])[0]!).toString()).toBe('hi');
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacityBytes of [0, -1, 1.5, Number.NaN]) expect(() => new ResponseCache({ capacityBytes })).toThrow(RangeError);
  });
});

describe('responseCacheKey', () => {
  const k = (r: CacheKeyRequest): string => responseCacheKey(r).toString('hex');
  const two = (aFirst: boolean): CacheKeyRequest => {
    const a = { name: 'A', datatype: 'INT32' as const, shape: [2], data: new Int32Array([1, 2]) };
    const b = { name: 'B', datatype: 'INT32' as const, shape: [2], data: new Int32Array([3, 4]) };
    return { modelName: 'm', version: 1, inputs: aFirst ? [a, b] : [b, a] };
  };

  it('sorts inputs by name, so their order in the request does not matter', () => {
    expect(k(two(true))).toBe(k(two(false)));
  });

  it('tells apart model, version, input name, datatype, shape and data', () => {
    const base = k(request(1));
    const variants: CacheKeyRequest[] = [
      request(1, { modelName: 'n' }),
      request(1, { version: 2 }),
      request(1, { loads: [7] }),
      request(1, { inputs: [{ name: 'IN2', datatype: 'FP32', shape: [4], data: new Float32Array([1, 1, 1, 1]) }] }),
      // Same 16 bytes, read as another type
      request(1, { inputs: [{ name: 'IN', datatype: 'INT32', shape: [4], data: new Int32Array(new Float32Array([1, 1, 1, 1]).buffer) }] }),
      request(1, { inputs: [{ name: 'IN', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 1, 1, 1]) }] }),
      request(2),
    ];
    for (const v of variants) expect(k(v)).not.toBe(base);
  });

  it('includes the requested outputs and classification, not binary_data', () => {
    const all = k(request(1));
    expect(k(request(1, { outputs: [] }))).toBe(all);
    expect(k(request(1, { outputs: [{ name: 'OUT' }] }))).not.toBe(all);
    expect(k(request(1, { outputs: [{ name: 'OUT', classification: 2 }] }))).not.toBe(k(request(1, { outputs: [{ name: 'OUT' }] })));
    expect(k(request(1, { outputs: [{ name: 'OUT', binaryData: true }] }))).toBe(k(request(1, { outputs: [{ name: 'OUT' }] })));
  });

  it('length-prefixes BYTES elements: ["ab","c"] and ["a","bc"] differ', () => {
    const bytes = (parts: string[]): CacheKeyRequest => ({
      modelName: 'm',
      version: 1,
      inputs: [{ name: 'S', datatype: 'BYTES', shape: [2], data: parts.map((p) => Buffer.from(p)) }],
    });
    expect(k(bytes(['ab', 'c']))).not.toBe(k(bytes(['a', 'bc'])));
  });

  it('reads a subarray view by its own bytes only', () => {
    const big = new Float32Array([9, 1, 1, 1, 1, 9]);
    expect(k(request(1, { inputs: [{ name: 'IN', datatype: 'FP32', shape: [4], data: big.subarray(1, 5) }] }))).toBe(k(request(1)));
  });
});

describe('parseCacheConfig (--cache-config)', () => {
  it("reads tritonserver's local,size=N, the last size winning", () => {
    expect(parseCacheConfig([])).toBeUndefined();
    expect(parseCacheConfig(['local,size=1048576'])).toBe(1048576);
    expect(parseCacheConfig(['local,size=10', 'local,size=20'])).toBe(20);
  });

  it('refuses other caches, other keys and sizes that are not positive integers, naming the flag', () => {
    expect(() => parseCacheConfig(['redis,host=localhost'])).toThrow(/--cache-config 'redis,host=localhost': cache 'redis' is not supported/);
    expect(() => parseCacheConfig(['local'])).toThrow(/expected local,size=BYTES/);
    expect(() => parseCacheConfig(['local,bytes=10'])).toThrow(/has no setting 'bytes'/);
    for (const bad of ['0', '-1', '1.5', '1e6', '', '99999999999999999999']) {
      expect(() => parseCacheConfig([`local,size=${bad}`])).toThrow(/size must be a positive integer number of bytes/);
    }
  });

  it('maps the flags onto responseCacheBytes (default 0: no cache), the deprecated spelling too', () => {
    const args = (...flags: string[]) => parseEngineArgs(['--model-repository', 'r', ...flags]);
    expect(resolveEngineOptions({ modelRepository: 'r' }).responseCacheBytes).toBe(0);
    expect(args()).not.toHaveProperty('responseCacheBytes');
    expect(args('--cache-config', 'local,size=1048576')).toMatchObject({ responseCacheBytes: 1048576 });
    expect(args('--cache-config=local,size=2048')).toMatchObject({ responseCacheBytes: 2048 });
    expect(args('--response-cache-byte-size', '4096')).toMatchObject({ responseCacheBytes: 4096 });
    expect(args('--response-cache-byte-size', '0')).toMatchObject({ responseCacheBytes: 0 });
    // --cache-config wins over the deprecated flag.
    expect(args('--response-cache-byte-size', '4096', '--cache-config', 'local,size=8')).toMatchObject({ responseCacheBytes: 8 });
    expect(() => args('--response-cache-byte-size=-5')).toThrow(/--response-cache-byte-size must be a non-negative integer/);
    expect(() => resolveEngineOptions({ modelRepository: 'r', responseCacheBytes: -1 })).toThrow(/option 'responseCacheBytes'/);
  });
});
