import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Popularity } from '../../src/models/popularity.js';
import type { IndexedRating, RankingModel, StateValue } from '../../src/models/model.js';
import { createRng } from '../../src/random.js';

const ITEMS = 12;

/** A random stream over ITEMS items, skewed so some items are picked often and some rarely. */
function stream(count: number, seed: number, items = ITEMS): IndexedRating[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, n) => ({
    user: rng.int(30),
    item: Math.min(items - 1, Math.floor(items * rng.next() ** 2)),
    rating: 1 + rng.int(5),
    ts: n,
  }));
}

/** Σ over the first `t` events on `item` of 2^{−(t − e)/h}, events numbered 1..t. */
function bruteCount(events: readonly IndexedRating[], t: number, item: number, halfLife: number): number {
  let sum = 0;
  for (let e = 1; e <= t; e++) if (events[e - 1]!.item === item) sum += halfLife === Infinity ? 1 : 2 ** (-(t - e) / halfLife);
  return sum;
}

/** Relative error 1e-9; values below float64's normal range (subnormal) compared absolutely. */
function assertClose(actual: number, expected: number, what: string): void {
  const tolerance = Math.max(1e-9 * Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs brute force ${expected}`);
}

function allScores(model: Popularity, itemCount = ITEMS + 3): number[] {
  const scores = new Float64Array(itemCount);
  model.scoreAll(0, itemCount, scores);
  return [...scores];
}

for (const halfLife of [0.01, 0.3, 3, 50, 10_000]) {
  test(`popularity (h = ${halfLife}): decayed counts equal Σ 2^{−(t − e)/h} after every event`, () => {
    const events = stream(halfLife < 1 ? 400 : 3000, 5);
    const model = new Popularity({ halfLife });
    for (let t = 1; t <= events.length; t++) {
      model.learn([events[t - 1]!]);
      // Every item after every event for short streams, a rotating few otherwise (keeps it fast).
      const items = events.length <= 400 ? [...Array(ITEMS).keys()] : [t % ITEMS, events[t - 1]!.item];
      for (const item of items) assertClose(model.count(item), bruteCount(events, t, item, halfLife), `count(${item}) at t = ${t}`);
    }
    // The scores are the counts.
    const scores = allScores(model);
    for (let item = 0; item < ITEMS; item++) assertClose(scores[item]!, bruteCount(events, events.length, item, halfLife), `score of ${item}`);
  });
}

test('popularity: the rescale happens with a tiny half-life, and counts stay right across it', () => {
  // h = 0.01: an event is worth 2^100 times the one before, so the 512-exponent rescale comes every 6 events.
  const halfLife = 0.01;
  const events = stream(60, 9, 3);
  const model = new Popularity({ halfLife });
  let rescales = 0;
  for (let t = 1; t <= events.length; t++) {
    const origin = (model as unknown as { origin: number }).origin;
    model.learn([events[t - 1]!]);
    if ((model as unknown as { origin: number }).origin !== origin) rescales += 1;
    // The item just picked has count ≥ 1 (exactly 1 plus what is left of earlier picks).
    const latest = events[t - 1]!.item;
    assert.ok(model.count(latest) >= 1 && model.count(latest) <= 1 + 1e-12, `count of the latest pick at t = ${t}: ${model.count(latest)}`);
    for (let item = 0; item < 3; item++) assertClose(model.count(item), bruteCount(events, t, item, halfLife), `count(${item}) at t = ${t}`);
  }
  assert.ok(rescales >= 5, `expected several rescales in 60 events, saw ${rescales}`);
});

test('popularity: a half-life of Infinity gives plain counts', () => {
  const events = stream(2000, 17);
  const model = new Popularity({ halfLife: Infinity });
  model.learn(events);
  const plain = new Array<number>(ITEMS).fill(0);
  for (const { item } of events) plain[item]! += 1;
  for (let item = 0; item < ITEMS; item++) assert.equal(model.count(item), plain[item]);
  assert.deepEqual(allScores(model).slice(0, ITEMS), plain);
  assert.equal(model.count(ITEMS + 100), 0);
});

test('popularity: scoreAll orders items by decayed count, the same for every user, 0 for unknown items', () => {
  const model = new Popularity({ halfLife: 2 });
  // Item 0 picked often long ago, item 1 a few times recently, item 2 once just now.
  const events: IndexedRating[] = [];
  for (let n = 0; n < 10; n++) events.push({ user: n, item: 0, rating: 5, ts: n });
  for (let n = 0; n < 3; n++) events.push({ user: n, item: 1, rating: 5, ts: 10 + n });
  events.push({ user: 0, item: 2, rating: 5, ts: 20 });
  model.learn(events);
  const scores = new Float64Array(5);
  model.scoreAll(0, 5, scores);
  assert.ok(scores[1]! > scores[2]! && scores[2]! > scores[0]! && scores[0]! > 0, `${[...scores]}`);
  assert.equal(scores[3], 0);
  assert.equal(scores[4], 0);
  const other = new Float64Array(5);
  (model as RankingModel).scoreAll(99, 5, other, new Set([1]));
  assert.deepEqual([...other], [...scores]);
  // All-time counts reverse it: item 0 first.
  const allTime = new Popularity({ halfLife: Infinity });
  allTime.learn(events);
  allTime.scoreAll(0, 5, scores);
  assert.deepEqual([...scores], [10, 3, 1, 0, 0]);
  // scoreAll never changes the counts.
  assert.equal(allTime.count(0), 10);
});

for (const halfLife of [0.01, 0.5, 3, 1000, Infinity]) {
  test(`popularity (h = ${halfLife}): drain/restore after any prefix rebuilds identical scores`, () => {
    const events = stream(1500, 23);
    const uninterrupted = new Popularity({ halfLife });
    const stored = new Map<string, StateValue>();
    const model = new Popularity({ halfLife });
    const rng = createRng(3);
    for (let start = 0; start < events.length;) {
      const end = Math.min(events.length, start + 1 + rng.int(40));
      model.learn(events.slice(start, end));
      uninterrupted.learn(events.slice(start, end));
      for (const [key, value] of model.drainChanges()) stored.set(key, value);
      const restored = new Popularity({ halfLife });
      restored.restore(stored);
      assert.deepEqual(allScores(restored), allScores(uninterrupted), `after ${end} events`);
      start = end;
    }
    // A restored model goes on exactly like the uninterrupted one.
    const resumed = new Popularity({ halfLife });
    resumed.restore(stored);
    const more = stream(300, 29);
    resumed.learn(more);
    uninterrupted.learn(more);
    assert.deepEqual(allScores(resumed), allScores(uninterrupted));
  });
}

test('popularity: a bad half-life throws, and unknown state keys are rejected', () => {
  for (const halfLife of [0, -1, NaN, -Infinity]) assert.throws(() => new Popularity({ halfLife }), RangeError, `halfLife ${halfLife}`);
  assert.throws(() => new Popularity().restore([['x1', 1]]), /unknown state key/);
  assert.equal(new Popularity().options.halfLife, 10_000);
  assert.equal(new Popularity().explain().reason, 'popular lately');
  assert.equal(new Popularity({ halfLife: Infinity }).explain().reason, 'most rated');
});

test('popularity: an item whose stored weight a rescale takes to 0 is restored as 0, not as its last drained value', () => {
  // h = 1: a rescale at events 513, 1026 and 1539. Item 5 is picked once, first; its weight
  // survives two rescales (2^-1025, a subnormal) and is flushed to 0 by the third. Drained every
  // 60 events; checked 21 events after the third rescale, while 2^-1025 / 2^21 is still > 0.
  const halfLife = 1;
  const events: IndexedRating[] = [{ user: 0, item: 5, rating: 5, ts: 0 }];
  for (let n = 1; n < 1560; n++) events.push({ user: n % 7, item: n % 4, rating: 4, ts: n });
  const model = new Popularity({ halfLife });
  const stored = new Map<string, StateValue>();
  for (let start = 0; start < events.length; start += 60) {
    model.learn(events.slice(start, start + 60));
    for (const [key, value] of model.drainChanges()) stored.set(key, value);
  }
  assert.equal(model.count(5), 0, 'the true count of item 5 is 2^-1559, 0 in float64');
  const restored = new Popularity({ halfLife });
  restored.restore(stored);
  assert.equal(restored.count(5), 0, `restored count of item 5: ${restored.count(5)}`);
  assert.deepEqual(allScores(restored, 8), allScores(model, 8));
});
