import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng, deriveSeed } from '../../src/random.js';

describe('createRng', () => {
  it('repeats its sequence for a seed and differs for another seed', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 5 }, () => [rng.next(), rng.normal(), rng.int(10)]);
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
  });

  it('draws uniforms in [0, 1), integers in range, and standard normals', () => {
    const rng = createRng(7);
    const n = 100_000;
    let uniformSum = 0;
    let normalSum = 0;
    let normalSquares = 0;
    const intCounts = new Array(6).fill(0);
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      assert.ok(u >= 0 && u < 1);
      uniformSum += u;
      const z = rng.normal();
      normalSum += z;
      normalSquares += z * z;
      intCounts[rng.int(6)]++;
    }
    assert.ok(Math.abs(uniformSum / n - 0.5) < 0.01);
    assert.ok(Math.abs(normalSum / n) < 0.02);
    assert.ok(Math.abs(normalSquares / n - 1) < 0.03);
    for (const count of intCounts) assert.ok(Math.abs(count / n - 1 / 6) < 0.01, `int(6) counts ${intCounts}`);
  });

  it('derives distinct seeds per stream', () => {
    const seeds = new Set([0, 1, 2, 3, 4].map((stream) => deriveSeed(42, stream)));
    assert.equal(seeds.size, 5);
    assert.equal(deriveSeed(42, 1), deriveSeed(42, 1));
  });
});
