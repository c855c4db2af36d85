/**
 * Shared parameters as sums of contributions (src/sharing/contributions.ts), without Kafka: two
 * workers learn disjoint users' events and exchange their totals after every batch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { Baseline } from '../../src/models/baseline.js';
import { BiasedMF } from '../../src/models/mf.js';
import type { IndexedRating, OnlineModel, StateValue } from '../../src/models/model.js';
import { unpackFloat64 } from '../../src/models/packed.js';
import { Popularity } from '../../src/models/popularity.js';
import { Contributions, type Contribution } from '../../src/sharing/contributions.js';
import { randomRatings, storeChanges } from '../fixtures.js';

const context = { scale: WHOLE_STARS, seed: 7 };

function worker(halfLife = Infinity) {
  const models: OnlineModel[] = [new Baseline(context), new BiasedMF(context, { factors: 4 }), new Popularity({ halfLife })];
  return { models, contributions: new Contributions(models) };
}

/** Two workers, users split by parity (their partitions), each batch's totals sent to the other. */
function runPair(events: readonly IndexedRating[], batch: number, halfLife = Infinity) {
  const a = worker(halfLife);
  const b = worker(halfLife);
  const mine = (w: number) => events.filter((e) => e.user % 2 === w);
  const [ofA, ofB] = [mine(0), mine(1)];
  let sent = 0;
  for (let from = 0; from < Math.max(ofA.length, ofB.length); from += batch) {
    for (const model of a.models) model.learn(ofA.slice(from, from + batch));
    for (const model of b.models) model.learn(ofB.slice(from, from + batch));
    const fromA = a.contributions.collect();
    const fromB = b.contributions.collect();
    sent += fromA.length + fromB.length;
    b.contributions.absorb(fromA);
    a.contributions.absorb(fromB);
  }
  return { a, b, sent };
}

function stateOf(models: readonly OnlineModel[]): Map<string, Map<string, StateValue>> {
  return new Map(
    models.map((model) => {
      const stored = new Map<string, StateValue>();
      storeChanges(stored, model.drainChanges());
      return [model.name, stored];
    }),
  );
}

function numbers(value: StateValue): number[] {
  return value instanceof Uint8Array ? [...unpackFloat64(value)] : Array.isArray(value) ? (value as number[]) : [value as number];
}

test('counts and sums add up exactly across workers; SGD item rows agree between them', () => {
  const events = randomRatings(4000, 60, 40, 3);
  const { a, b } = runPair(events, 50);
  const [stateA, stateB] = [stateOf(a.models), stateOf(b.models)];

  // Popularity (all-time counts) and the global mean are sums over events: exactly one worker's over all events.
  const single = new Popularity({ halfLife: Infinity });
  single.learn(events);
  const popularity = a.models[2] as Popularity;
  for (let item = 0; item < 40; item++) {
    assert.equal(popularity.count(item), single.count(item), `item ${item}`);
    assert.equal((b.models[2] as Popularity).count(item), single.count(item));
  }
  const sum = events.reduce((total, e) => total + e.rating, 0);
  for (const name of ['baseline', 'mf']) {
    const [total, count] = numbers(stateA.get(name)!.get('mean')!);
    assert.equal(count, events.length);
    assert.ok(Math.abs(total! - sum) < 1e-9);
  }

  // Item-side rows (SGD, asynchronous) are the same on both workers once the last totals are in; user rows are each worker's own.
  for (const name of ['baseline', 'mf']) {
    const [itemsA, itemsB] = [stateA, stateB].map((state) => [...state.get(name)!].filter(([key]) => key.startsWith('i')));
    assert.equal(itemsA!.length, 40);
    for (const [key, value] of itemsA!) {
      const other = new Map(itemsB).get(key);
      assert.ok(other !== undefined, `${name} ${key} on both`);
      numbers(value).forEach((x, f) => assert.ok(Math.abs(x - numbers(other)[f]!) < 1e-9, `${name} ${key}[${f}]: ${x} vs ${numbers(other)[f]}`));
    }
    const usersA = [...stateA.get(name)!.keys()].filter((key) => key.startsWith('u')).map((key) => Number(key.slice(1)));
    assert.ok(
      usersA.every((user) => user % 2 === 0),
      `${name}: a holds only its own users`,
    );
  }
});

test('shared SGD is close to one worker learning every event; kept per worker it is not', () => {
  const events = randomRatings(6000, 80, 30, 11);
  const rmse = (models: OnlineModel[], held: readonly IndexedRating[]) =>
    Math.sqrt(held.reduce((total, e) => total + ((models[1] as BiasedMF).predict(e.user, e.item) - e.rating) ** 2, 0) / held.length);
  const train = events.slice(0, 5000);
  const held = events.slice(5000);
  const one = worker();
  for (const model of one.models) model.learn(train);
  const { a } = runPair(train, 25);
  // A worker that shares nothing: its item rows learned from half the users.
  const alone = worker();
  for (const model of alone.models) model.learn(train.filter((e) => e.user % 2 === 0));
  const heldA = held.filter((e) => e.user % 2 === 0);
  const [single, shared, local] = [rmse(one.models, heldA), rmse(a.models, heldA), rmse(alone.models, heldA)];
  assert.ok(Math.abs(shared - single) < 0.03, `shared ${shared.toFixed(4)} vs single ${single.toFixed(4)}`);
  assert.ok(shared < local, `shared ${shared.toFixed(4)} beats per-worker ${local.toFixed(4)}`);
});

test('totals are idempotent: a total read twice moves nothing; a worker whose LMDB commit was lost after its transaction takes its own totals back', () => {
  const events = randomRatings(600, 20, 10, 5);
  const a = worker();
  const b = worker();
  for (const model of a.models) model.learn(events.slice(0, 300));
  const first = a.contributions.collect();
  assert.ok(b.contributions.absorb(first).length > 0);
  assert.equal(b.contributions.absorb(first).length, 0, 'the same totals again: nothing moves');
  const popularity = b.models[2] as Popularity;

  // a's next batch commits its transaction (its totals reach the topic and b), then a crashes before its LMDB commit.
  // The batch also brings an item a had never seen (item 10): its total is on the topic, but not in a's state.
  const stored = new Map<string, StateValue>(a.contributions.drainChanges());
  const lostBatch = [...events.slice(300, 400), { user: 3, item: 10, rating: 4, ts: 400 }];
  for (const model of a.models) model.learn(lostBatch);
  const committed: Contribution[] = a.contributions.collect();
  b.contributions.absorb(committed);
  const restarted = worker();
  const before = new Popularity({ halfLife: Infinity });
  before.learn(events.slice(0, 300));
  const modelState = new Map<string, StateValue>();
  storeChanges(modelState, before.drainChanges());
  restarted.models[2]!.restore(modelState);
  const again = new Contributions(restarted.models, stored);
  assert.equal(again.slot, a.contributions.slot, 'the slot is kept in the state');
  const mine = restarted.models[2] as Popularity;
  assert.equal(mine.count(10), 0);
  // At start the worker reads its own totals on the topic, oldest first (ScaleOut.start): the committed batch is rolled forward.
  assert.ok(again.adoptOwn([...first, ...committed]) > 0);
  assert.equal(again.adoptOwn(committed), 0, 'taken in once');
  assert.equal(mine.count(10), 1, "the committed batch's new item is counted");
  restarted.models[2]!.learn(events.slice(400, 450));
  b.contributions.absorb(again.collect().filter((c) => c.model === 'popularity'));
  const expected = new Popularity({ halfLife: Infinity });
  expected.learn([...events.slice(0, 300), ...lostBatch, ...events.slice(400, 450)]);
  for (let item = 0; item <= 10; item++) {
    assert.equal(popularity.count(item), expected.count(item), `item ${item}: the other worker counts each event once`);
    assert.equal(mine.count(item), expected.count(item), `item ${item}: the restarted worker too`);
  }
});
