/**
 * A small seeded PRNG (mulberry32) for model weights: the same seed gives the same
 * weights on every machine and Node version, so generated models are reproducible files
 * and tests can recompute their outputs. Not for anything that needs real randomness.
 */
export type RandomSource = () => number;

// Held in module scope: under jest every global lookup (Math) in a hot loop goes through
// the sandbox's global proxy, which made generating mlp_bench ten times slower.
const imul = Math.imul;

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` float32 values uniform in [-bound, bound). */
export function uniformFloat32(random: RandomSource, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}
