import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankInTopK, topK } from '../../src/ranking/top-k.js';
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

test('rankInTopK is the item’s place in topK’s list (ties, exclusions, -Infinity and NaN included), 0 when not listed', () => {
  const rng = createRng(11);
  const specials = [-Infinity, Number.NaN];
  for (let trial = 0; trial < 300; trial++) {
    const count = 1 + rng.int(120);
    const scores = Float64Array.from({ length: count }, () => (rng.next() < 0.1 ? specials[rng.int(2)]! : Math.round(rng.next() * 12) / 4));
    const excluded = new Set(Array.from({ length: rng.int(count) }, () => rng.int(count)));
    const k = rng.int(12);
    const list = topK(scores, count, k, (i) => excluded.has(i));
    for (let item = -1; item <= count; item++) {
      const place = list.findIndex((entry) => entry.index === item) + 1;
      assert.equal(
        rankInTopK(scores, count, k, item, (i) => excluded.has(i)),
        place,
        `trial ${trial}, item ${item}`,
      );
    }
  }
});
