/**
 * npm run bench:similarity — the embedded replay with similarity on (Baseline + MF + knn-item,
 * per-batch top-k refresh and similar-items refresh) over a synthetic ML-1M-sized stream
 * (6,040 users, 3,706 items, 1,000,209 ratings, seed 42). Prints a details object, then as the
 * last line of standard output {"eventsPerSecond", "pairs", "peakRssMb"}.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../src/datasets/detect.js';
import { DEFAULT_MODEL_SETTINGS } from '../src/models/registry.js';
import type { KnnBaseline } from '../src/models/knn-baseline.js';
import type { Recommender } from '../src/recommender.js';
import { writeSyntheticDataset } from '../streams/datasets/write-synthetic.js';
import { replay } from '../streams/replay-job.js';
import { cacheDir } from '../streams/cli/defaults.js';
import { GENERATOR_VERSION } from '../src/datasets/synthetic.js';

const ML1M_SHAPE = { users: 6040, items: 3706, ratings: 1_000_209, seed: 42 };
const models = { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'mf', 'knn-item'] as Array<'baseline' | 'mf' | 'knn-item'> };

const dir = join(cacheDir(), 'synthetic', `ml-1m-shaped-6040x3706x1000209-seed42-v${GENERATOR_VERSION}`);
if (!existsSync(join(dir, 'u.data'))) await writeSyntheticDataset(dir, ML1M_SHAPE);
let recommender: Recommender | undefined;
const summary = await replay({
  dataset: await openDataset(dir),
  stateDir: mkdtempSync(join(tmpdir(), 'rxrec-bench-similarity-')),
  pacing: { kind: 'max' },
  models,
  rankModel: 'mf',
  k: 10,
  batchSize: 5000,
  batchWaitMs: 50,
  // Changed neighbour lists are refreshed and serialised per batch as for the topic, then dropped.
  similarOut: '/dev/null',
  onStart: (info) => {
    recommender = info.recommender;
  },
});
const knnItem = recommender!.models.find((model) => model.name === 'knn-item') as KnnBaseline;
const footprint = knnItem.similarity.footprint();
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const round = (x: number | undefined, digits = 0) => (x === undefined ? null : Math.round(x * 10 ** digits) / 10 ** digits);
console.log(
  JSON.stringify({
    dataset: 'synthetic ML-1M-shaped: 6040 users × 3706 items, 1000209 ratings, seed 42',
    models: models.models,
    historyCap: models.historyCap,
    seconds: round(summary.seconds, 2),
    loadSeconds: round(summary.loadSeconds, 2),
    prequential: Object.fromEntries(Object.entries(summary.models).map(([name, f]) => [name, { rmse: round(f.rmse, 4), mae: round(f.mae, 4) }])),
    pairBytes: footprint.pairBytes,
    bytesPerPair: round(footprint.pairBytes / footprint.pairs, 1),
    ratingsHeld: footprint.ratings,
    historyBytes: footprint.historyBytes,
  }),
);
console.log(JSON.stringify({ eventsPerSecond: round(summary.eventsPerSecond), pairs: footprint.pairs, peakRssMb: round(peakRssMb, 1) }));
