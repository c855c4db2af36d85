/**
 * A small seeded pseudo-random generator, so generated data, splits and model initialisation are
 * reproducible from one integer. splitmix32: a Weyl sequence (step 0x9e3779b9) through the
 * murmur3 finaliser; period 2^32, passes the usual statistical batteries, and is a few integer
 * multiplies per draw. Not for cryptography.
 *
 *   const rng = createRng(42);
 *   rng.next();    // uniform in [0, 1), 53 random bits
 *   rng.normal();  // standard normal
 *   rng.int(6);    // uniform integer in 0..5
 */

export interface Rng {
  /** Uniform in [0, 1) with 53 random bits (two 32-bit draws). */
  next(): number;
  /** Standard normal (mean 0, standard deviation 1), by Box–Muller. */
  normal(): number;
  /** Uniform integer in 0 .. n-1; n must be a positive integer up to 2^32. */
  int(n: number): number;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

export function createRng(seed: number): Rng {
  let state = seed | 0;
  let spareNormal: number | undefined;

  const nextUint32 = (): number => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };

  const next = (): number => ((nextUint32() >>> 5) * 67108864 + (nextUint32() >>> 6)) / TWO_POW_53;

  return {
    next,
    normal(): number {
      if (spareNormal !== undefined) {
        const value = spareNormal;
        spareNormal = undefined;
        return value;
      }
      // 1 - next() lies in (0, 1], so the logarithm is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - next()));
      const angle = 2 * Math.PI * next();
      spareNormal = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    int(n: number): number {
      return Math.floor((nextUint32() / TWO_POW_32) * n);
    },
  };
}

/**
 * An independent seed for a named sub-stream (e.g. item catalogue vs ratings), so drawing more
 * from one stream never shifts another.
 */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul(stream | 0, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return (z ^ (z >>> 16)) | 0;
}
