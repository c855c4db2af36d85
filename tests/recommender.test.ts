import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../src/events/scale.js';
import type { RatingEvent } from '../src/events/rating.js';
import { CoOccurrence } from '../src/models/cooccurrence.js';
import { eventShare } from '../src/models/event-share.js';
import type { IndexedRating, Learning, ModelName, RatingModel, StateValue } from '../src/models/model.js';
import { Ensemble } from '../src/models/ensemble.js';
import { BiasedMF } from '../src/models/mf.js';
import { Popularity } from '../src/models/popularity.js';
import { DEFAULT_MODEL_SETTINGS } from '../src/models/registry.js';
import { Recommender } from '../src/recommender.js';
import { assembleRecommender } from '../streams/assemble.js';
import { randomRatings } from './fixtures.js';

const OPTIONS = { scale: WHOLE_STARS, k: 10, relevanceThreshold: 4, rankingShare: 1 };

type LogEntry = { model: string; what: 'predict'; user: number; item: number } | { model: string; what: 'learn'; events: IndexedRating[] };

/** A rating model that records what it predicted and when it learned, and learns nothing. */
class Recorder implements RatingModel {
  constructor(
    readonly name: ModelName,
    readonly learning: Learning,
    private readonly log: LogEntry[],
  ) {}
  predict(user: number, item: number): number {
    this.log.push({ model: this.name, what: 'predict', user, item });
    return 3;
  }
  learn(batch: readonly IndexedRating[]): void {
    this.log.push({ model: this.name, what: 'learn', events: [...batch] });
  }
  drainChanges(): Array<[string, StateValue]> {
    return [];
  }
  restore(): void {}
  userOfKey(key: string): never {
    throw new Error(`unknown state key '${key}': this model drains none`);
  }
}

function ratingEvents(count: number, users: number, items: number, seed: number): RatingEvent[] {
  return randomRatings(count, users, items, seed).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }));
}

function batches<T>(events: readonly T[], sizes: readonly number[]): T[][] {
  const out: T[][] = [];
  for (let start = 0, n = 0; start < events.length; n++) {
    const size = sizes[n % sizes.length]!;
    out.push(events.slice(start, start + size));
    start += size;
  }
  return out;
}

test('recommender: a per-batch learner predicts every event of a batch before it learns the batch, once per batch; per-event learners learn event by event', () => {
  const log: LogEntry[] = [];
  const perBatch = new Recorder('mf', 'per-batch', log);
  const perEvent = new Recorder('baseline', 'per-event', log);
  const popularity = new Popularity();
  const recommender = new Recommender([perBatch, perEvent, popularity], popularity, OPTIONS);
  const all = ratingEvents(300, 20, 40, 1);
  for (const batch of batches(all, [1, 7, 30, 3, 50])) {
    const indexed = recommender.index(batch);
    const from = log.length;
    recommender.applyBatch(indexed);
    const entries = log.slice(from);
    const mine = (model: string) => entries.filter((e) => e.model === model);
    // Per batch: one predict per event in order, then a single learn of the whole batch, last.
    const batchEntries = mine('mf');
    assert.equal(batchEntries.length, indexed.length + 1);
    assert.deepEqual(
      batchEntries.slice(0, -1).map((e) => e.what === 'predict' && [e.user, e.item]),
      indexed.map((e) => [e.user, e.item]),
    );
    const last = batchEntries.at(-1)!;
    assert.ok(last.what === 'learn');
    assert.deepEqual(last.events, indexed);
    assert.equal(entries.indexOf(last), entries.length - 1, 'it learns after everything else of the batch');
    // Per event: predict e, learn [e], predict the next one...
    const eventEntries = mine('baseline');
    assert.equal(eventEntries.length, 2 * indexed.length);
    indexed.forEach((event, n) => {
      const predicted = eventEntries[2 * n]!;
      const learned = eventEntries[2 * n + 1]!;
      assert.ok(predicted.what === 'predict' && predicted.user === event.user && predicted.item === event.item);
      assert.ok(learned.what === 'learn');
      assert.deepEqual(learned.events, [event]);
      // The per-batch learner predicted this event before the per-event learner learned it.
      assert.ok(
        entries.findIndex((e) => e.model === 'mf' && e.what === 'predict' && e.user === event.user && e.item === event.item) < entries.indexOf(learned),
      );
    });
  }
});

test('recommender: per-event learners see the same events whatever the batching', () => {
  const all = ratingEvents(400, 25, 50, 2);
  const run = (sizes: number[]) => {
    const popularity = new Popularity({ halfLife: 50 });
    const cooccurrence = new CoOccurrence({ window: 5 });
    const recommender = new Recommender([popularity, cooccurrence], cooccurrence, OPTIONS);
    for (const batch of batches(all, sizes)) recommender.applyBatch(recommender.index(batch));
    return {
      figures: recommender.evaluator.figures().models,
      list: recommender.listOf(popularity, 3),
      lists: [0, 1, 2, 3].map((u) => recommender.listOf(cooccurrence, u)),
    };
  };
  assert.deepEqual(run([1]), run([13, 64]));
});

test('recommender: figures carry rmse/mae for rating models and hitAt10/ndcgAt10/rankedEvents for ranking models', () => {
  const recommender = assembleRecommender({ ...DEFAULT_MODEL_SETTINGS, scale: WHOLE_STARS.name, rankModel: 'ensemble', rankingShare: 1 }, 10);
  const all = ratingEvents(1200, 40, 80, 3);
  for (const batch of batches(all, [50])) recommender.applyBatch(recommender.index(batch));
  const { models } = recommender.evaluator.figures();
  const relevant = all.filter((e) => e.rating >= 4).length;
  assert.deepEqual(Object.keys(models).sort(), ['baseline', 'ensemble', 'implicit-als', 'mf', 'popularity']);
  // Rating models: baseline, mf, ensemble.
  for (const name of ['baseline', 'mf', 'ensemble']) {
    const figures = models[name]!;
    assert.ok(figures.rmse! > 0 && figures.rmse! < 3 && figures.mae! > 0 && figures.mae! <= figures.rmse!, `${name}: ${JSON.stringify(figures)}`);
  }
  // Ranking models: all five (baseline and mf rank by predicted rating).
  for (const name of ['baseline', 'mf', 'popularity', 'implicit-als', 'ensemble']) {
    const figures = models[name]!;
    assert.equal(figures.rankedEvents, relevant, name);
    assert.ok(figures.hitAt10! > 0 && figures.hitAt10! <= 1, `${name}: ${JSON.stringify(figures)}`);
    assert.ok(figures.ndcgAt10! > 0 && figures.ndcgAt10! <= figures.hitAt10!, `${name}: ${JSON.stringify(figures)}`);
  }
  // Models that do not predict ratings have no error figures.
  for (const name of ['popularity', 'implicit-als']) assert.ok(!('rmse' in models[name]!) && !('mae' in models[name]!), name);
});

test('recommender: hit@10 of a ranking model is its fresh list checked before each relevant event', () => {
  // Popularity with all-time counts: the fresh list before an event is the top 10 by count so far, minus what the user rated.
  const popularity = new Popularity({ halfLife: Infinity });
  const recommender = new Recommender([popularity], popularity, OPTIONS);
  const all = ratingEvents(800, 30, 60, 4);
  const counts = new Map<string, number>();
  const seen = new Map<string, Set<string>>();
  const firstSeen: string[] = [];
  let hits = 0;
  let ndcg = 0;
  let relevant = 0;
  for (const event of all) {
    const mine = seen.get(event.userId) ?? new Set<string>();
    if (event.rating >= 4) {
      relevant += 1;
      // Items in order of first sight break ties, as item indices do.
      const ranked = firstSeen
        .filter((i) => !mine.has(i))
        .sort((a, b) => counts.get(b)! - counts.get(a)! || firstSeen.indexOf(a) - firstSeen.indexOf(b))
        .slice(0, 10);
      const rank = ranked.indexOf(event.itemId) + 1;
      if (rank > 0) {
        hits += 1;
        ndcg += 1 / Math.log2(rank + 1);
      }
    }
    recommender.applyBatch(recommender.index([event]));
    if (!counts.has(event.itemId)) firstSeen.push(event.itemId);
    counts.set(event.itemId, (counts.get(event.itemId) ?? 0) + 1);
    mine.add(event.itemId);
    seen.set(event.userId, mine);
  }
  const figures = recommender.evaluator.figures().models.popularity!;
  assert.equal(figures.rankedEvents, relevant);
  assert.ok(hits > 0);
  assert.equal(figures.hitAt10, hits / relevant);
  assert.ok(Math.abs(figures.ndcgAt10! - ndcg / relevant) < 1e-12);
});

test('recommender: with rankingShare 1 every relevant event is ranked, with 0 none, in between the eventShare sample', () => {
  const all = ratingEvents(900, 30, 70, 5);
  for (const rankingShare of [1, 0, 0.3]) {
    const popularity = new Popularity();
    const cooccurrence = new CoOccurrence();
    const recommender = new Recommender([popularity, cooccurrence], popularity, { ...OPTIONS, rankingShare });
    let relevant = 0;
    let sampled = 0;
    for (const batch of batches(all, [40, 9])) {
      const indexed = recommender.index(batch);
      for (const e of indexed) {
        if (e.rating < 4) continue;
        relevant += 1;
        if (eventShare(e.user, e.item) < rankingShare) sampled += 1;
      }
      recommender.applyBatch(indexed);
    }
    const { models, published } = recommender.evaluator.figures();
    if (rankingShare === 1) assert.equal(sampled, relevant);
    if (rankingShare === 0) assert.equal(sampled, 0);
    if (rankingShare === 0.3) assert.ok(sampled > 0.2 * relevant && sampled < 0.4 * relevant, `${sampled} of ${relevant}`);
    for (const name of ['popularity', 'cooccurrence']) {
      assert.equal(models[name]!.rankedEvents, sampled, `${name} at share ${rankingShare}`);
      if (sampled === 0) assert.ok(Number.isNaN(models[name]!.hitAt10), 'no figure from no events');
    }
    // The published lists are checked on every relevant event, whatever the share.
    assert.equal(published.relevant, relevant, `published at share ${rankingShare}`);
  }
  assert.throws(() => new Recommender([new Popularity()], new Popularity(), OPTIONS), /must be one of/);
  const popularity = new Popularity();
  for (const rankingShare of [-0.1, 1.5, NaN]) assert.throws(() => new Recommender([popularity], popularity, { ...OPTIONS, rankingShare }), RangeError);
});

test('eventShare is deterministic, in [0, 1) and roughly uniform', () => {
  let below = 0;
  const deciles = new Array<number>(10).fill(0);
  for (let user = 0; user < 100; user++) {
    for (let item = 0; item < 100; item++) {
      const share = eventShare(user, item);
      assert.ok(share >= 0 && share < 1);
      assert.equal(eventShare(user, item), share);
      if (share < 0.2) below += 1;
      deciles[Math.floor(share * 10)]! += 1;
    }
  }
  assert.ok(Math.abs(below / 10_000 - 0.2) <= 0.02, `share below 0.2: ${below / 10_000}`);
  for (const count of deciles) assert.ok(Math.abs(count - 1000) < 100, `deciles ${deciles}`);
  // Not a function of the user or the item alone.
  assert.notEqual(eventShare(1, 2), eventShare(1, 3));
  assert.notEqual(eventShare(1, 2), eventShare(2, 2));
});

test('recommender: published hit@k is recorded for every relevant event, against the list as last published', () => {
  const popularity = new Popularity({ halfLife: 200 });
  const cooccurrence = new CoOccurrence({ window: 10 });
  const recommender = new Recommender([popularity, cooccurrence], cooccurrence, { ...OPTIONS, rankingShare: 0.2 });
  const all = ratingEvents(1500, 30, 60, 6);
  let relevant = 0;
  let hits = 0;
  let ndcg = 0;
  for (const batch of batches(all, [25, 60, 5])) {
    const indexed = recommender.index(batch);
    // Lists are refreshed after the batch: within it, each event meets the list published before.
    const before = new Map(indexed.map((e) => [e.user, [...recommender.currentList(e.user)]]));
    for (const e of indexed) {
      if (e.rating < 4) continue;
      relevant += 1;
      const rank = before.get(e.user)!.indexOf(e.item) + 1;
      if (rank > 0 && rank <= 10) {
        hits += 1;
        ndcg += 1 / Math.log2(rank + 1);
      }
    }
    const lists = recommender.applyBatch(indexed);
    // Every user of the batch got a fresh list, now their current list; it is returned (to
    // publish) exactly when its order changed.
    const returned = new Map(lists.map((l) => [l.user, l]));
    for (const user of new Set(indexed.map((e) => e.user))) {
      const fresh = recommender.rankFor(user).map((entry) => entry.index);
      assert.deepEqual([...recommender.currentList(user)], fresh);
      assert.equal(returned.has(user), !sameOrder(before.get(user)!, fresh), `user ${user}`);
    }
    for (const list of lists)
      assert.deepEqual(
        [...recommender.currentList(list.user)],
        list.items.map((entry) => entry.index),
      );
  }
  const { published } = recommender.evaluator.figures();
  assert.equal(published.relevant, relevant);
  assert.ok(hits > 0, 'some published hits');
  assert.equal(published.hitAtK, hits / relevant);
  assert.ok(Math.abs(published.ndcgAtK - ndcg / relevant) < 1e-12);
});

test('recommender: a user never seen gets the cold-start list', () => {
  const popularity = new Popularity({ halfLife: Infinity });
  const cooccurrence = new CoOccurrence();
  const recommender = new Recommender([cooccurrence, popularity], popularity, OPTIONS);
  const all = ratingEvents(600, 25, 50, 7);
  for (const batch of batches(all, [100])) recommender.applyBatch(recommender.index(batch));
  const counts = new Map<number, number>();
  for (const e of all) {
    const item = recommender.catalog.items.lookup(e.itemId);
    counts.set(item, (counts.get(item) ?? 0) + 1);
  }
  const expected = [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 10)
    .map(([item]) => item);
  const cold = recommender.coldStartList();
  assert.deepEqual(
    cold.map((entry) => entry.index),
    expected,
  );
  assert.deepEqual(
    cold.map((entry) => entry.score),
    expected.map((item) => counts.get(item)),
  );
  for (const entry of cold) assert.equal(entry.why.reason, 'most rated');
  // A user index not yet known ranks the same way; a known user's list leaves out what they rated.
  const unknown = recommender.catalog.users.size + 3;
  assert.deepEqual(
    recommender.rankFor(unknown).map((entry) => entry.index),
    expected,
  );
  assert.deepEqual(
    recommender.listOf(popularity, unknown).map((entry) => entry.index),
    expected,
  );
  const known = recommender.catalog.users.lookup('u0');
  const rated = recommender.histories.itemsOf(known);
  assert.ok(recommender.rankFor(known).every((entry) => !rated.has(entry.index)));
  assert.equal(recommender.coldStartList(3).length, 3);
});

test("recommender: with the ensemble serving, a user never seen gets popularity's list, and is scored on it", () => {
  const popularity = new Popularity({ halfLife: Infinity });
  const mf = new BiasedMF({ scale: WHOLE_STARS, seed: 3 });
  const ensemble = new Ensemble({ scale: WHOLE_STARS, seed: 3 }, [mf, popularity], { trainShare: 1 });
  const recommender = new Recommender([mf, popularity, ensemble], ensemble, OPTIONS);
  const all = ratingEvents(600, 25, 50, 7);
  for (const batch of batches(all, [100])) recommender.applyBatch(recommender.index(batch));
  assert.equal(recommender.coldStartModel, popularity);
  const cold = recommender.coldStartList();
  assert.deepEqual(
    cold.map((entry) => entry.index),
    recommender.listOf(popularity, recommender.catalog.users.size).map((entry) => entry.index),
  );
  for (const entry of cold) assert.equal(entry.why.reason, 'most rated');
  // A newcomer's first relevant event is checked against the popularity list (what they were served).
  const before = recommender.evaluator.figures().models.ensemble!.rankedEvents!;
  const hitsBefore = recommender.evaluator.figures().models.ensemble!.hitAt10! * before;
  recommender.applyBatch(recommender.index([{ userId: 'newcomer', itemId: recommender.catalog.items.idAt(cold[0]!.index), rating: 5, ts: 1e9 }]));
  const after = recommender.evaluator.figures().models.ensemble!;
  assert.equal(after.rankedEvents, before + 1);
  assert.ok(Math.abs(after.hitAt10! * after.rankedEvents! - (hitsBefore + 1)) < 1e-9, 'a hit: the item was first on the cold-start list');
});

test('recommender: rankFor entries carry a why (the ensemble over the default models)', () => {
  const recommender = assembleRecommender({ ...DEFAULT_MODEL_SETTINGS, scale: WHOLE_STARS.name, rankModel: 'ensemble' }, 10);
  const all = ratingEvents(1500, 30, 90, 8);
  for (const batch of batches(all, [60])) recommender.applyBatch(recommender.index(batch));
  for (let user = 0; user < recommender.catalog.users.size; user++) {
    const published = [...recommender.currentList(user)];
    const list = recommender.rankFor(user);
    assert.equal(list.length, 10);
    const rated = recommender.histories.itemsOf(user);
    for (const entry of list) {
      assert.equal(typeof entry.why.reason, 'string');
      assert.ok(entry.why.reason.length > 0);
      assert.ok(!rated.has(entry.index), 'never lists what the user rated');
      if (entry.why.becauseOf !== undefined) {
        assert.ok(rated.has(entry.why.becauseOf), `user ${user}: because of ${entry.why.becauseOf}, which they did not rate`);
      }
    }
    // rankFor does not change the published list.
    assert.deepEqual([...recommender.currentList(user)], published);
    assert.equal(published.length, 10);
  }
  assert.ok(recommender.catalog.users.size > 0);
  const cold = recommender.coldStartList();
  assert.equal(cold.length, 10);
  for (const entry of cold) assert.ok(entry.why.reason.length > 0);
  // Co-occurrence as the ranker: an entry it scores names the rated item that led to it.
  const cooccurrence = new CoOccurrence({ window: 8 });
  const plain = new Recommender([cooccurrence], cooccurrence, OPTIONS);
  plain.applyBatch(plain.index(all.slice(0, 400)));
  let named = 0;
  for (let user = 0; user < plain.catalog.users.size; user++) {
    const rated = plain.histories.itemsOf(user);
    for (const entry of plain.rankFor(user)) {
      assert.ok(entry.why.reason.length > 0);
      if (entry.score > 0) {
        named += 1;
        assert.equal(entry.why.reason, 'similar to');
        assert.ok(entry.why.becauseOf !== undefined && rated.has(entry.why.becauseOf), `user ${user}: ${JSON.stringify(entry)}`);
      }
    }
  }
  assert.ok(named > 50, `entries explained by an item: ${named}`);
});

test('recommender: newcomers are scored on the cold-start list whatever the order of the models', () => {
  const cooccurrence = new CoOccurrence();
  const popularity = new Popularity({ halfLife: Infinity });
  // Listed so that inputs-first order alone would score the serving model before popularity.
  const recommender = new Recommender([popularity, cooccurrence], cooccurrence, OPTIONS);
  const all = ratingEvents(600, 25, 50, 7);
  for (const batch of batches(all, [100])) recommender.applyBatch(recommender.index(batch));
  const first = recommender.coldStartList(1)[0]!.index;
  const before = recommender.evaluator.figures().models.cooccurrence!;
  recommender.applyBatch(recommender.index([{ userId: 'newcomer', itemId: recommender.catalog.items.idAt(first), rating: 5, ts: 1e9 }]));
  const after = recommender.evaluator.figures().models.cooccurrence!;
  assert.equal(after.rankedEvents, before.rankedEvents! + 1);
  assert.ok(Math.abs(after.hitAt10! * after.rankedEvents! - (before.hitAt10! * before.rankedEvents! + 1)) < 1e-9, 'a hit on the cold-start list');
});

function sameOrder(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test('recommender: the background refresh recomputes untouched users, oldest first, so list age stays bounded', () => {
  const run = (backgroundRefresh: number) => {
    const popularity = new Popularity({ halfLife: 200 });
    const recommender = new Recommender([popularity], popularity, { ...OPTIONS, rankingShare: 0, backgroundRefresh });
    // After the first 300 events, a third of the users never rate again.
    const all = ratingEvents(3000, 30, 60, 8);
    const early = all.slice(0, 300);
    const late = all.slice(300).filter((e) => Number(e.userId.slice(1)) % 3 !== 0);
    let oldest = 0;
    let backgroundLists = 0;
    for (const batch of batches([...early, ...late], [50])) {
      const before = recommender.listAges().lists;
      const lists = recommender.applyBatch(recommender.index(batch));
      const touched = new Set(batch.map((e) => recommender.catalog.users.lookup(e.userId)));
      for (const list of lists) {
        if (touched.has(list.user)) continue;
        backgroundLists += 1;
        assert.equal(list.eventTs, undefined, 'a background list follows no event of the user');
        assert.deepEqual(
          list.items.map((entry) => entry.index),
          recommender.rankFor(list.user).map((entry) => entry.index),
        );
      }
      if (before > 0) oldest = Math.max(oldest, recommender.listAges().oldestEvents);
    }
    return { oldest, backgroundLists, events: early.length + late.length, users: recommender.listAges().lists };
  };
  const off = run(0);
  const on = run(0.1);
  assert.equal(off.backgroundLists, 0);
  // Without it, the lists of users who stopped rating age with the stream.
  assert.ok(off.oldest > off.events - 400, `oldest list without background refresh: ${off.oldest} events`);
  // With 0.1 lists per event over 30 users, each list is recomputed at least every ~300 events (+ a batch).
  assert.ok(on.backgroundLists > 0, 'some untouched users were refreshed and their lists changed');
  assert.ok(on.oldest <= on.users / 0.1 + 50, `oldest list with background refresh: ${on.oldest} events`);
});
