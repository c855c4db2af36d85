/**
 * npm run bench:synthetic — how the synthetic set (ML100K_SHAPE) compares with the facts
 * measured on real ML-100K (design.md, "Evaluation"): most-popular P@10 under the ranking
 * protocol (real 0.227), a personalised implicit model's P@10 (real BPR 0.37, SAR/item-kNN
 * about 0.33, so about 1.5× most-popular), prequential most-rated-so-far hit@10 (real 0.095),
 * and the rating distribution (real 1: 6%, 2: 11%, 3: 27%, 4: 34%, 5: 21%, mean 3.53). The
 * oracle ranks by the generator's true choice weights, to show how much signal there is to find.
 * Prints one JSON object.
 */
import { ML100K_SHAPE, createSyntheticMovieLens, type UserRatings } from '../src/datasets/synthetic.js';
import { createRng } from '../src/random.js';

const K = 10;
const TRAIN_SHARE = 0.75;

const started = performance.now();
const synthetic = createSyntheticMovieLens(ML100K_SHAPE);
const users = [...synthetic.ratingsByUser()];
const generationSeconds = (performance.now() - started) / 1000;
const itemCount = ML100K_SHAPE.items;

/** The ranking protocol's per-user random 75/25 split: train[u] and test[u] as item indices. */
function split(): { train: Int32Array[]; test: Set<number>[] } {
  const rng = createRng(42);
  const train: Int32Array[] = [];
  const test: Set<number>[] = [];
  for (const user of users) {
    const items = Array.from(user.itemIds, (id) => id - 1);
    for (let i = items.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    const cut = Math.round(TRAIN_SHARE * items.length);
    train.push(Int32Array.from(items.slice(0, cut)));
    test.push(new Set(items.slice(cut)));
  }
  return { train, test };
}

/** Mean P@10 over users of the top 10 items by `score(u)` that u did not rate in training. */
function precisionAt10(train: Int32Array[], test: Set<number>[], score: (user: number) => Float64Array): number {
  let sum = 0;
  for (let user = 0; user < train.length; user++) {
    const scores = score(user);
    for (const item of train[user]!) scores[item] = -Infinity;
    const top = topK(scores, K);
    let hits = 0;
    for (const item of top) if (test[user]!.has(item)) hits++;
    sum += hits / K;
  }
  return sum / train.length;
}

function topK(scores: Float64Array, k: number): number[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return order.slice(0, k);
}

/** SAR-like item-kNN: score(u, i) = Σ_{j ∈ train(u)} sim(j, i), over the full co-occurrence matrix. */
function itemKnnScorer(train: Int32Array[], similarity: 'cosine' | 'jaccard'): (user: number) => Float64Array {
  const cooccurrence = new Float64Array(itemCount * itemCount);
  const counts = new Float64Array(itemCount);
  for (const items of train) {
    for (const i of items) {
      counts[i]!++;
      for (const j of items) cooccurrence[i * itemCount + j]!++;
    }
  }
  for (let i = 0; i < itemCount; i++) {
    for (let j = 0; j < itemCount; j++) {
      const both = cooccurrence[i * itemCount + j]!;
      if (both === 0) continue;
      cooccurrence[i * itemCount + j] = similarity === 'cosine' ? both / Math.sqrt(counts[i]! * counts[j]!) : both / (counts[i]! + counts[j]! - both);
    }
    cooccurrence[i * itemCount + i] = 0;
  }
  return (user) => {
    const scores = new Float64Array(itemCount);
    for (const j of train[user]!) {
      for (let i = 0; i < itemCount; i++) scores[i]! += cooccurrence[j * itemCount + i]!;
    }
    return scores;
  };
}

/**
 * Replays every rating in timestamp order (ties by user, then position) and, before each rating
 * of 4 or more, checks whether its item is among the 10 most rated so far that the user has not
 * rated. Items are kept sorted by count: an increment swaps the item to the front of its count's
 * block, so each event is O(1) plus the scan past items the user has rated.
 */
function prequentialMostPopularHitAt10(all: readonly UserRatings[]): number {
  const events: Array<{ seconds: number; user: number; position: number }> = [];
  all.forEach((user, u) => user.seconds.forEach((seconds, position) => events.push({ seconds, user: u, position })));
  events.sort((a, b) => a.seconds - b.seconds || a.user - b.user || a.position - b.position);
  const counts = new Int32Array(itemCount);
  const order = Int32Array.from({ length: itemCount }, (_, i) => i);
  const positionOf = Int32Array.from({ length: itemCount }, (_, i) => i);
  /** aboveCount[c]: how many items have a count above c, which is where c's block starts. */
  const aboveCount = new Int32Array(events.length + 2);
  const rated = all.map(() => new Set<number>());
  let relevant = 0;
  let hits = 0;
  for (const { user, position } of events) {
    const item = all[user]!.itemIds[position]! - 1;
    if (all[user]!.ratings[position]! >= 4) {
      relevant++;
      for (let p = 0, served = 0; p < itemCount && served < K; p++) {
        if (rated[user]!.has(order[p]!)) continue;
        served++;
        if (order[p] === item) {
          hits++;
          break;
        }
      }
    }
    rated[user]!.add(item);
    const count = counts[item]!;
    const front = aboveCount[count]!;
    const displaced = order[front]!;
    [order[front], order[positionOf[item]!]] = [item, displaced];
    [positionOf[displaced], positionOf[item]] = [positionOf[item]!, front];
    aboveCount[count]!++;
    counts[item]!++;
  }
  return hits / relevant;
}

const { train, test } = split();
const trainCounts = new Float64Array(itemCount);
for (const items of train) for (const item of items) trainCounts[item]!++;
const mostPopular = precisionAt10(train, test, () => Float64Array.from(trainCounts));
const oracle = precisionAt10(train, test, (user) => Float64Array.from({ length: itemCount }, (_, item) => synthetic.logChoiceWeight(user + 1, item + 1)));
const itemKnnCosine = precisionAt10(train, test, itemKnnScorer(train, 'cosine'));
const itemKnnJaccard = precisionAt10(train, test, itemKnnScorer(train, 'jaccard'));

const histogram = [0, 0, 0, 0, 0];
let ratingSum = 0;
const itemRatings = new Int32Array(itemCount);
for (const user of users) {
  for (let j = 0; j < user.ratings.length; j++) {
    histogram[user.ratings[j]! - 1]!++;
    ratingSum += user.ratings[j]!;
    itemRatings[user.itemIds[j]! - 1]!++;
  }
}
const total = ML100K_SHAPE.ratings;
const sortedCounts = Array.from(itemRatings).sort((a, b) => b - a);
const round = (x: number) => Math.round(x * 1000) / 1000;

console.log(
  JSON.stringify({
    spec: ML100K_SHAPE,
    generationSeconds: round(generationSeconds),
    offlineP10: {
      mostPopular: round(mostPopular),
      itemKnnCosine: round(itemKnnCosine),
      itemKnnJaccard: round(itemKnnJaccard),
      oracle: round(oracle),
      itemKnnOverMostPopular: round(Math.max(itemKnnCosine, itemKnnJaccard) / mostPopular),
    },
    prequentialMostPopularHit10: round(prequentialMostPopularHitAt10(users)),
    ratingShares: histogram.map((n) => round(n / total)),
    meanRating: round(ratingSum / total),
    mostRatedItemCount: sortedCounts[0],
    top10PercentShare: round(sortedCounts.slice(0, Math.ceil(itemCount / 10)).reduce((a, b) => a + b, 0) / total),
    itemsRatedOnce: sortedCounts.filter((n) => n === 1).length,
  }),
);
