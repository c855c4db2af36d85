import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS, clampToScale } from '../../src/events/scale.js';
import { Ensemble } from '../../src/models/ensemble.js';
import { eventShare } from '../../src/models/event-share.js';
import { learningOrder } from '../../src/models/learning-order.js';
import type { IndexedRating, InputScores, ModelName, OnlineModel, RankingModel, RatingModel, StateValue } from '../../src/models/model.js';
import { createRng } from '../../src/random.js';
import { topK } from '../../src/ranking/top-k.js';

const context = { scale: WHOLE_STARS, seed: 7 };
const options = { trainShare: 1 };

/** A per-event rating model that learns nothing: it predicts what `predictFor` says. */
class FixedRater implements RatingModel {
  readonly learning = 'per-event' as const;
  learned = 0;
  constructor(
    readonly name: ModelName,
    private readonly predictFor: (user: number, item: number) => number,
  ) {}
  predict(user: number, item: number): number {
    return clampToScale(this.predictFor(user, item), WHOLE_STARS);
  }
  learn(batch: readonly IndexedRating[]): void {
    this.learned += batch.length;
  }
  drainChanges(): Array<[string, StateValue]> {
    return [];
  }
  restore(): void {}
  userOfKey(key: string): never {
    throw new Error(`unknown state key '${key}': this model drains none`);
  }
}

/** A per-event ranking model that learns nothing: its scores are whatever `scoresFor` writes. */
class FixedRanker implements RankingModel {
  readonly learning = 'per-event' as const;
  constructor(
    readonly name: ModelName,
    private readonly scoresFor: (user: number, itemCount: number, scores: Float64Array) => void,
  ) {}
  scoreAll(user: number, itemCount: number, scores: Float64Array): void {
    this.scoresFor(user, itemCount, scores);
  }
  learn(): void {}
  drainChanges(): Array<[string, StateValue]> {
    return [];
  }
  restore(): void {}
  userOfKey(key: string): never {
    throw new Error(`unknown state key '${key}': this model drains none`);
  }
}

/** A uniform value in [0, 1) for (a, b, c), the same on every call. */
function hashed(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x3c6ef372, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77) ^ Math.imul(c + 0x165667b1, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}

/** A standard normal for (a, b, c), the same on every call. */
function hashedNormal(a: number, b: number, c: number): number {
  return Math.sqrt(-2 * Math.log(1 - hashed(a, b, c))) * Math.cos(2 * Math.PI * hashed(a, b, c + 1000));
}

/** Each (user, item) rated at most once; the true rating is a hashed function of the pair. */
function ratingStream(count: number, users: number, items: number, seed: number): IndexedRating[] {
  const rng = createRng(seed);
  const seen = new Set<number>();
  const events: IndexedRating[] = [];
  while (events.length < count) {
    const user = rng.int(users);
    const item = rng.int(items);
    if (seen.has(user * items + item)) continue;
    seen.add(user * items + item);
    events.push({ user, item, rating: 1 + Math.floor(5 * hashed(user, item, 1)), ts: events.length });
  }
  return events;
}

const truth = (user: number, item: number) => 1 + Math.floor(5 * hashed(user, item, 1));
/** Unbiased and noisy. */
const noisyA = () => new FixedRater('baseline', (u, i) => truth(u, i) + 0.9 * hashedNormal(u, i, 2));
/** Biased, shrunk and noisy in another, independent way. */
const noisyB = () => new FixedRater('mf', (u, i) => 0.6 * truth(u, i) + 1.8 + 0.7 * hashedNormal(u, i, 3));

test("ensemble: the blend's prequential RMSE is below each of its inputs'", () => {
  const a = noisyA();
  const b = noisyB();
  const ensemble = new Ensemble(context, [a, b], options);
  const squared = { a: 0, b: 0, ensemble: 0 };
  const events = ratingStream(6000, 100, 200, 1);
  for (const event of events) {
    const { user, item, rating } = event;
    squared.a += (a.predict(user, item) - rating) ** 2;
    squared.b += (b.predict(user, item) - rating) ** 2;
    squared.ensemble += (ensemble.predict(user, item) - rating) ** 2;
    for (const model of learningOrder([a, b, ensemble])) model.learn([event]);
  }
  const rmse = Object.fromEntries(Object.entries(squared).map(([name, sq]) => [name, Math.sqrt(sq / events.length)]));
  assert.ok(rmse.ensemble! < rmse.a! - 0.05 && rmse.ensemble! < rmse.b! - 0.05, JSON.stringify(rmse));
  // The inputs learned every event (the ensemble passes nothing on itself, the driver does).
  assert.equal(a.learned, events.length);
  // Both inputs carry weight in the solved blend.
  const weights = ensemble.blendWeights();
  assert.ok(Number.isFinite(weights.intercept!) && weights.baseline! > 0 && weights.mf! > 0, JSON.stringify(weights));
  // Predictions stay on the scale.
  for (let u = 0; u < 20; u++)
    for (let i = 0; i < 20; i++) {
      const p = ensemble.predict(u, i);
      assert.ok(p >= 1 && p <= 5, `${p}`);
    }
});

test('ensemble: before any solve it predicts the prior blend, the mean of its inputs', () => {
  const a = noisyA();
  const b = noisyB();
  const ensemble = new Ensemble(context, [a, b], options);
  for (let u = 0; u < 10; u++)
    for (let i = 0; i < 10; i++) {
      const mean = (a.predict(u, i) + b.predict(u, i)) / 2;
      assert.ok(Math.abs(ensemble.predict(u, i) - mean) < 1e-12);
    }
});

/** A ranking world: `next` is the item the user is about to pick; the informative input scores it higher. */
function rankingWorld(itemCount: number) {
  const state = { step: 0, next: -1 };
  const informative = new FixedRanker('cooccurrence', (_user, count, scores) => {
    for (let item = 0; item < count; item++) scores[item] = hashed(state.step, item, 7) + (item === state.next ? 0.6 : 0);
  });
  const random = new FixedRanker('popularity', (_user, count, scores) => {
    for (let item = 0; item < count; item++) scores[item] = 50 * hashed(state.step, item, 8);
  });
  return { state, informative, random, itemCount };
}

/** Users picking unseen items, rated 4–5 mostly (relevant), some 1–3. */
function pickStream(count: number, users: number, items: number, seed: number): IndexedRating[] {
  const rng = createRng(seed);
  const seen = Array.from({ length: users }, () => new Set<number>());
  const events: IndexedRating[] = [];
  while (events.length < count) {
    const user = rng.int(users);
    const item = rng.int(items);
    if (seen[user]!.has(item)) continue;
    seen[user]!.add(item);
    events.push({ user, item, rating: rng.next() < 0.8 ? 4 + rng.int(2) : 1 + rng.int(3), ts: events.length });
  }
  return events;
}

interface Hits {
  informative: number;
  random: number;
  ensemble: number;
  relevant: number;
}

/**
 * Drives the ensemble like the Recommender: before each event its inputs and then it score the
 * user's list (the inputs' scores handed over), then it learns the event before them.
 */
function drive(ensemble: Ensemble, world: ReturnType<typeof rankingWorld>, events: readonly IndexedRating[], learn = true): Hits {
  const { state, informative, random, itemCount } = world;
  const seen = new Map<number, Set<number>>();
  const hits: Hits = { informative: 0, random: 0, ensemble: 0, relevant: 0 };
  const buffers = new Map<OnlineModel, Float64Array>([
    [informative, new Float64Array(itemCount)],
    [random, new Float64Array(itemCount)],
  ]);
  const own = new Float64Array(itemCount);
  for (const event of events) {
    state.step += 1;
    state.next = event.item;
    const mine = seen.get(event.user) ?? new Set<number>();
    seen.set(event.user, mine);
    const inTop10 = (scores: Float64Array) => topK(scores, itemCount, 10, (i) => mine.has(i)).some((e) => e.index === event.item);
    informative.scoreAll(event.user, itemCount, buffers.get(informative)!);
    random.scoreAll(event.user, itemCount, buffers.get(random)!);
    ensemble.scoreAll(event.user, itemCount, own, mine, buffers as InputScores);
    if (event.rating >= 4) {
      hits.relevant += 1;
      if (inTop10(buffers.get(informative)!)) hits.informative += 1;
      if (inTop10(buffers.get(random)!)) hits.random += 1;
      if (inTop10(own)) hits.ensemble += 1;
    }
    if (learn) for (const model of learningOrder([informative, random, ensemble])) model.learn([event]);
    mine.add(event.item);
  }
  return hits;
}

test('ensemble: the ranker learns to favour the informative input, and ranks better than before it learned', () => {
  const world = rankingWorld(200);
  const ensemble = new Ensemble(context, [world.informative, world.random], options);
  const before = ensemble.rankingWeights();
  assert.deepEqual(before, { cooccurrence: { percentile: 1, z: 0, source: 0 }, popularity: { percentile: 1, z: 0, source: 0 } });
  const training = drive(ensemble, world, pickStream(1500, 30, 200, 4));
  const weights = ensemble.rankingWeights();
  const total = (w: { percentile: number; z: number; source: number }) => w.percentile + w.z + w.source;
  assert.ok(total(weights.cooccurrence!) > total(weights.popularity!) + 0.5, JSON.stringify(weights));
  assert.ok(weights.cooccurrence!.percentile + weights.cooccurrence!.z > before.cooccurrence!.percentile, JSON.stringify(weights));
  assert.ok(weights.popularity!.percentile < before.popularity!.percentile, JSON.stringify(weights));
  // The informative input's hit rate beats the random one's (≈ 10/200).
  assert.ok(training.informative / training.relevant > 0.4 && training.random / training.relevant < 0.12, JSON.stringify(training));
  // On fresh events, the trained ensemble beats both the random input and the untrained (Borda) fusion.
  const fresh = pickStream(800, 30, 200, 5);
  const trainedHits = drive(ensemble, world, fresh, false);
  const untrained = new Ensemble(context, [world.informative, world.random], options);
  world.state.step -= fresh.length;
  const untrainedHits = drive(untrained, world, fresh, false);
  assert.ok(trainedHits.ensemble > trainedHits.random * 3, JSON.stringify(trainedHits));
  assert.ok(
    trainedHits.ensemble > untrainedHits.ensemble + 0.05 * fresh.length * 0.8,
    `trained ${JSON.stringify(trainedHits)}, untrained ${JSON.stringify(untrainedHits)}`,
  );
});

test('ensemble: it only learns to rank from a list it scored for that user since the last event', () => {
  const world = rankingWorld(100);
  const ensemble = new Ensemble(context, [world.informative, world.random], options);
  const before = JSON.stringify(ensemble.rankingWeights());
  // No scoreAll: nothing served, nothing learned.
  ensemble.learn(pickStream(200, 10, 100, 6).map((e) => ({ ...e, rating: 5 })));
  assert.equal(JSON.stringify(ensemble.rankingWeights()), before);
  // Scored for user 1, then an event of user 2: not that user's list.
  world.state.next = 3;
  ensemble.scoreAll(1, 100, new Float64Array(100), new Set());
  ensemble.learn([{ user: 2, item: 3, rating: 5, ts: 0 }]);
  assert.equal(JSON.stringify(ensemble.rankingWeights()), before);
  // Scored for user 1 and then an event: stale after that event.
  ensemble.scoreAll(1, 100, new Float64Array(100), new Set());
  ensemble.learn([{ user: 9, item: 3, rating: 5, ts: 0 }]);
  ensemble.learn([{ user: 1, item: 3, rating: 5, ts: 0 }]);
  assert.equal(JSON.stringify(ensemble.rankingWeights()), before);
  // Scored for user 1 and the next event is user 1's pick of a candidate, even rated low: learned.
  ensemble.scoreAll(1, 100, new Float64Array(100), new Set());
  ensemble.learn([{ user: 1, item: 3, rating: 1, ts: 0 }]);
  assert.notEqual(JSON.stringify(ensemble.rankingWeights()), before);
});

test('ensemble: the ranker learns only from the events in its trainShare (by eventShare)', () => {
  const world = rankingWorld(100);
  const events = pickStream(300, 10, 100, 13).map((e) => ({ ...e, rating: 5 }));
  const run = (trainShare: number) => {
    const ensemble = new Ensemble(context, [world.informative, world.random], { trainShare });
    world.state.step = 0;
    drive(ensemble, world, events);
    return ensemble.rankingWeights();
  };
  const untrained = new Ensemble(context, [world.informative, world.random], options).rankingWeights();
  assert.deepEqual(run(0), untrained, 'trainShare 0 learns nothing');
  assert.notDeepEqual(run(1), untrained, 'trainShare 1 learns');
  // trainShare 0.5 learns from the events in the share only: something, less than all, and the same every time.
  const inShare = events.filter((e) => eventShare(e.user, e.item) < 0.5);
  assert.ok(inShare.length > 100 && inShare.length < 200);
  const half = run(0.5);
  assert.notDeepEqual(half, untrained);
  assert.notDeepEqual(half, run(1));
  assert.deepEqual(run(0.5), half);
});

test('ensemble: scoreAll scores the candidates (top-N of each input minus what was seen), every other item -Infinity', () => {
  const world = rankingWorld(300);
  const ensemble = new Ensemble(context, [world.informative, world.random], { ...options, candidatesPerSource: 20 });
  const seen = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const scores = new Float64Array(300);
  ensemble.scoreAll(3, 300, scores, seen);
  const expected = new Set<number>();
  for (const model of [world.informative, world.random]) {
    const own = new Float64Array(300);
    model.scoreAll(3, 300, own);
    for (const { index } of topK(own, 300, 20, (i) => seen.has(i))) expected.add(index);
  }
  const scored = [...scores.keys()].filter((i) => scores[i] !== -Infinity);
  assert.deepEqual(new Set(scored), expected);
  assert.ok(expected.size >= 20 && expected.size <= 40);
  for (const item of seen) assert.equal(scores[item], -Infinity);
});

test('ensemble: drain and restore give identical predictions and scores, and it goes on identically', () => {
  const world = rankingWorld(120);
  const a = noisyA();
  const b = noisyB();
  const make = () => new Ensemble(context, [a, b, world.informative, world.random], { ...options, solveEvery: 50 });
  const events = pickStream(900, 25, 120, 9);
  const original = make();
  world.state.step = 0;
  drive(original, world, events.slice(0, 600));
  const stored = new Map<string, StateValue>();
  for (const [key, value] of original.drainChanges()) stored.set(key, value);
  const restored = make();
  restored.restore(stored);
  const compare = (label: string) => {
    for (let u = 0; u < 25; u++) for (let i = 0; i < 120; i += 7) assert.equal(restored.predict(u, i), original.predict(u, i), `${label}: predict(${u}, ${i})`);
    for (let u = 0; u < 25; u += 3) {
      const mine = new Float64Array(120);
      const theirs = new Float64Array(120);
      original.scoreAll(u, 120, theirs, new Set([u]));
      restored.scoreAll(u, 120, mine, new Set([u]));
      assert.deepEqual([...mine], [...theirs], `${label}: scores of user ${u}`);
    }
    assert.deepEqual(restored.blendWeights(), original.blendWeights());
    assert.deepEqual(restored.rankingWeights(), original.rankingWeights());
  };
  compare('restored');
  assert.notDeepEqual(original.rankingWeights(), make().rankingWeights(), 'it learned something to restore');
  assert.notDeepEqual(original.blendWeights(), make().blendWeights(), 'it solved a blend to restore');
  const step = world.state.step;
  drive(original, world, events.slice(600));
  world.state.step = step;
  drive(restored, world, events.slice(600));
  compare('after going on');
  assert.throws(() => new Ensemble(context, [a, world.random], options).restore(stored), /were its input models changed/);
  assert.throws(() => make().restore([['weights', [1]]]), /unknown state key/);
});

test('ensemble: it learns before its inputs (learningOrder), and models reading each other in a cycle throw', () => {
  const world = rankingWorld(10);
  const a = noisyA();
  const ensemble = new Ensemble(context, [a, world.informative, world.random], options);
  const other = new FixedRater('knn-item', () => 3);
  assert.deepEqual(learningOrder([a, world.informative, world.random, ensemble]), [ensemble, a, world.informative, world.random]);
  assert.deepEqual(learningOrder([world.random, ensemble, a, world.informative]), [ensemble, world.random, a, world.informative]);
  // Models it does not read keep their place.
  const order = learningOrder([other, a, ensemble, world.informative, world.random]);
  assert.equal(order[0], other);
  assert.ok(
    order.indexOf(ensemble) < Math.min(order.indexOf(a), order.indexOf(world.informative), order.indexOf(world.random)),
    order.map((m) => m.name).join(', '),
  );
  // A cycle.
  const first = {
    name: 'baseline',
    learning: 'per-event',
    inputs: [] as OnlineModel[],
    learn() {},
    drainChanges: () => [],
    restore() {},
    userOfKey: () => undefined,
  } satisfies OnlineModel;
  const second = {
    name: 'mf',
    learning: 'per-event',
    inputs: [first] as OnlineModel[],
    learn() {},
    drainChanges: () => [],
    restore() {},
    userOfKey: () => undefined,
  } satisfies OnlineModel;
  first.inputs.push(second);
  assert.throws(() => learningOrder([first, second]), /cycle/);
  // An ensemble needs something to read.
  assert.throws(() => new Ensemble(context, [], options), /at least one/);
  assert.throws(() => new Ensemble(context, [a], { ...options, forgetting: 0 }), RangeError);
  assert.throws(() => new Ensemble(context, [a], { ...options, candidatesPerSource: 0 }), RangeError);
});
