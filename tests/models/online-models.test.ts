import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { Baseline } from '../../src/models/baseline.js';
import { BiasedMF } from '../../src/models/mf.js';
import type { RatingModel as OnlineModel, StateValue } from '../../src/models/model.js';
import { randomRatings, storeChanges } from '../fixtures.js';

const context = { scale: WHOLE_STARS, seed: 7 };
const makers: Record<string, () => OnlineModel> = {
  baseline: () => new Baseline(context),
  mf: () => new BiasedMF(context, { factors: 8 }),
};
const stream = randomRatings(6000, 80, 120, 3);

function rmseOn(model: OnlineModel, ratings: typeof stream): number {
  let sum = 0;
  for (const r of ratings) sum += (model.predict(r.user, r.item) - r.rating) ** 2;
  return Math.sqrt(sum / ratings.length);
}

function allPredictions(model: OnlineModel): number[] {
  const out: number[] = [];
  for (let u = 0; u < 82; u++) for (let i = 0; i < 122; i++) out.push(model.predict(u, i));
  return out;
}

for (const [name, make] of Object.entries(makers)) {
  test(`${name}: learning lowers the error on what it learned`, () => {
    const model = make();
    const before = rmseOn(model, stream);
    for (let epoch = 0; epoch < 3; epoch++) model.learn(stream);
    assert.ok(rmseOn(model, stream) < before - 0.1, `${rmseOn(model, stream)} vs ${before}`);
  });

  test(`${name}: parameters do not depend on where batch boundaries fall`, () => {
    const whole = make();
    whole.learn(stream);
    const split = make();
    for (let start = 0; start < stream.length; start += 37) split.learn(stream.slice(start, start + 37));
    assert.deepEqual(allPredictions(split), allPredictions(whole));
  });

  test(`${name}: drain and restore rebuild an identical model`, () => {
    const uninterrupted = make();
    uninterrupted.learn(stream);
    const first = make();
    const stored = new Map<string, StateValue>();
    const save = (model: OnlineModel) => {
      storeChanges(stored, model.drainChanges());
    };
    first.learn(stream.slice(0, 2500));
    save(first);
    const resumed = make();
    resumed.restore(stored);
    resumed.learn(stream.slice(2500));
    save(resumed);
    assert.deepEqual(allPredictions(resumed), allPredictions(uninterrupted));
    const fromScratch = make();
    fromScratch.restore(stored);
    assert.deepEqual(allPredictions(fromScratch), allPredictions(uninterrupted));
  });

  test(`${name}: predictions stay on the scale and unknown ids fall back`, () => {
    const model = make();
    model.learn(stream.slice(0, 500));
    for (const p of allPredictions(model)) assert.ok(p >= 1 && p <= 5);
    assert.ok(Number.isFinite(model.predict(10_000, 10_000)));
  });
}

test('mf beats the baseline prequentially on a low-rank stream', () => {
  const long = randomRatings(40000, 200, 300, 11);
  const baseline = makers.baseline!();
  const mf = new BiasedMF(context, { factors: 8, learningRate: 0.05, initStd: 0.3 });
  let baselineSq = 0;
  let mfSq = 0;
  for (const r of long) {
    baselineSq += (baseline.predict(r.user, r.item) - r.rating) ** 2;
    mfSq += (mf.predict(r.user, r.item) - r.rating) ** 2;
    baseline.learn([r]);
    mf.learn([r]);
  }
  assert.ok(mfSq < baselineSq * 0.95, `mf ${Math.sqrt(mfSq / long.length)} baseline ${Math.sqrt(baselineSq / long.length)}`);
});

test('mf refuses a stored row of another width', () => {
  const wide = new BiasedMF(context, { factors: 8 });
  wide.learn(stream.slice(0, 10));
  const narrow = new BiasedMF(context, { factors: 4 });
  assert.throws(() => narrow.restore(wide.drainChanges()), /stored row has 8 factors, this model has 4/);
});
