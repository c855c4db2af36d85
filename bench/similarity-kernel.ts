/**
 * Throughput of the similarity kernel alone (no pipeline, no I/O) on an ML-1M-shaped synthetic
 * stream in timestamp order: 6,040 users, 3,706 items, 1,000,209 ratings.
 *
 *   node dist/bench/similarity-kernel.js [--kind item|user] [--cap H] [--measure pearson]
 *                                        [--knn] [--ratings N] [--batch B]
 *
 * With --knn it runs the KnnBaseline model prequentially (predict each event, then learn it,
 * batch by batch) beside a plain Baseline and reports both RMSEs. The last line of standard
 * output is JSON: {"eventsPerSecond": x, "pairs": n, "peakRssMb": x}.
 */
import { parseArgs } from 'node:util';
import { createSyntheticMovieLens } from '../src/datasets/synthetic.js';
import { WHOLE_STARS } from '../src/events/scale.js';
import { Baseline } from '../src/models/baseline.js';
import { KnnBaseline } from '../src/models/knn-baseline.js';
import type { IndexedRating } from '../src/models/model.js';
import { parseMeasure } from '../src/similarity/measures.js';
import { SimilarityIndex } from '../src/similarity/similarity-index.js';

const { values: args } = parseArgs({
  options: {
    kind: { type: 'string', default: 'item' },
    cap: { type: 'string', default: '100' },
    measure: { type: 'string', default: 'pearson' },
    knn: { type: 'boolean', default: false },
    users: { type: 'string', default: '6040' },
    items: { type: 'string', default: '3706' },
    ratings: { type: 'string', default: '1000209' },
    batch: { type: 'string', default: '1000' },
    candidates: { type: 'string' },
  },
});
const kind = args.kind === 'user' ? 'user' : 'item';
const historyCap = args.cap === 'inf' ? Infinity : Number(args.cap);
const measure = parseMeasure(args.measure);
const batchSize = Number(args.batch);

const stream = timestampOrdered(Number(args.users), Number(args.items), Number(args.ratings));
console.error(`stream: ${stream.length} ratings`);

if (args.knn) {
  const knn = new KnnBaseline(
    { scale: WHOLE_STARS, seed: 42 },
    { kind, similarity: { historyCap, measure }, ...(args.candidates ? { candidates: args.candidates === 'inf' ? Infinity : Number(args.candidates) } : {}) },
  );
  const baseline = new Baseline({ scale: WHOLE_STARS, seed: 42 });
  let knnSquares = 0;
  let baselineSquares = 0;
  let knnSeconds = 0;
  for (let from = 0; from < stream.length; from += batchSize) {
    const batch = stream.slice(from, from + batchSize);
    for (const { user, item, rating } of batch) baselineSquares += (baseline.predict(user, item) - rating) ** 2;
    baseline.learn(batch);
    const started = performance.now();
    for (const { user, item, rating } of batch) knnSquares += (knn.predict(user, item) - rating) ** 2;
    knn.learn(batch);
    knnSeconds += (performance.now() - started) / 1000;
  }
  const rmse = (squares: number) => Math.sqrt(squares / stream.length).toFixed(4);
  console.log(`prequential RMSE: ${knn.name} ${rmse(knnSquares)}, baseline ${rmse(baselineSquares)}`);
  report(stream.length / knnSeconds, knn.similarity);
} else {
  const index = new SimilarityIndex(WHOLE_STARS, { kind, historyCap, measure });
  const started = performance.now();
  for (let from = 0; from < stream.length; from += batchSize) {
    index.learnBatch(stream.slice(from, from + batchSize));
    index.refreshNeighbours();
  }
  report(stream.length / ((performance.now() - started) / 1000), index);
}

function report(eventsPerSecond: number, index: SimilarityIndex): void {
  const { pairs, ratings, pairBytes, historyBytes } = index.footprint();
  console.log(`pairs ${pairs}, ${(pairBytes / pairs).toFixed(1)} bytes per pair; ${ratings} ratings, ${(historyBytes / ratings).toFixed(1)} bytes per rating`);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify({ eventsPerSecond: Math.round(eventsPerSecond), pairs, peakRssMb }));
}

/** The synthetic ratings merged into timestamp order, with dense indices (ids are 1-based). */
function timestampOrdered(users: number, items: number, ratings: number): IndexedRating[] {
  const all: IndexedRating[] = [];
  for (const byUser of createSyntheticMovieLens({ users, items, ratings, seed: 42 }).ratingsByUser()) {
    for (let k = 0; k < byUser.itemIds.length; k++) {
      all.push({ user: byUser.userId - 1, item: byUser.itemIds[k] - 1, rating: byUser.ratings[k], ts: byUser.seconds[k] * 1000 });
    }
  }
  return all.sort((a, b) => a.ts - b.ts);
}
