/**
 * A small seeded PRNG (mulberry32): the same seed gives the same numbers on every machine and
 * Node version. The model generator draws weights from it (reproducible model files whose
 * outputs tests recompute) and `scoreline perf` its input data and Poisson arrivals (runs that
 * repeat for the same --seed). Not for anything that needs real randomness.
 */
export type RandomSource = () => number;

// Held in module scope: under jest every global lookup (Math) in a hot loop goes through
// the sandbox's global proxy, which made generating mlp_bench many times slower
// (bench/README.md, "Measurements behind design choices").
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
