import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Baseline } from '../../../src/models/baseline.js';
import { Popularity } from '../../../src/models/popularity.js';
import { TwoTower } from '../../../src/models/two-tower/two-tower.js';
import { topK } from '../../../src/ranking/top-k.js';
import { featuredStream } from './fixtures.js';

// Users choose and rate by their demographics' tastes on the synthetic set (its header), so
// features alone must place a newcomer better than the baseline's "everyone alike".
const stream = featuredStream({ users: 500, items: 700, ratings: 30_000, seed: 11 });
const FIRST = 5;

test("the two-tower's prequential error on new users' first ratings is below the baseline's, and newcomers with different features get different lists that are not popularity's", async () => {
  const options = { embedding: 32, userDense: 64, genreDense: 32, movieDense: 32, final: 64, trainIn: 'inline', backend: 'wasm' } as const;
  const towers = new TwoTower(stream.context, options);
  // The same towers without side features: what the features add.
  const blind = new TwoTower({ ...stream.context, features: undefined }, options);
  const baseline = new Baseline(stream.context);
  const popularity = new Popularity();
  await towers.start();
  await blind.start();
  const seen = new Map<number, number>();
  const squared = { towers: 0, blind: 0, baseline: 0, count: 0 };
  for (const event of stream.events) {
    const ratingsSoFar = seen.get(event.user) ?? 0;
    if (ratingsSoFar < FIRST) {
      squared.towers += (towers.predict(event.user, event.item) - event.rating) ** 2;
      squared.blind += (blind.predict(event.user, event.item) - event.rating) ** 2;
      squared.baseline += (baseline.predict(event.user, event.item) - event.rating) ** 2;
      squared.count++;
    }
    seen.set(event.user, ratingsSoFar + 1);
    for (const model of [towers, blind, baseline, popularity]) model.learn([event]);
  }
  const rmse = (sum: number) => Math.sqrt(sum / squared.count);
  console.log(
    `first ${FIRST} ratings of ${seen.size} users: RMSE two-tower ${rmse(squared.towers).toFixed(4)}, without features ${rmse(squared.blind).toFixed(4)}, baseline ${rmse(squared.baseline).toFixed(4)}`,
  );
  // A demographic × genre mean-residual table reaches about 1.031 against the baseline's 1.0385 here: the ceiling is near.
  assert.ok(rmse(squared.towers) < rmse(squared.baseline) - 0.004, `two-tower ${rmse(squared.towers)} against baseline ${rmse(squared.baseline)}`);
  assert.ok(rmse(squared.towers) < rmse(squared.blind) - 0.004, `with features ${rmse(squared.towers)}, without ${rmse(squared.blind)}`);

  const items = stream.catalog.items.size;
  const listOf = (score: (scores: Float64Array) => void) => {
    const scores = new Float64Array(items);
    score(scores);
    return topK(scores, items, 10, () => false).map((entry) => entry.index);
  };
  const young = listOf((scores) => towers.scoreNewcomer({ age: 22, gender: 'M', occupation: 'student' }, items, scores));
  const older = listOf((scores) => towers.scoreNewcomer({ age: 58, gender: 'F', occupation: 'retired' }, items, scores));
  const popular = listOf((scores) => popularity.scoreAll(-1, items, scores));
  const featureless = listOf((scores) => towers.scoreNewcomer({}, items, scores));
  const overlap = (a: number[], b: number[]) => a.filter((item) => b.includes(item)).length;
  console.log(
    `newcomer lists: student ${young.join(',')} | retired ${older.join(',')} | no features ${featureless.join(',')} | popularity ${popular.join(',')}`,
  );
  assert.ok(overlap(young, older) < 7, `the two newcomers share ${overlap(young, older)} of 10 items`);
  assert.ok(overlap(young, popular) < 8 && overlap(older, popular) < 8, 'neither list is the popularity list');
  // The features move the list: neither is the order a newcomer without features gets.
  assert.notDeepEqual(young, featureless);
  assert.notDeepEqual(older, featureless);
  await towers.close();
  await blind.close();
});
