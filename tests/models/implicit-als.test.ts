import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { ImplicitAls } from '../../src/models/implicit-als.js';
import type { IndexedRating, StateValue } from '../../src/models/model.js';
import { RidgeSystem } from '../../src/models/ridge-solve.js';
import { createRng } from '../../src/random.js';
import { topK } from '../../src/ranking/top-k.js';

const context = { scale: WHOLE_STARS, seed: 7 };

/**
 * Two tastes: users of group g pick mostly items of group g (items alternate between groups),
 * in a random interleaving; each user's last picks are held out.
 */
function tasteStream(users: number, items: number, perUser: number, seed: number) {
  const rng = createRng(seed);
  const train: IndexedRating[] = [];
  const heldOut = new Map<number, Set<number>>();
  const queues = Array.from({ length: users }, (_, user) => {
    const picks: number[] = [];
    while (picks.length < perUser) {
      const ownGroup = rng.next() < 0.85;
      const item = 2 * rng.int(items / 2) + ((user % 2 === 0) === ownGroup ? 0 : 1);
      if (!picks.includes(item)) picks.push(item);
    }
    heldOut.set(user, new Set(picks.slice(-5)));
    return picks.slice(0, -5);
  });
  while (queues.some((q) => q.length > 0)) {
    const user = rng.int(users);
    const item = queues[user]!.shift();
    if (item !== undefined) train.push({ user, item, rating: 1 + rng.int(5), ts: train.length });
  }
  return { train, heldOut };
}

function hitsAt10(model: ImplicitAls, train: readonly IndexedRating[], heldOut: Map<number, Set<number>>, items: number): number {
  const seen = new Map<number, Set<number>>();
  for (const { user, item } of train) (seen.get(user) ?? seen.set(user, new Set()).get(user)!).add(item);
  const scores = new Float64Array(items);
  let hits = 0;
  for (const [user, relevant] of heldOut) {
    const rated = seen.get(user) ?? new Set<number>();
    model.scoreAll(user, items, scores);
    for (const { index } of topK(scores, items, 10, (i) => rated.has(i))) if (relevant.has(index)) hits += 1;
  }
  return hits;
}

test('implicit-als: lists follow each user’s taste, far above chance', () => {
  const { train, heldOut } = tasteStream(60, 80, 25, 3);
  const model = new ImplicitAls(context, { sweepEvery: 100 });
  model.learn(train);
  const hits = hitsAt10(model, train, heldOut, 80);
  // Chance: 10 of the ~60 unrated items, 5 relevant: 60 users × 5 × 10/60 = 50 hits; a list of
  // the user's own group alone (knowing the groups) gets about 110.
  assert.ok(hits > 70, `hits ${hits}`);
});

test('implicit-als: a user solve is the exact ridge solution of the paper’s normal equations', () => {
  const { train } = tasteStream(20, 30, 10, 5);
  // No sweep: item rows keep their starts, so every user row solves against the rows there are now.
  // Up to user 0's last pick: YᵀY then covers every item row with a pick (rows without are not this model's items).
  const upTo = train.slice(0, train.findLastIndex((e) => e.user === 0) + 1);
  const model = new ImplicitAls(context, { rank: 4, sweepEvery: 1_000_000 });
  model.learn(upTo);
  const { alpha, lambda } = model.options;
  const rows = Math.max(...upTo.map((e) => e.item)) + 1;
  const picked = new Set(upTo.filter((e) => e.user === 0).map((e) => e.item));
  const system = new RidgeSystem(4);
  system.reset(lambda);
  const withPicks = new Set(upTo.map((e) => e.item));
  for (let item = 0; item < rows; item++) if (withPicks.has(item)) system.add(model.itemFactors(item), 0, 0);
  for (const item of picked) system.add(model.itemFactors(item), 0, 1 + alpha, alpha);
  const expected = Array.from(system.solve());
  // Rows are solved when read, so new items entering YᵀY after the user's last pick must not
  // reach their row: it stays the solve at that pick (what a solve per pick gives).
  model.learn(Array.from({ length: 5 }, (_, i) => ({ user: 1 + i, item: 30 + i, rating: 4, ts: upTo.length + i })));
  const actual = Array.from(model.userFactors(0));
  for (let f = 0; f < 4; f++) assert.ok(Math.abs(actual[f]! - expected[f]!) < 1e-9, `${actual} vs ${expected}`);
});

test('implicit-als: its state never depends on batch boundaries, and drain/restore continues exactly', () => {
  const { train } = tasteStream(40, 60, 20, 9);
  // sweepShare 0.2: past event 485 the sweeps are spaced by a fifth of the stream (97, 116, 139 events).
  const make = () => new ImplicitAls(context, { sweepEvery: 97, sweepShare: 0.2 });
  const whole = make();
  whole.learn(train);
  const stored = new Map<string, StateValue>();
  const save = (model: ImplicitAls) => {
    for (const [key, value] of model.drainChanges()) stored.set(key, value);
  };
  const first = make();
  for (let start = 0; start < 333; start += 17) first.learn(train.slice(start, Math.min(start + 17, 333)));
  save(first);
  const resumed = make();
  resumed.restore(stored);
  for (let start = 333; start < train.length; start += 250) resumed.learn(train.slice(start, start + 250));
  const scores = (model: ImplicitAls) =>
    Array.from({ length: 40 }, (_, user) => {
      const out = new Float64Array(60);
      model.scoreAll(user, 60, out);
      return Array.from(out);
    });
  assert.deepEqual(scores(resumed), scores(whole));
  save(resumed);
  const fromScratch = make();
  fromScratch.restore(stored);
  assert.deepEqual(scores(fromScratch), scores(whole));
});

test('implicit-als: a re-rating changes nothing, a user never seen scores nothing, bad options are refused', () => {
  const model = new ImplicitAls(context);
  model.learn([
    { user: 0, item: 0, rating: 4, ts: 0 },
    { user: 0, item: 1, rating: 2, ts: 1 },
  ]);
  const before = model.drainChanges().filter(([key]) => key.startsWith('u'));
  model.learn([{ user: 0, item: 1, rating: 5, ts: 2 }]);
  assert.deepEqual(
    model.drainChanges().filter(([key]) => key.startsWith('u')),
    [],
    'no row re-solved',
  );
  assert.ok(before.length === 1);
  const scores = new Float64Array(3);
  model.scoreAll(5, 3, scores);
  assert.deepEqual(Array.from(scores), [0, 0, -Infinity]);
  assert.throws(() => new ImplicitAls(context, { alpha: -1 }), /alpha must be >= 0/);
  assert.throws(() => new ImplicitAls(context, { sweepEvery: 0 }), /sweepEvery must be a whole number/);
  assert.throws(() => model.restore([['x', 1]]), /restore needs a fresh model/);
  assert.throws(() => new ImplicitAls(context).restore([['x', 1]]), /unknown state key 'x'/);
});

test('implicit-als: sweeps are sweepEvery events apart, then a share of the stream so far (bounded cost per event)', () => {
  const { train } = tasteStream(40, 60, 50, 3);
  const model = new ImplicitAls(context, { sweepEvery: 100, sweepShare: 0.1 });
  model.learn(train);
  let next = 100;
  const expected: number[] = [];
  while (next <= train.length) {
    expected.push(next);
    next += Math.max(100, Math.floor(0.1 * next));
  }
  assert.deepEqual(expected.slice(0, 12), [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1210]);
  const state = new Map(model.drainChanges());
  assert.equal(state.get('nextSweep'), next);
  assert.throws(() => new ImplicitAls(context, { sweepShare: 1 }), /sweepShare must be in \[0, 1\)/);
});

test('implicit-als: rows nobody here picked (other workers’ ids under --scale-out) stay out of both Gram matrices and score −∞', () => {
  const { train } = tasteStream(12, 30, 10, 4);
  const make = () => new ImplicitAls(context, { sweepEvery: 50 });
  const compact = make();
  compact.learn(train);
  // The same picks, but user 11 is user 400: rows 11..399 exist (other workers' users) with no picks here. A user row
  // is solved from the item side alone, so the item rows come out identical only if XᵀX left the empty rows out.
  const gappedUsers = make();
  gappedUsers.learn(train.map((e) => ({ ...e, user: e.user === 11 ? 400 : e.user })));
  for (let item = 0; item < 30; item++) assert.deepEqual([...gappedUsers.itemFactors(item)], [...compact.itemFactors(item)], `item ${item}`);
  // Item 29 as item 300: rows 29..299 have no picks here, are left out of YᵀY and score −∞.
  const gappedItems = make();
  gappedItems.learn(train.map((e) => ({ ...e, item: e.item === 29 ? 300 : e.item })));
  const scores = new Float64Array(310);
  gappedItems.scoreAll(0, 310, scores);
  for (let item = 29; item < 300; item++) assert.equal(scores[item], -Infinity, `item ${item} has no picks here`);
  assert.ok(Number.isFinite(scores[300]!) && Number.isFinite(scores[0]!));
  // Restored, it builds the same YᵀY, also once an empty row gets its first pick: the next events give the same rows.
  const stored = new Map<string, StateValue>();
  for (const [key, value] of gappedItems.drainChanges()) stored.set(key, value);
  const restored = make();
  restored.restore(stored);
  const more = [...tasteStream(12, 30, 10, 5).train.slice(0, 120), { user: 3, item: 150, rating: 4, ts: 999 }, ...train.slice(0, 60)];
  gappedItems.learn(more);
  restored.learn(more);
  for (const item of [0, 5, 17, 28, 150, 300]) assert.deepEqual([...restored.itemFactors(item)], [...gappedItems.itemFactors(item)], `item ${item}`);
});
