import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topK } from '../../src/ranking/top-k.js';
import { createRng } from '../../src/random.js';

test('topK equals a full sort with exclusions and ties broken by index', () => {
  const rng = createRng(5);
  for (let trial = 0; trial < 50; trial++) {
    const count = 1 + rng.int(300);
    const scores = Float64Array.from({ length: count }, () => Math.round(rng.next() * 20) / 4);
    const excluded = new Set(Array.from({ length: rng.int(count) }, () => rng.int(count)));
    const k = 1 + rng.int(15);
    const expected = [...scores.keys()]
      .filter((i) => !excluded.has(i))
      .sort((a, b) => scores[b]! - scores[a]! || a - b)
      .slice(0, k)
      .map((index) => ({ index, score: scores[index]! }));
    assert.deepEqual(
      topK(scores, count, k, (i) => excluded.has(i)),
      expected,
    );
  }
});

test('topK skips -Infinity (unknown items) and returns fewer when fewer qualify', () => {
  const scores = Float64Array.from([1, -Infinity, 3]);
  assert.deepEqual(
    topK(scores, 3, 5, () => false),
    [
      { index: 2, score: 3 },
      { index: 0, score: 1 },
    ],
  );
});
