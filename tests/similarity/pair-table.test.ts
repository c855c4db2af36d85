import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../src/random.js';
import { PairTable } from '../../src/similarity/pair-table.js';
import { TopNHeaps } from '../../src/similarity/top-n.js';

test('PairTable finds, inserts and removes like a Map keyed by the pair', () => {
  const rng = createRng(3);
  const table = new PairTable(3, 16);
  const reference = new Map<string, number>();
  const count = (a: number, b: number) => table.records[table.find(a, b) * 3 + 2];
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
  const keys = [...reference.keys()].map((key) => key.split(',').map(Number) as [number, number]);
  // Removing moves records up their probe runs: every other key must stay reachable.
  for (const [a, b] of keys) if (reference.get(`${a},${b}`)! % 2 === 1) table.remove(table.find(a, b));
  for (const [a, b] of keys) {
    const kept = reference.get(`${a},${b}`)!;
    if (kept % 2 === 0) assert.equal(count(a, b), kept);
    else assert.equal(table.find(a, b), -1);
  }
  assert.equal(table.size, keys.filter(([a, b]) => reference.get(`${a},${b}`)! % 2 === 0).length);
  for (const [a, b] of keys) assert.ok(reference.get(`${a},${b}`)! % 2 === 0 || table.findOrInsert(a, b) < 0);
  assert.equal(table.size, reference.size);
});

test('PairTable stamps move with their records through growth and removal', () => {
  const table = new PairTable(2, 16, true);
  for (let a = 0; a < 500; a++) {
    const slot = -table.findOrInsert(a, a + 1) - 1;
    table.stamps[slot] = a * 10;
  }
  for (let a = 0; a < 500; a += 3) table.remove(table.find(a, a + 1));
  for (let a = 0; a < 500; a++) {
    const slot = table.find(a, a + 1);
    if (a % 3 === 0) assert.equal(slot, -1);
    else assert.equal(table.stamps[slot], a * 10);
  }
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
