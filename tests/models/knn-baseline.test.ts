import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSyntheticMovieLens } from '../../src/datasets/synthetic.js';
import { clampToScale, WHOLE_STARS } from '../../src/events/scale.js';
import { Baseline } from '../../src/models/baseline.js';
import { ItemKnnBaseline, KnnBaseline, type KnnBaselineOptions } from '../../src/models/knn-baseline.js';
import { randomRatings, storeChanges } from '../fixtures.js';
import type { IndexedRating, RatingModel as OnlineModel, StateValue } from '../../src/models/model.js';
import { cappedSimilarities, pairKey, randomStream } from '../similarity/reference.js';

const USERS = 14;
const ITEMS = 11;
const context = { scale: WHOLE_STARS, seed: 1 };
const stream = randomStream({ events: 420, users: USERS, items: ITEMS, seed: 21, rerate: 0.2 });

/** The candidates' (id, rating) in order of first rating: the user's items, or the item's raters. */
function candidatesOf(ratings: readonly IndexedRating[], kind: 'item' | 'user', user: number, item: number): Array<[number, number]> {
  const latest = new Map<number, number>();
  for (const r of ratings) {
    if (kind === 'item' && r.user === user) latest.set(r.item, r.rating);
    if (kind === 'user' && r.item === item) latest.set(r.user, r.rating);
  }
  return [...latest];
}

/** r̂ = b_ui + Σ s (r − b) / (β + Σ s) over the k best positive s, from batch similarities. */
function batchPrediction(
  knn: KnnBaseline,
  ratings: readonly IndexedRating[],
  options: KnnBaselineOptions,
  historyCap: number,
  user: number,
  item: number,
): number {
  const { kind, k, minK, candidates, damping } = options;
  const sims = cappedSimilarities(ratings, kind, 'pearson', 100, historyCap);
  const target = kind === 'item' ? item : user;
  const neighbours = candidatesOf(ratings, kind, user, item)
    .slice(-candidates)
    .filter(([id]) => id !== target)
    .map(([id, rating]) => ({ id, rating, sim: sims.get(pairKey(target, id))?.sim ?? 0 }))
    .filter((n) => n.sim > 0)
    .sort((x, y) => y.sim - x.sim || x.id - y.id)
    .slice(0, k);
  const baseline = knn.baseline;
  let estimate = baseline.estimate(user, item);
  if (neighbours.length >= minK && neighbours.length > 0) {
    let weighted = 0;
    let weights = 0;
    for (const { id, rating, sim } of neighbours) {
      weighted += sim * (rating - (kind === 'item' ? baseline.estimate(user, id) : baseline.estimate(id, item)));
      weights += sim;
    }
    estimate += weighted / (damping + weights);
  }
  return clampToScale(estimate, WHOLE_STARS);
}

function allPredictions(model: OnlineModel): number[] {
  const out: number[] = [];
  for (let user = 0; user < USERS + 1; user++) for (let item = 0; item < ITEMS + 1; item++) out.push(model.predict(user, item));
  return out;
}

for (const kind of ['item', 'user'] as const) {
  for (const [historyCap, candidates, damping] of [
    [Infinity, Infinity, 0],
    [3, 5, 0],
    [Infinity, Infinity, 0.5],
  ] as const) {
    test(`knn-${kind} (H = ${historyCap}, candidates = ${candidates}, β = ${damping}): predictions equal the KNNBaseline formula on batch similarities`, () => {
      const knn = new KnnBaseline(context, { kind, k: 3, candidates, damping, similarity: { historyCap, pruneAfter: Infinity } });
      let worst = 0;
      for (const cut of [150, stream.length]) {
        const ratings = stream.slice(0, cut);
        if (cut === 150) knn.learn(ratings);
        else knn.learn(stream.slice(150));
        for (let user = 0; user < USERS; user++) {
          for (let item = 0; item < ITEMS; item++) {
            const expected = batchPrediction(knn, ratings, knn.options, historyCap, user, item);
            worst = Math.max(worst, Math.abs(knn.predict(user, item) - expected) / Math.abs(expected));
          }
        }
      }
      assert.ok(worst <= 1e-9, `worst relative error ${worst}`);
    });
  }

  test(`knn-${kind}: drain and restore in two halves rebuild an identical model`, () => {
    const options = { kind, similarity: { historyCap: 4, pruneAfter: 60 } };
    const uninterrupted = new KnnBaseline(context, options);
    uninterrupted.learn(stream);
    const stored = new Map<string, StateValue>();
    const save = (model: OnlineModel) => {
      storeChanges(stored, model.drainChanges());
    };
    const first = new KnnBaseline(context, options);
    first.learn(stream.slice(0, 200));
    save(first);
    const resumed = new KnnBaseline(context, options);
    resumed.restore(stored);
    resumed.learn(stream.slice(200));
    save(resumed);
    const fromScratch = new KnnBaseline(context, options);
    fromScratch.restore(stored);
    for (const model of [resumed, fromScratch]) {
      assert.deepEqual(allPredictions(model), allPredictions(uninterrupted));
      const entities = kind === 'item' ? ITEMS : USERS;
      for (let e = 0; e < entities; e++) assert.deepEqual(model.similarity.neighbours(e), uninterrupted.similarity.neighbours(e));
    }
  });

  test(`knn-${kind}: predictions do not depend on where batch boundaries fall`, () => {
    const whole = new KnnBaseline(context, { kind });
    whole.learn(stream);
    const split = new KnnBaseline(context, { kind });
    for (let from = 0; from < stream.length; from += 13) split.learn(stream.slice(from, from + 13));
    assert.deepEqual(allPredictions(split), allPredictions(whole));
  });
}

test('knn-item beats the Baseline prequentially on a synthetic MovieLens-shaped stream', () => {
  const ratings: IndexedRating[] = [];
  for (const user of createSyntheticMovieLens({ users: 300, items: 400, ratings: 30_000, seed: 42 }).ratingsByUser()) {
    user.itemIds.forEach((itemId, k) => ratings.push({ user: user.userId - 1, item: itemId - 1, rating: user.ratings[k]!, ts: user.seconds[k]! }));
  }
  ratings.sort((a, b) => a.ts - b.ts);
  const knn = new KnnBaseline(context, { kind: 'item' });
  const baseline = new Baseline(context);
  const squares = { knn: 0, baseline: 0 };
  for (let from = 0; from < ratings.length; from += 500) {
    const batch = ratings.slice(from, from + 500);
    for (const { user, item, rating } of batch) {
      squares.knn += (knn.predict(user, item) - rating) ** 2;
      squares.baseline += (baseline.predict(user, item) - rating) ** 2;
    }
    knn.learn(batch);
    baseline.learn(batch);
  }
  const rmse = { knn: Math.sqrt(squares.knn / ratings.length), baseline: Math.sqrt(squares.baseline / ratings.length) };
  assert.ok(rmse.knn < rmse.baseline, `knn ${rmse.knn} vs baseline ${rmse.baseline}`);
});

test('knn rejects adjusted cosine, whose pair reads are too slow for a prediction per event', () => {
  assert.throws(() => new KnnBaseline(context, { kind: 'item', similarity: { measure: 'adjusted-cosine' } }), /adjusted cosine/);
});

test('knn state keys are namespaced and unknown ones rejected', () => {
  const knn = new KnnBaseline(context, { kind: 'user' });
  knn.learn(stream.slice(0, 10));
  assert.ok(knn.drainChanges().every(([key]) => key.startsWith('b.') || key.startsWith('s.')));
  assert.throws(() => new KnnBaseline(context, { kind: 'user' }).restore([['z', 1]]), /knn-user: unknown state key 'z'/);
});

test("knn-item ranks the neighbours of the user's most recent items (ItemKnnBaseline)", () => {
  const knn = new ItemKnnBaseline({ scale: WHOLE_STARS, seed: 1 });
  const stream = randomRatings(3000, 40, 60, 11);
  knn.learn(stream);
  const user = stream[stream.length - 1]!.user;
  const { entities, length } = knn.similarity.history(user);
  const recent = [...entities.subarray(Math.max(0, length - ItemKnnBaseline.RECENT_ITEMS), length)];
  const expected = new Float64Array(60);
  for (const j of recent) for (const { id, sim } of knn.similarity.rankingNeighbours(j)) expected[id]! += sim;
  const scores = new Float64Array(60);
  knn.scoreAll(user, 60, scores);
  assert.deepEqual([...scores], [...expected]);
  const best = scores.indexOf(Math.max(...scores));
  const why = knn.explain(user, best);
  assert.equal(why.reason, 'rated like');
  assert.ok(recent.includes(why.becauseOf!), 'explained by one of the recent items');
});
