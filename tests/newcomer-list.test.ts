import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../src/events/scale.js';
import { Popularity } from '../src/models/popularity.js';
import { Recommender } from '../src/recommender.js';
import { FeaturePlacer } from './feature-placer.js';
import { randomRatings } from './fixtures.js';

const OPTIONS = { scale: WHOLE_STARS, k: 5, relevanceThreshold: 4, rankingShare: 1 };

function trained(models: (popularity: Popularity) => Recommender): Recommender {
  const recommender = models(new Popularity());
  const events = randomRatings(500, 20, 30, 4).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }));
  recommender.applyBatch(recommender.index(events));
  return recommender;
}

test('a newcomer with side features is placed by the first model that can; one without gets the cold-start list', () => {
  const placer = new FeaturePlacer();
  const recommender = trained((popularity) => new Recommender([popularity, placer], popularity, OPTIONS));
  const { features, items } = recommender.catalog;
  features.setUser('new-f', { age: 31, gender: 'F', occupation: 'writer' });
  features.setUser('new-m', { age: 64, gender: 'M' });

  const female = recommender.newcomerList('new-f');
  const male = recommender.newcomerList('new-m', 3);
  assert.equal(female.model, placer);
  assert.equal(female.fromFeatures, true);
  assert.deepEqual(placer.placed[0], { age: 31, gender: 'F', occupation: 'writer' }, 'the model is handed the features');
  const learned = items.size;
  assert.deepEqual(
    female.items.map((entry) => entry.index),
    [learned - 1, learned - 2, learned - 3, learned - 4, learned - 5],
  );
  assert.deepEqual(
    male.items.map((entry) => entry.index),
    [0, 1, 2],
  );
  for (const entry of [...female.items, ...male.items]) assert.deepEqual(entry.why, { reason: 'fits people like you (two-tower, side features)' });

  const unknown = recommender.newcomerList('nobody');
  assert.equal(unknown.fromFeatures, false);
  assert.equal(unknown.model, recommender.coldStartModel);
  assert.deepEqual(unknown.items, recommender.coldStartList());
});

test('a known user with no ratings yet counts as a newcomer; without a model that places newcomers, features give the cold-start list', () => {
  const recommender = trained((popularity) => new Recommender([popularity, new FeaturePlacer()], popularity, OPTIONS));
  recommender.catalog.users.intern('quiet');
  recommender.catalog.features.setUser('quiet', { gender: 'F' });
  assert.equal(recommender.newcomerList('quiet').fromFeatures, true);

  const plain = trained((popularity) => new Recommender([popularity], popularity, OPTIONS));
  plain.catalog.features.setUser('new-f', { gender: 'F' });
  const list = plain.newcomerList('new-f');
  assert.equal(list.fromFeatures, false);
  assert.equal(list.model.name, 'popularity');
  assert.deepEqual(list.items, plain.coldStartList());
});
