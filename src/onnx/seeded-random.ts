/**
 * Random weights for generated models, from the project's one seeded PRNG (util/seeded-random.ts).
 */
import { seededRandom, type RandomSource } from '../util/seeded-random';

export { seededRandom, type RandomSource };

/** `count` float32 values uniform in [-bound, bound). */
export function uniformFloat32(random: RandomSource, count: number, bound: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() * 2 - 1) * bound;
  return out;
}
