import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/random.js';
import { PairTable } from '../../src/similarity/pair-table.js';
import { TopNHeaps } from '../../src/similarity/top-n.js';

test('PairTable finds, inserts and compacts like a Map keyed by the pair', () => {
  const rng = createRng(3);
  const table = new PairTable(3, 16);
  const reference = new Map<string, number>();
  for (let k = 0; k < 20_000; k++) {
    const a = rng.int(300);
    const b = rng.int(300);
    const found = table.findOrInsert(a, b);
    const slot = found < 0 ? -found - 1 : found;
    assert.equal(found < 0, !reference.has(`${a},${b}`));
    table.records[slot * 3 + 2] += 1;
    reference.set(`${a},${b}`, (reference.get(`${a},${b}`) ?? 0) + 1);
  }
  assert.equal(table.size, reference.size);
  const moved = table.compact((slot) => table.records[slot * 3 + 2]! % 2 === 0);
  for (const [key, count] of reference) {
    const [a, b] = key.split(',').map(Number) as [number, number];
    const slot = table.find(a, b);
    if (count % 2 === 0) assert.equal(table.records[slot * 3 + 2], count);
    else assert.equal(slot, -1);
  }
  assert.equal(table.size, [...reference.values()].filter((count) => count % 2 === 0).length);
  assert.equal(moved.filter((to) => to >= 0).length, table.size);
});

test('TopNHeaps keeps the N best by similarity, ties to the lower id, whatever the offer order', () => {
  const rng = createRng(9);
  const heaps = new TopNHeaps(5);
  for (let round = 0; round < 50; round++) {
    heaps.reset(2);
    const offers = Array.from({ length: 1 + rng.int(30) }, (_, id) => ({ id, sim: rng.int(6) / 5, support: id * 2 }));
    for (const { id, sim, support } of offers) heaps.offer(0, id, sim, support);
    for (const { id, sim, support } of [...offers].reverse()) heaps.offer(1, id, sim, support);
    const expected = [...offers].sort((x, y) => y.sim - x.sim || x.id - y.id).slice(0, 5);
    assert.deepEqual(heaps.sorted(0), expected);
    assert.deepEqual(heaps.sorted(1), expected);
    const sum = heaps.weightedSum(0);
    assert.equal(sum.count, expected.length);
    assert.ok(Math.abs(sum.weights - expected.reduce((s, n) => s + n.sim, 0)) < 1e-12);
  }
});
