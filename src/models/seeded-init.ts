/**
 * Initial values that depend only on (seed, table, row, column), never on the order rows were
 * created in or on a shared random stream. A resumed run therefore draws the same initial
 * factors as an uninterrupted one.
 */

/** 32-bit integer hash (the finaliser of MurmurHash3), mixing several words. */
function mix(...words: number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    h = Math.imul(h ^ (word | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A draw from N(0, std²) determined by its coordinates (Box–Muller on two hashed uniforms). */
export function seededNormal(std: number, seed: number, table: number, row: number, column: number): number {
  const u1 = (mix(seed, table, row, column, 1) + 1) / 4294967297;
  const u2 = mix(seed, table, row, column, 2) / 4294967296;
  return std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A uniform draw in [0, 1) determined by its coordinates (stateless, so it survives a restore). */
export function seededUniform(seed: number, stream: number, a: number, b: number): number {
  return mix(seed, stream, a, b, 3) / 4294967296;
}
