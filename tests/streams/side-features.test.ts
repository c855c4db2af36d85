import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';
import type { Recommender } from '../../src/recommender.js';
import type { ItemFeatures, UserFeatures } from '../../src/side-features.js';
import { withStoredRecommender } from '../../streams/assemble.js';
import { type ReplayOptions } from '../../streams/replay-job.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { replayDataset } from './replay-run.js';

const ratings = randomRatings(1500, 30, 40, 8);
const datasetDir = writeMl100k(ratings);

const run = (stateDir: string, overrides: Partial<ReplayOptions> = {}) =>
  replayDataset(datasetDir, stateDir, {
    models: { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'popularity'] },
    rankModel: 'popularity',
    batchSize: 200,
    ...overrides,
  });

/** What writeMl100k wrote for 0-based user u and item i. */
const userOf = (u: number): UserFeatures => ({ age: 20 + (u % 40), gender: u % 2 ? 'M' : 'F', occupation: 'other' });
const GENRES = ['Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy'];
const itemOf = (i: number): ItemFeatures => ({ genres: [GENRES[i % 18]!] });

/** The catalogue's side features of every user and item of the dataset, by id and by index. */
function assertFeatures(recommender: Recommender, when: string): void {
  const { features, users, items } = recommender.catalog;
  assert.equal(features.userCount, 30, `${when}: every user of u.user`);
  assert.equal(features.itemCount, 40, `${when}: every item of u.item`);
  for (const u of [0, 1, 17]) assert.deepEqual(features.userById(String(u + 1)), userOf(u), `${when}: user ${u + 1}`);
  for (const i of [0, 4, 8]) assert.deepEqual(features.itemById(String(i + 1)), itemOf(i), `${when}: item ${i + 1}`);
  if (users.size > 0) assert.deepEqual(features.user(users.lookup('2')), userOf(1), `${when}: user 2 by index`);
  if (items.size > 0) assert.deepEqual(features.item(items.lookup('5')), itemOf(4), `${when}: item 5 by index`);
}

test('the replay keeps the dataset user and item files: in the catalogue before the first batch, in the state for a resumed or loaded recommender', async () => {
  const stateDir = tempDir();
  let running: Recommender | undefined;
  let batches = 0;
  await run(stateDir, {
    stopAtOffset: 700,
    onStart: ({ recommender }) => {
      assert.equal(batches, 0);
      assertFeatures(recommender, 'fresh start, before the first batch');
      running = recommender;
    },
    onBatch: () => (batches += 1),
  });
  assert.ok(batches > 0);
  assertFeatures(running!, 'after the run');

  await run(stateDir, { onStart: ({ recommender }) => assertFeatures(recommender, 'resumed') });
  await withStoredRecommender(stateDir, 10, (recommender, store) => {
    assertFeatures(recommender, 'loaded');
    assert.deepEqual(store.itemLabel('1'), { title: 'Film 1 (1995)', genres: ['Action'] });
  });
});
