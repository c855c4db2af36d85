import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topK } from '../../src/ranking/top-k.js';
import { CoOccurrence, type CoOccurrenceOptions, type CoOccurrenceSimilarity } from '../../src/models/cooccurrence.js';
import type { IndexedRating, RankingModel, StateValue } from '../../src/models/model.js';
import { createRng } from '../../src/random.js';

/** Each user rates a random subset of the items once each (like MovieLens), users interleaved at random. */
function onceEachStream(users: number, items: number, seed: number): IndexedRating[] {
  const rng = createRng(seed);
  const queues = Array.from({ length: users }, () => {
    const order = [...Array(items).keys()];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order.slice(0, 2 + rng.int(items - 2));
  });
  const events: IndexedRating[] = [];
  while (queues.some((q) => q.length > 0)) {
    const user = rng.int(users);
    const item = queues[user]!.shift();
    if (item !== undefined) events.push({ user, item, rating: 1 + rng.int(5), ts: events.length });
  }
  return events;
}

/** Users re-rate items (inside and beyond the window). */
function repeatingStream(count: number, users: number, items: number, seed: number): IndexedRating[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, (_, n) => ({
    user: rng.int(users),
    item: Math.min(items - 1, Math.floor(items * rng.next() ** 1.5)),
    rating: 1 + rng.int(5),
    ts: n,
  }));
}

/** The header's definitions, computed from scratch. */
class Reference {
  readonly picks = new Map<number, number[]>();
  constructor(
    readonly options: CoOccurrenceOptions,
    events: readonly IndexedRating[],
  ) {
    for (const { user, item } of events) {
      const list = this.picks.get(user) ?? [];
      // A pick is the user's first rating of an item.
      if (!list.includes(item)) list.push(item);
      this.picks.set(user, list);
    }
  }

  /** Users who picked item i. */
  n(i: number): number {
    let n = 0;
    for (const list of this.picks.values()) if (list.includes(i)) n += 1;
    return n;
  }

  /** Users who picked both i and j (i ≠ j) within W picks of each other. */
  c(i: number, j: number): number {
    if (i === j) return 0;
    let c = 0;
    for (const list of this.picks.values()) {
      let linked = false;
      for (let q = 0; q < list.length && !linked; q++) {
        for (let p = Math.max(0, q - this.options.window); p < q; p++) {
          if ((list[p] === i && list[q] === j) || (list[p] === j && list[q] === i)) linked = true;
        }
      }
      if (linked) c += 1;
    }
    return c;
  }

  s(i: number, j: number): number {
    const c = this.c(i, j);
    if (c === 0) return 0;
    const ni = this.n(i);
    const nj = this.n(j);
    switch (this.options.similarity) {
      case 'jaccard':
        return c / (ni + nj - c);
      case 'cosine':
        return c / Math.sqrt(ni * nj);
      case 'lift':
        return c / (ni * nj);
    }
  }

  /** Σ over the last W picks j of 2^{−age/h} s_ji, age = picks made after j. */
  score(user: number, i: number, s: (i: number, j: number) => number): number {
    const list = this.picks.get(user) ?? [];
    let sum = 0;
    for (let age = 0; age < this.options.window && age < list.length; age++) {
      const j = list[list.length - 1 - age]!;
      sum += 2 ** (-age / this.options.halfLife) * s(j, i);
    }
    // An item linked to none of the recent picks is not listed at all.
    return sum === 0 ? -Infinity : sum;
  }
}

function close(actual: number, expected: number, what: string): void {
  if (expected === -Infinity) return assert.equal(actual, -Infinity, `${what}: not listed`);
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs reference ${expected}`);
}

function allScores(model: CoOccurrence, users: number, items: number): number[][] {
  return Array.from({ length: users }, (_, user) => {
    const scores = new Float64Array(items);
    (model as RankingModel).scoreAll(user, items, scores, new Set());
    return [...scores];
  });
}

function allCoCounts(model: CoOccurrence, items: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < items; i++) for (let j = 0; j < items; j++) out.push(model.coCount(i, j));
  return out;
}

/** Checks n, c, s and every score against the reference. */
function checkAgainstReference(model: CoOccurrence, reference: Reference, users: number, items: number, label: string): void {
  const s = memoised(items, (i, j) => reference.s(i, j));
  for (let i = 0; i < items; i++) {
    for (let j = 0; j < items; j++) {
      if (i === j) continue;
      assert.equal(model.coCount(i, j), reference.c(i, j), `${label}: c(${i}, ${j})`);
      close(model.similarity(i, j), s(i, j), `${label}: s(${i}, ${j})`);
    }
  }
  const scores = allScores(model, users, items);
  for (let user = 0; user < users; user++) {
    for (let item = 0; item < items; item++) close(scores[user]![item]!, reference.score(user, item, s), `${label}: score(${user}, ${item})`);
  }
}

function memoised(items: number, f: (i: number, j: number) => number): (i: number, j: number) => number {
  const table = new Map<number, number>();
  return (i, j) => {
    const key = i * items + j;
    let value = table.get(key);
    if (value === undefined) table.set(key, (value = f(i, j)));
    return value;
  };
}

const SIMILARITIES: CoOccurrenceSimilarity[] = ['jaccard', 'cosine', 'lift'];

for (const [window, halfLife] of [
  [1, 1],
  [2, 2.5],
  [3, Infinity],
  [5, 1.5],
] as const) {
  for (const similarity of SIMILARITIES) {
    test(`cooccurrence (W = ${window}, h = ${halfLife}, ${similarity}): counts, similarities and scores equal the brute-force definitions`, () => {
      const users = 12;
      const items = 16;
      const events = onceEachStream(users, items, 100 * window + SIMILARITIES.indexOf(similarity));
      const options = { window, halfLife, similarity };
      const model = new CoOccurrence(options);
      // Checked at a few prefixes, learned in uneven batches.
      const checkpoints = [Math.floor(events.length / 3), events.length];
      let done = 0;
      for (const end of checkpoints) {
        for (let start = done; start < end; start += 7) model.learn(events.slice(start, Math.min(end, start + 7)));
        done = end;
        checkAgainstReference(model, new Reference(options, events.slice(0, end)), users, items, `after ${end} events`);
      }
    });
  }
}

test('cooccurrence: n_i and c_ij count users, so a user re-rating items beyond the window keeps Jaccard ≤ 1', () => {
  // W = 1, user 0 rates 1, 2, 1, 2: the re-ratings are not picks.
  // One user picked 1, one picked 2, one picked both within W of each other: Jaccard 1/(1+1-1) = 1.
  const model = new CoOccurrence({ window: 1, halfLife: 1 });
  model.learn([1, 2, 1, 2].map((item, ts) => ({ user: 0, item, rating: 5, ts })));
  assert.ok(model.similarity(1, 2) <= 1, `Jaccard(1, 2) = ${model.similarity(1, 2)}`);
  assert.equal(model.coCount(1, 2), 1, 'c_12: one user');
  assert.equal(model.similarity(1, 2), 1);
});

for (const similarity of SIMILARITIES) {
  test(`cooccurrence (${similarity}): equals the definitions on a stream with re-ratings inside and beyond the window`, () => {
    const users = 10;
    const items = 14;
    const events = repeatingStream(400, users, items, 31);
    const options = { window: 3, halfLife: 2, similarity };
    const model = new CoOccurrence(options);
    model.learn(events);
    checkAgainstReference(model, new Reference(options, events), users, items, 'after 400 events');
  });
}

test('cooccurrence: a re-rating, inside the window or beyond it, changes nothing', () => {
  const events = onceEachStream(10, 20, 77);
  for (const window of [1, 3, 8]) {
    const model = new CoOccurrence({ window, halfLife: 2 });
    model.learn(events);
    model.drainChanges();
    const counts = allCoCounts(model, 20);
    const scores = allScores(model, 10, 20);
    const similarity = model.similarity(0, 1);
    // Re-rate each of user 3's last W picks (the model's own history is the reference).
    const picks = new Reference({ window, halfLife: 2, similarity: 'jaccard' }, events).picks.get(3)!;
    for (const item of picks.slice(-window)) model.learn([{ user: 3, item, rating: 1, ts: 1e9 }]);
    assert.deepEqual(allCoCounts(model, 20), counts, `W = ${window}: counts`);
    assert.deepEqual(allScores(model, 10, 20), scores, `W = ${window}: scores`);
    assert.equal(model.similarity(0, 1), similarity);
    assert.deepEqual(model.drainChanges(), [], `W = ${window}: nothing to store`);
    for (const item of picks) model.learn([{ user: 3, item, rating: 2, ts: 2e9 }]);
    assert.deepEqual(allScores(model, 10, 20), scores, `W = ${window}: re-ratings beyond the window`);
    model.learn([{ user: 3, item: 19, rating: 1, ts: 3e9 }]);
    if (!picks.includes(19)) assert.notDeepEqual(allScores(model, 10, 20), scores, `W = ${window}: a first rating is a pick`);
  }
});

test('cooccurrence: restore from drained state gives identical counts and scores, and goes on identically', () => {
  // Long histories (several 64-pick chunks per user), drained at uneven batch boundaries.
  const users = 6;
  const items = 300;
  const events = repeatingStream(2400, users, items, 5);
  const options = { window: 4, halfLife: 3, similarity: 'jaccard' as const };
  const uninterrupted = new CoOccurrence(options);
  uninterrupted.learn(events);
  const stored = new Map<string, StateValue>();
  const save = (model: CoOccurrence) => {
    for (const [key, value] of model.drainChanges()) stored.set(key, value);
  };
  const first = new CoOccurrence(options);
  const rng = createRng(8);
  const half = 1300;
  for (let start = 0; start < half;) {
    const end = Math.min(half, start + 1 + rng.int(150));
    first.learn(events.slice(start, end));
    save(first);
    start = end;
  }
  const resumed = new CoOccurrence(options);
  resumed.restore(stored);
  assert.deepEqual(allCoCounts(resumed, 60), allCoCounts(first, 60));
  assert.deepEqual(allScores(resumed, users, items), allScores(first, users, items));
  for (let start = half; start < events.length; start += 97) {
    resumed.learn(events.slice(start, start + 97));
    save(resumed);
  }
  assert.deepEqual(allCoCounts(resumed, 60), allCoCounts(uninterrupted, 60));
  assert.deepEqual(allScores(resumed, users, items), allScores(uninterrupted, users, items));
  const fromScratch = new CoOccurrence(options);
  fromScratch.restore(stored);
  assert.deepEqual(allCoCounts(fromScratch, 60), allCoCounts(uninterrupted, 60));
  assert.deepEqual(allScores(fromScratch, users, items), allScores(uninterrupted, users, items));
  assert.ok(
    allCoCounts(uninterrupted, 60).some((c) => c > 1),
    'the stream has repeated pairs',
  );
});

test('cooccurrence: explain names the recent pick that contributes most, and nothing for an unlinked item', () => {
  const users = 12;
  const items = 16;
  const events = onceEachStream(users, items, 12);
  const options = { window: 4, halfLife: 1.5, similarity: 'jaccard' as const };
  const model = new CoOccurrence(options);
  model.learn(events);
  const reference = new Reference(options, events);
  let named = 0;
  for (let user = 0; user < users; user++) {
    const recent = reference.picks.get(user)!.slice(-options.window).reverse();
    for (let item = 0; item < items; item++) {
      const contributions = recent.map((j, age) => ({ j, value: 2 ** (-age / options.halfLife) * reference.s(j, item) })).sort((a, b) => b.value - a.value);
      const why = model.explain(user, item);
      if (contributions[0]!.value === 0) {
        assert.equal(why.becauseOf, undefined, `user ${user}, item ${item}`);
        continue;
      }
      if (contributions.length > 1 && contributions[1]!.value > contributions[0]!.value * (1 - 1e-9)) continue; // a tie
      assert.equal(why.becauseOf, contributions[0]!.j, `user ${user}, item ${item}`);
      assert.equal(why.reason, 'similar to');
      named += 1;
    }
  }
  assert.ok(named > 50, `explanations checked: ${named}`);
  assert.equal(model.explain(999, 3).becauseOf, undefined);
});

test('cooccurrence: bad options throw, and unknown state keys are rejected', () => {
  for (const window of [0, -1, 1.5, NaN]) assert.throws(() => new CoOccurrence({ window }), RangeError, `window ${window}`);
  for (const halfLife of [0, -2, NaN]) assert.throws(() => new CoOccurrence({ halfLife }), RangeError, `halfLife ${halfLife}`);
  assert.throws(() => new CoOccurrence({ similarity: 'pearson' as CoOccurrenceSimilarity }), RangeError);
  assert.throws(() => new CoOccurrence().restore([['clock', 1]]), /unknown state key/);
  assert.deepEqual(new CoOccurrence().options, { window: 50, halfLife: 50, similarity: 'jaccard' });
});

test('cooccurrence: the header example', () => {
  const model = new CoOccurrence();
  model.learn([
    { user: 0, item: 1, rating: 4, ts: 0 },
    { user: 0, item: 2, rating: 5, ts: 1 },
  ]);
  assert.equal(model.similarity(1, 2), 1);
  const scores = new Float64Array(3);
  (model as RankingModel).scoreAll(0, 3, scores, new Set());
  // Item 1 from the latest pick 2 (age 0), item 2 from pick 1 (age 1, decay 2^{-1/50}); item 0 is linked to neither.
  assert.deepEqual([...scores], [-Infinity, 1, 2 ** (-1 / 50)]);
});

test('cooccurrence: items linked to none of the recent picks are never listed (no padding with low ids)', () => {
  const model = new CoOccurrence({ window: 2 });
  model.learn([
    { user: 0, item: 5, rating: 4, ts: 0 },
    { user: 0, item: 6, rating: 4, ts: 1 },
    { user: 1, item: 5, rating: 4, ts: 2 },
  ]);
  const scores = new Float64Array(10);
  model.scoreAll(1, 10, scores);
  assert.deepEqual(
    topK(scores, 10, 10, (item) => item === 5).map((entry) => entry.index),
    [6],
    'only item 6 is linked to user 1’s pick',
  );
  model.scoreAll(7, 10, scores);
  assert.ok(
    scores.every((score) => score === -Infinity),
    'a user with no picks gets no list from this model',
  );
});

test('cooccurrence: the sparse layout (past the dense item limit) gives bit-identical counts, scores and explanations, and restores identically', () => {
  const users = 10;
  const items = 40;
  // Items 0-19 first, then all of them: the switch to sparse comes half-way, with many pairs to move.
  const stream = repeatingStream(1500, users, items, 17);
  const events = [...stream.filter((e) => e.item < 20), ...stream.filter((e) => e.item >= 20)];
  for (const similarity of SIMILARITIES) {
    const options = { window: 6, halfLife: 4, similarity };
    const dense = new CoOccurrence(options);
    const switched = new CoOccurrence(options, 20);
    const sparse = new CoOccurrence(options, 0);
    for (let start = 0; start < events.length; start += 50) {
      for (const model of [dense, switched, sparse]) model.learn(events.slice(start, start + 50));
      assert.deepEqual(allScores(switched, users, items + 3), allScores(dense, users, items + 3), `${similarity}: switched, after ${start + 50} events`);
      assert.deepEqual(allScores(sparse, users, items + 3), allScores(dense, users, items + 3), `${similarity}: sparse, after ${start + 50} events`);
    }
    assert.deepEqual(allCoCounts(switched, items), allCoCounts(dense, items), `${similarity}: counts`);
    assert.deepEqual(allCoCounts(sparse, items), allCoCounts(dense, items), `${similarity}: counts`);
    for (let user = 0; user < users; user++)
      for (let item = 0; item < items; item++)
        assert.deepEqual(switched.explain(user, item), dense.explain(user, item), `${similarity}: explain(${user}, ${item})`);
    const restored = new CoOccurrence(options, 12);
    restored.restore(dense.drainChanges());
    assert.deepEqual(allScores(restored, users, items), allScores(dense, users, items), `${similarity}: restored`);
  }
});
