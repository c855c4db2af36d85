import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';
import { StateStore } from '../../state/store.js';
import { type ReplayOptions } from '../../streams/replay-job.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { replayDataset } from './replay-run.js';
import { storedParameters } from './stored-parameters.js';

const ratings = randomRatings(4000, 60, 90, 21);
const badLines = ['7\t8', '1\t2\tfive\t881250949', '3\t4\t9\t881250949'];
const datasetDir = writeMl100k(ratings, { extraLines: badLines });

const run = (stateDir: string, overrides: Partial<ReplayOptions> = {}) => replayDataset(datasetDir, stateDir, { rankModel: 'mf', ...overrides });

test('the fold-in models run in a replay, feed the ensemble, and resume anywhere to the parameters of an uninterrupted run', async () => {
  const models = { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'mf', 'impute-soft', 'impute-hard', 'popularity', 'implicit-als', 'ensemble'] as const };
  const whole = tempDir();
  let inputs: string[] = [];
  const summary = await run(whole, {
    models,
    rankModel: 'ensemble',
    onStart: ({ recommender }) => {
      inputs = (recommender.ranker.inputs ?? []).map((model) => model.name);
    },
  });
  // The serving ensemble blends their predictions and takes candidates from their lists.
  assert.deepEqual(inputs.sort(), ['baseline', 'implicit-als', 'impute-hard', 'impute-soft', 'mf', 'popularity']);
  for (const name of ['impute-soft', 'impute-hard'] as const) {
    const figures = summary.models[name]!;
    assert.ok(figures.rmse! > 0 && figures.rmse! < 2, `${name}: ${JSON.stringify(figures)}`);
    assert.ok(figures.hitAt10 !== undefined, `${name} ranks too`);
  }
  assert.ok(summary.models['implicit-als']!.hitAt10 !== undefined);
  const split = tempDir();
  await run(split, { models, rankModel: 'ensemble', stopAtOffset: 1777, batchSize: 300 });
  await run(split, { models, rankModel: 'ensemble', batchSize: 170 });
  assert.deepEqual(await storedParameters(split), await storedParameters(whole));
});

test('a paced replay leaves the event loop free between polls (the HTTP API answers while it runs)', async () => {
  let ticks = 0;
  let timer: NodeJS.Timeout | undefined;
  const summary = await run(tempDir(), {
    pacing: { kind: 'rate', eventsPerSecond: 8000 },
    onStart: () => {
      timer = setInterval(() => (ticks += 1), 20);
    },
  });
  clearInterval(timer);
  // About half a second of replay with records always due: a 20 ms timer fires many times.
  assert.ok(summary.seconds > 0.3, `${summary.seconds} s`);
  assert.ok(ticks >= 5, `${ticks} timer callbacks in ${summary.seconds} s`);
});

test('a replay stopped halfway and resumed ends with the parameters of an uninterrupted run', async () => {
  const whole = tempDir();
  const summary = await run(whole);
  assert.equal(summary.events, ratings.length, 'every valid rating applied');
  assert.equal(summary.rejected, badLines.length);
  assert.equal(summary.position, ratings.length + badLines.length);

  const split = tempDir();
  const first = await run(split, { stopAtOffset: 1777, batchSize: 300 });
  assert.equal(first.position, 1777);
  const second = await run(split, { batchSize: 170 });
  assert.equal(second.resumedFrom, 1777);
  assert.equal(first.events + second.events, summary.events);
  assert.equal(first.rejected + second.rejected, summary.rejected);

  const expected = await storedParameters(whole);
  const actual = await storedParameters(split);
  assert.ok(expected.size > 200);
  assert.deepEqual(actual, expected);
});

test('with every model on, a stopped and resumed replay ends with the state of an uninterrupted one', async () => {
  const models = { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'mf', 'knn-item', 'knn-user'] as const };
  const whole = tempDir();
  await run(whole, { models: { ...models, models: [...models.models] } });
  const split = tempDir();
  await run(split, { models: { ...models, models: [...models.models] }, stopAtOffset: 1234 });
  await run(split, { models: { ...models, models: [...models.models] }, batchSize: 99 });
  const names = [...models.models];
  const expected = await storedParameters(whole, names);
  assert.ok(
    [...expected.keys()].some((key) => key.startsWith('knn-user/s.h')),
    'similarity histories are stored',
  );
  assert.deepEqual(await storedParameters(split, names), expected);
});

test('bad lines go to the dead-letter file with reason and position, and the stream goes on', async () => {
  const stateDir = tempDir();
  const summary = await run(stateDir);
  assert.equal(summary.rejected, 3);
  const letters = readFileSync(join(stateDir, 'dead-letters.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const byOrigin = new Map(letters.map((l) => [l.origin, l]));
  const firstBad = ratings.length + 1;
  assert.match(byOrigin.get(`u.data:${firstBad}`).reason, /expected 4 fields separated by tabs, found 2/);
  assert.equal(byOrigin.get(`u.data:${firstBad}`).raw, '7\t8');
  assert.match(byOrigin.get(`u.data:${firstBad + 1}`).reason, /rating/);
  assert.equal(byOrigin.get(`u.data:${firstBad + 2}`).reason, 'rating 9 is outside the 1-5 scale');
  for (const letter of letters) {
    assert.equal(letter.topic, 'u.data');
    assert.equal(typeof letter.offset, 'number');
  }
});

test('a finished replay resumes to nothing, and --fresh starts over', async () => {
  const stateDir = tempDir();
  await run(stateDir);
  const again = await run(stateDir);
  assert.equal(again.events, 0);
  const fresh = await run(stateDir, { fresh: true });
  assert.equal(fresh.events, ratings.length);
});

test('lists leave out rated items and are kept in state', async () => {
  const stateDir = tempDir();
  await run(stateDir);
  const store = StateStore.open(stateDir);
  try {
    const snapshot = store.snapshot(['mf']);
    const rated = new Map<number, Set<number>>();
    for (const [user, item] of snapshot.history) (rated.get(user) ?? rated.set(user, new Set()).get(user)!).add(item);
    let lists = 0;
    for (const [user, list] of snapshot.lists) {
      lists++;
      assert.equal(list.length, 10);
      for (const item of list) assert.ok(!rated.get(user)!.has(item), `user ${user} was recommended rated item ${item}`);
    }
    assert.equal(lists, rated.size);
  } finally {
    await store.close();
  }
});

test('a state made with other model settings is refused', async () => {
  const stateDir = tempDir();
  await run(stateDir, { stopAtOffset: 100 });
  await assert.rejects(
    run(stateDir, { models: { ...DEFAULT_MODEL_SETTINGS, factors: 3 } }),
    /was made with model settings .* use the same settings, another --state directory, or --fresh/,
  );
});
