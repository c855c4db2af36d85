import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StateValue } from '../../../src/models/model.js';
import { checkTwoTowerOptions, TWO_TOWER_DEFAULTS } from '../../../src/models/two-tower/options.js';
import { TwoTower } from '../../../src/models/two-tower/two-tower.js';
import { topK } from '../../../src/ranking/top-k.js';
import { storeChanges } from '../../fixtures.js';
import { featuredStream, SMALL } from './fixtures.js';

const stream = featuredStream({ users: 150, items: 250, ratings: 5000, seed: 9 });
const { context, events } = stream;
const probe = events.slice(0, 400).map(({ user, item }) => [user, item] as const);

/** Learn events one at a time, as the pipeline does, draining into `stored` every `batch` events. */
function learnAll(model: TwoTower, from: number, to: number, batch: number, stored: Map<string, StateValue>): void {
  for (let start = from; start < to; start += batch) {
    for (const event of events.slice(start, Math.min(to, start + batch))) model.learn([event]);
    storeChanges(stored, model.drainChanges());
  }
}

const predictions = (model: TwoTower) => probe.map(([user, item]) => model.predict(user, item));

test('inline training resumed from the stored state (checkpoint plus queue) equals an uninterrupted run, whatever the batching', async () => {
  const whole = new TwoTower(context, SMALL);
  await whole.start();
  const wholeState = new Map<string, StateValue>();
  learnAll(whole, 0, events.length, 250, wholeState);

  const first = new TwoTower(context, SMALL);
  await first.start();
  const stored = new Map<string, StateValue>();
  learnAll(first, 0, 2111, 170, stored);
  await first.close();
  const { trainedEvents } = stored.get('c') as { trainedEvents: number };
  assert.ok(trainedEvents > 0 && trainedEvents < 2111, 'a checkpoint was written before the interruption');
  for (const key of [...stored.keys()].filter((k) => k.startsWith('q/'))) {
    const first = Number(key.slice(2));
    const count = (stored.get(key) as Uint8Array).byteLength / 8 / 8;
    assert.ok(first + count > trainedEvents, `queued batch ${key} is covered by the checkpoint and should have been deleted`);
  }

  const resumed = new TwoTower(context, SMALL);
  resumed.restore(stored);
  await resumed.start();
  learnAll(resumed, 2111, events.length, 333, stored);
  assert.deepEqual(predictions(resumed), predictions(whole));
  const withoutQueue = (state: Map<string, StateValue>) => [...state].filter(([key]) => !key.startsWith('q/')).sort(([a], [b]) => a.localeCompare(b));
  assert.deepEqual(withoutQueue(stored), withoutQueue(wholeState));
  assert.equal(resumed.training().trainedEvents, whole.training().trainedEvents);
  await Promise.all([whole.close(), resumed.close()]);
});

test('a worker trains off the stream thread: learn returns at once with the lag reported, and after a flush the towers equal inline training', async () => {
  const worker = new TwoTower(context, { ...SMALL, trainIn: 'worker' });
  const inline = new TwoTower(context, SMALL);
  await Promise.all([worker.start(), inline.start()]);
  assert.equal(worker.training().backend, 'wasm');
  const ignored = new Map<string, StateValue>();
  learnAll(worker, 0, events.length, 500, ignored);
  // No event-loop turn has passed since the events were handed over: none can have come back trained.
  const behind = worker.training();
  assert.equal(behind.trainedEvents, 0);
  assert.equal(behind.lagEvents, events.length);
  learnAll(inline, 0, events.length, 500, ignored);
  await Promise.all([worker.flush(), inline.flush()]);
  assert.equal(worker.training().lagEvents, 0);
  assert.ok(worker.training().steps > 100);
  assert.deepEqual(predictions(worker), predictions(inline));
  await Promise.all([worker.close(), inline.close()]);
});

test('a worker resumed from the stored state trains to the towers of an uninterrupted run', async () => {
  const whole = new TwoTower(context, SMALL);
  await whole.start();
  learnAll(whole, 0, events.length, 400, new Map());
  await whole.flush();
  const worker = { ...SMALL, trainIn: 'worker' } as const;
  const first = new TwoTower(context, worker);
  await first.start();
  const stored = new Map<string, StateValue>();
  learnAll(first, 0, 2600, 260, stored);
  // Stopped while the worker is still behind: what it trained after its last checkpoint is lost, the queue is not.
  while (first.training().trainedEvents < 1500) await new Promise((resolve) => setTimeout(resolve, 5));
  storeChanges(stored, first.drainChanges());
  await first.close();
  assert.ok((stored.get('c') as { trainedEvents: number }).trainedEvents > 0, 'a checkpoint came back from the worker');
  const resumed = new TwoTower(context, worker);
  resumed.restore(stored);
  await resumed.start();
  learnAll(resumed, 2600, events.length, 390, stored);
  await resumed.flush();
  assert.deepEqual(predictions(resumed), predictions(whole));
  await Promise.all([whole.close(), resumed.close()]);
});

test('retrieval by blocks of users gives each user the top of their own scores', async () => {
  const model = new TwoTower(context, SMALL);
  await model.start();
  for (const event of events) model.learn([event]);
  await model.flush();
  const items = stream.catalog.items.size;
  const users = Array.from({ length: 100 }, (_, u) => u);
  const lists = model.retrieve(users, items, 15, (user, item) => (user + item) % 7 === 0);
  users.forEach((user, k) => {
    const scores = new Float64Array(items);
    model.scoreAll(user, items, scores);
    const expected = topK(scores, items, 15, (item) => (user + item) % 7 === 0).map((entry) => entry.index);
    assert.deepEqual(
      lists[k]!.map((entry) => entry.index),
      expected,
      `user ${user}`,
    );
  });
  await model.close();
});

test('serving reads never change the stored state; features that arrive later refresh the cached towers', async () => {
  const model = new TwoTower(context, SMALL);
  await model.start();
  for (const event of events.slice(0, 1000)) model.learn([event]);
  model.drainChanges();
  const items = stream.catalog.items.size;
  model.scoreNewcomer({ age: 30, gender: 'X', occupation: 'astronaut' }, items, new Float64Array(items));
  const vocabularies = model.drainChanges().filter(([key]) => key.startsWith('v/'));
  assert.deepEqual(vocabularies, [], 'an unseen gender and occupation on a read path are not added to the vocabularies');
  const before = model.predict(0, 1);
  const userId = stream.catalog.users.idAt(0);
  const original = stream.catalog.features.userById(userId)!;
  stream.catalog.features.setUser(userId, { age: 70, gender: original.gender === 'F' ? 'M' : 'F', occupation: 'retired' });
  assert.notEqual(model.predict(0, 1), before, 'new side features are seen at once, without a weight update');
  stream.catalog.features.setUser(userId, original);
  await model.close();
  await assert.rejects(model.start(), /closed/);
});

test('settings are checked with clear errors', () => {
  assert.throws(() => checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, embedding: 7 }), /embedding must be even/);
  assert.throws(() => checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, idDropout: 1 }), /idDropout must be in \[0, 1\)/);
  assert.throws(() => checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, batchSize: 0 }), /batchSize must be a positive integer/);
  assert.throws(() => new TwoTower(context, { learningRate: -1 }), /learningRate must be > 0/);
});
