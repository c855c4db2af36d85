import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { ImputeFactors, type ImputeVariant } from '../../src/models/impute.js';
import type { IndexedRating, StateValue } from '../../src/models/model.js';
import { lowRankEntry, softImputeAls } from '../../src/models/soft-impute.js';
import { createRng } from '../../src/random.js';
import { randomRatings } from '../fixtures.js';

const context = { scale: WHOLE_STARS, seed: 7 };
const VARIANTS: readonly ImputeVariant[] = ['soft', 'hard'];

/** A users × items rank-3 rating matrix on 1–5, 40 % observed, split into training and held-out entries. */
function lowRankRatings(users: number, items: number, seed: number) {
  const rng = createRng(seed);
  const p = Array.from({ length: users }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const q = Array.from({ length: items }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const train: IndexedRating[] = [];
  const heldOut: IndexedRating[] = [];
  for (let u = 0; u < users; u++) {
    const offset = 3 + 0.6 * rng.normal();
    for (let i = 0; i < items; i++) {
      if (rng.next() > 0.4) continue;
      const affinity = 0.6 * (p[u]![0]! * q[i]![0]! + p[u]![1]! * q[i]![1]! + p[u]![2]! * q[i]![2]!);
      const rating = Math.min(5, Math.max(1, Math.round(offset + affinity + 0.3 * rng.normal())));
      (rng.next() < 0.2 ? heldOut : train).push({ user: u, item: i, rating, ts: 0 });
    }
  }
  // Stream order: shuffled, as ratings arrive.
  for (let k = train.length - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    [train[k], train[j]] = [train[j]!, train[k]!];
  }
  return { train: train.map((r, n) => ({ ...r, ts: n })), heldOut };
}

function rmse(predict: (user: number, item: number) => number, ratings: readonly IndexedRating[]): number {
  let sum = 0;
  for (const r of ratings) sum += (predict(r.user, r.item) - r.rating) ** 2;
  return Math.sqrt(sum / ratings.length);
}

function userMeans(ratings: readonly IndexedRating[], users: number): Float64Array {
  const sums = new Float64Array(users);
  const counts = new Float64Array(users);
  for (const r of ratings) {
    sums[r.user] += r.rating;
    counts[r.user] += 1;
  }
  return sums.map((s, u) => s / counts[u]!);
}

function learnInBatches(model: ImputeFactors, ratings: readonly IndexedRating[], size: number): void {
  for (let start = 0; start < ratings.length; start += size) model.learn(ratings.slice(start, start + size));
}

const clip = (x: number) => Math.min(5, Math.max(1, x));

test('after a whole stream, incremental impute is within 0.05 held-out RMSE of batch softImpute-ALS on the same data', (t) => {
  const users = 80;
  const items = 60;
  const { train, heldOut } = lowRankRatings(users, items, 3);
  const means = userMeans(train, users);
  const centred = {
    rows: users,
    columns: items,
    row: Int32Array.from(train, (r) => r.user),
    column: Int32Array.from(train, (r) => r.item),
    value: Float64Array.from(train, (r) => r.rating - means[r.user]!),
  };
  const meanOnly = rmse((u) => means[u]!, heldOut);
  for (const [variant, lambda, rank] of [
    ['soft', 2, 10],
    ['hard', 1, 3],
  ] as const) {
    const batch = softImputeAls(centred, { lambda: variant === 'soft' ? lambda : 0, rank, maxIterations: 200, threshold: 1e-7, seed: 1 });
    const batchRmse = rmse((u, i) => clip(means[u]! + lowRankEntry(batch, u, i)), heldOut);
    // User centring only, as the batch problem: no damping of the means, no item offsets.
    const online = new ImputeFactors(context, { variant, lambda, rank, meanPrior: 0, offsetPrior: Infinity, sweepEvery: 25 });
    learnInBatches(online, train, 100);
    const onlineRmse = rmse((u, i) => online.predict(u, i), heldOut);
    t.diagnostic(`${variant}: held-out RMSE incremental ${onlineRmse.toFixed(4)}, batch ${batchRmse.toFixed(4)}, user mean ${meanOnly.toFixed(4)}`);
    assert.ok(batchRmse < meanOnly * 0.9, `${variant}: batch ${batchRmse} vs user mean ${meanOnly}`);
    assert.ok(Math.abs(onlineRmse - batchRmse) < 0.05, `${variant}: incremental ${onlineRmse} vs batch ${batchRmse} (user mean ${meanOnly})`);
  }
});

for (const variant of VARIANTS) {
  const make = () => new ImputeFactors(context, { variant });
  const stream = randomRatings(6000, 80, 120, 3);

  test(`impute-${variant}: learns the held-out structure of a low-rank stream better than the user means`, () => {
    const { train, heldOut } = lowRankRatings(120, 80, 9);
    const model = new ImputeFactors(context, { variant, sweepEvery: 100 });
    learnInBatches(model, train, 100);
    const means = userMeans(train, 120);
    assert.ok(rmse((u, i) => model.predict(u, i), heldOut) < rmse((u) => means[u]!, heldOut) - 0.05);
  });

  test(`impute-${variant}: factors stay small and predictions on the scale, also for rows with one or two ratings`, () => {
    // Sparse: most users and items have one or two ratings; sweeps every 50 events re-solve the items.
    const model = new ImputeFactors(context, { variant, sweepEvery: 50 });
    const sparse = randomRatings(600, 250, 400, 4);
    learnInBatches(model, sparse, 7);
    const scores = new Float64Array(402);
    for (let u = 0; u < 252; u++) {
      for (let i = 0; i < 402; i++) {
        const p = model.predict(u, i);
        assert.ok(p >= 1 && p <= 5, `${u},${i}: ${p}`);
      }
      // Unclamped: mean + offset + a·b stays within a few stars of the scale.
      model.scoreAll(u, 402, scores);
      for (const score of scores) assert.ok(Number.isFinite(score) && score > -3 && score < 9, `user ${u}: ${score}`);
    }
  });

  test(`impute-${variant}: its state never depends on batch boundaries`, () => {
    const a = make();
    const b = make();
    learnInBatches(a, stream, 500);
    learnInBatches(b, stream, 37);
    assert.deepEqual(a.drainChanges(), b.drainChanges());
  });

  test(`impute-${variant}: a user row is solved at each rating against the current item rows`, () => {
    const model = make();
    learnInBatches(model, stream.slice(0, 1500), 100);
    const before = model.predict(0, 5);
    model.learn([{ user: 0, item: 5, rating: before > 3 ? 1 : 5, ts: 1500 }]);
    const after = model.predict(0, 5);
    assert.ok(before > 3 ? after < before : after > before, `${before} → ${after}`);
  });

  test(`impute-${variant}: drain and restore continue exactly from the committed batch`, () => {
    const uninterrupted = make();
    learnInBatches(uninterrupted, stream, 500);
    const stored = new Map<string, StateValue>();
    const save = (model: ImputeFactors) => {
      for (const [key, value] of model.drainChanges()) stored.set(key, value);
    };
    const first = make();
    learnInBatches(first, stream.slice(0, 2345), 500);
    save(first);
    const resumed = make();
    resumed.restore(stored);
    learnInBatches(resumed, stream.slice(2345), 321);
    const predictions = (model: ImputeFactors) => stream.slice(0, 400).map((r) => model.predict(r.user, r.item));
    assert.deepEqual(predictions(resumed), predictions(uninterrupted));
    save(resumed);
    const fromScratch = make();
    fromScratch.restore(stored);
    assert.deepEqual(predictions(fromScratch), predictions(uninterrupted));
  });
}

test('impute: a warm start from the batch fit predicts held-out ratings about as well as streaming, gains rank later, and restores exactly', () => {
  const { train, heldOut } = lowRankRatings(80, 60, 3);
  const cut = Math.floor(train.length * 0.8);
  for (const variant of VARIANTS) {
    const options = { variant, lambda: variant === 'soft' ? 2 : 1, rank: variant === 'soft' ? 10 : 3, sweepEvery: 25 };
    const warm = new ImputeFactors(context, options);
    const fit = warm.warmStart(train.slice(0, cut), 200);
    assert.ok(fit.rank >= 1 && fit.iterations > 1);
    const cold = new ImputeFactors(context, options);
    learnInBatches(cold, train.slice(0, cut), 100);
    const warmRmse = rmse((u, i) => warm.predict(u, i), heldOut);
    const coldRmse = rmse((u, i) => cold.predict(u, i), heldOut);
    assert.ok(warmRmse < coldRmse + 0.02, `${variant}: warm ${warmRmse} vs streamed ${coldRmse}`);
    // It keeps learning, and its state restores exactly.
    learnInBatches(warm, train.slice(cut), 50);
    const restored = new ImputeFactors(context, options);
    restored.restore(warm.drainChanges());
    assert.deepEqual(
      heldOut.map((r) => restored.predict(r.user, r.item)),
      heldOut.map((r) => warm.predict(r.user, r.item)),
    );
    assert.throws(() => warm.warmStart(train), /warmStart needs a fresh model/);
  }
  // A fit of rank 0 (λ far above every singular value) leaves the seeded starts, not zeros that
  // no later solve could move: the model can still gain rank as data arrive.
  const shrunk = new ImputeFactors(context, { variant: 'soft', lambda: 1e6 });
  assert.equal(shrunk.warmStart(train.slice(0, 200)).rank, 0);
  assert.ok(shrunk.itemFactors(train[0]!.item).some((x) => x !== 0));
});

test('impute: a user never seen gets the global mean plus the item offset, an item never seen the user mean', () => {
  const model = new ImputeFactors(context, { variant: 'soft', meanPrior: 0, offsetPrior: 0, sweepEvery: 3 });
  model.learn([
    { user: 0, item: 0, rating: 5, ts: 0 },
    { user: 1, item: 0, rating: 5, ts: 1 },
    { user: 1, item: 1, rating: 1, ts: 2 },
  ]);
  // Global mean 11/3; user 1's mean 3; item 0's residuals (0, 2), offset 1.
  assert.ok(Math.abs(model.predict(9, 0) - (11 / 3 + 1)) < 1e-9);
  assert.equal(model.predict(1, 9), 3);
  assert.equal(model.predict(9, 9), 11 / 3);
});

test('impute: bad options and off-grid ratings are refused', () => {
  assert.throws(() => new ImputeFactors(context, { variant: 'soft', rank: 0 }), /rank must be a positive integer/);
  assert.throws(() => new ImputeFactors(context, { variant: 'hard', lambda: 0 }), /lambda must be > 0/);
  const model = new ImputeFactors(context, { variant: 'soft' });
  assert.throws(() => model.learn([{ user: 0, item: 0, rating: 3.5, ts: 0 }]), /not on the scale's grid/);
  assert.throws(() => new ImputeFactors(context, { variant: 'soft', rank: 4 }).restore(model.drainChanges().concat([['x', 1]])), /unknown state key 'x'/);
});
