/**
 * One offline evaluation (`rxrec eval`): a dataset split per user at random, the models trained
 * by replaying the training part in timestamp order, then scored on the held-out part. All in
 * memory: no state directory, nothing written.
 *
 * - ranking: 75/25; each ranking model's top-10 for every test user over all items known from
 *   training that the user has not rated in training, against all of the user's test items.
 * - seeds: 80/20, users with fewer than 5 ratings wholly in training; every rating model
 *   predicts every test rating (a user or item never seen in training gets the model's
 *   fallback), clipped to the scale.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { IdIndex } from '../src/catalog.js';
import { isMalformed, validatedRatings, type Dataset } from '../src/datasets/rows.js';
import { fitBatchImpute } from '../src/eval/batch-impute.js';
import { listFigures, meanListFigures, ratingErrors } from '../src/eval/offline-metrics.js';
import { splitPerUser, type PerUserSplit, type SplitRule } from '../src/eval/split.js';
import type { RatingEvent } from '../src/events/rating.js';
import type { ModelSettings } from '../src/models/registry.js';
import { HARD_IMPUTE_DEFAULTS, SOFT_IMPUTE_DEFAULTS } from '../src/models/soft-impute.js';
import type { Recommender } from '../src/recommender.js';
import { assembleRecommender } from './assemble.js';
import { readSideFeatures } from './side-features.js';
import { float64Column, uint32Column, type NumberColumn } from './embedded/columns.js';

export const PROTOCOLS = ['ranking', 'seeds'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const PROTOCOL_SPLITS: Record<Protocol, Omit<SplitRule, 'seed'>> = {
  ranking: { testShare: 0.25, minRatings: 2 },
  seeds: { testShare: 0.2, minRatings: 5 },
};

/** List length of the ranking figures (precisionAt10 …). */
export const LIST_LENGTH = 10;
/** Training batch size: what the per-batch learners see, as in a replay at the default. */
const TRAINING_BATCH = 1000;

export interface EvalOptions {
  readonly dataset: Dataset;
  readonly protocol: Protocol;
  readonly splitSeed: number;
  readonly models: ModelSettings;
  /** The model whose lists are published during training (the ensemble's ranker learns from them). */
  readonly rankModel: string;
  /** Called once the split is made, before training. */
  readonly onSplit?: (split: SplitSummary) => void;
  readonly onTrained?: (trained: number, total: number) => void;
  /** Seeds protocol: each iteration of a batch Soft/Hard-Impute fit. */
  readonly onBatchIteration?: (model: string, iteration: number, maxIterations: number) => void;
}

export interface SplitSummary {
  readonly ratings: number;
  /** Malformed lines and ratings off the scale, left out. */
  readonly skipped: number;
  readonly users: number;
  readonly splitUsers: number;
  /** Users with fewer than `minRatings` ratings, kept wholly in training. */
  readonly keptWhole: number;
  readonly minRatings: number;
  readonly testShare: number;
  readonly train: number;
  readonly test: number;
}

export interface OfflineFigures {
  readonly precisionAt10?: number;
  readonly recallAt10?: number;
  readonly ndcgAt10?: number;
  readonly rmse?: number;
  readonly mae?: number;
  /** This model's own learning (or batch fitting) time plus its scoring time. */
  readonly seconds: number;
}

export interface EvalSummary {
  readonly protocol: Protocol;
  readonly split: SplitSummary;
  readonly trainSeconds: number;
  readonly models: Record<string, OfflineFigures>;
}

/** The dataset's ratings as typed columns, ids interned in file order. */
export interface RatingColumns {
  readonly userIds: IdIndex;
  readonly itemIds: IdIndex;
  readonly users: NumberColumn;
  readonly items: NumberColumn;
  readonly ratings: NumberColumn;
  readonly timestamps: NumberColumn;
  readonly skipped: number;
}

export async function evaluateOffline(options: EvalOptions): Promise<EvalSummary> {
  const { dataset, protocol } = options;
  const columns = await loadRatings(dataset);
  const { split, summary } = splitRatings(columns, protocol, options.splitSeed);
  if (split.testCount === 0) {
    throw new Error(
      `nothing to test in ${dataset.ratingsFile}: ${summary.ratings} ratings of ${split.users} users, none with the ${summary.minRatings} ratings a ${protocol} split needs, so all are kept in training`,
    );
  }
  options.onSplit?.(summary);

  // A batch protocol trains on all of the training part before it tests: no lag bound, which would trade replay for keeping up.
  const models = { ...options.models, twoTower: { ...options.models.twoTower, catchUpLag: 0 } };
  const recommender = assembleRecommender({ scale: dataset.scale.name, rankModel: options.rankModel, ...models }, LIST_LENGTH, {
    clock: () => performance.now(),
  });
  await readSideFeatures(dataset, recommender.catalog.features);
  await recommender.start();
  try {
    const started = performance.now();
    await train(recommender, columns, timestampOrder(columns, split.isTest, summary.train), options.onTrained);
    // Background learners (two-tower) finish training on the training set before the test.
    await recommender.flush();
    const trainSeconds = (performance.now() - started) / 1000;
    const test = positionsWhere(split.isTest, 1, summary.test);
    const learning = recommender.learningSeconds;
    const models =
      protocol === 'ranking'
        ? scoreLists(recommender, columns, test, learning)
        : { ...scoreRatings(recommender, columns, test, dataset, learning), ...batchImputeFigures(options, columns, split.isTest, test) };
    return { protocol, split: summary, trainSeconds, models };
  } finally {
    await recommender.close();
  }
}

/** A protocol's per-user split of the ratings (`--export` writes these very splits). */
export function splitRatings(columns: RatingColumns, protocol: Protocol, splitSeed: number): { split: PerUserSplit; summary: SplitSummary } {
  const count = columns.users.length;
  const rule = { ...PROTOCOL_SPLITS[protocol], seed: splitSeed };
  const split = splitPerUser(count, (position) => columns.users.get(position), rule);
  const summary: SplitSummary = {
    ratings: count,
    skipped: columns.skipped,
    users: split.users,
    splitUsers: split.splitUsers,
    keptWhole: split.keptWhole,
    minRatings: rule.minRatings,
    testShare: rule.testShare,
    train: count - split.testCount,
    test: split.testCount,
  };
  return { split, summary };
}

/** The dataset's well-formed ratings on its scale, in file order. */
export async function loadRatings(dataset: Dataset): Promise<RatingColumns> {
  const columns = {
    userIds: new IdIndex(),
    itemIds: new IdIndex(),
    users: uint32Column(),
    items: uint32Column(),
    ratings: float64Column(),
    timestamps: float64Column(),
  };
  let skipped = 0;
  for await (const row of validatedRatings(dataset)) {
    if (isMalformed(row)) {
      skipped += 1;
      continue;
    }
    columns.users.push(columns.userIds.intern(row.userId));
    columns.items.push(columns.itemIds.intern(row.itemId));
    columns.ratings.push(row.rating);
    columns.timestamps.push(row.ts);
  }
  return { ...columns, skipped };
}

export function positionsWhere(isTest: Uint8Array, flag: 0 | 1, size: number): Uint32Array {
  const positions = new Uint32Array(size);
  let filled = 0;
  for (let position = 0; position < isTest.length; position++) if (isTest[position] === flag) positions[filled++] = position;
  return positions;
}

/** The training ratings by timestamp, ties in file order. */
export function timestampOrder(columns: RatingColumns, isTest: Uint8Array, size: number): Uint32Array {
  return positionsWhere(isTest, 0, size).sort((a, b) => columns.timestamps.get(a) - columns.timestamps.get(b) || a - b);
}

function eventAt(columns: RatingColumns, position: number): RatingEvent {
  return {
    userId: columns.userIds.idAt(columns.users.get(position)),
    itemId: columns.itemIds.idAt(columns.items.get(position)),
    rating: columns.ratings.get(position),
    ts: columns.timestamps.get(position),
  };
}

async function train(recommender: Recommender, columns: RatingColumns, order: Uint32Array, onTrained: EvalOptions['onTrained']): Promise<void> {
  for (let start = 0; start < order.length; start += TRAINING_BATCH) {
    const batch = Array.from(order.subarray(start, start + TRAINING_BATCH), (position) => eventAt(columns, position));
    // Models only: the protocols score lists after training, so none is refreshed on the way.
    recommender.learnBatch(recommender.index(batch));
    onTrained?.(Math.min(start + TRAINING_BATCH, order.length), order.length);
    // Lets the progress bar redraw between batches.
    await nextTurn();
  }
}

/** P/R/NDCG@10 of every ranking model; items are compared by id, so a test item unknown to training counts as a miss. */
function scoreLists(recommender: Recommender, columns: RatingColumns, test: Uint32Array, learning: Record<string, number>): Record<string, OfflineFigures> {
  const relevantByUser = new Map<number, Set<string>>();
  for (const position of test) {
    const { userId, itemId } = eventAt(columns, position);
    // Every test user has training ratings (the split keeps at least one), so is known.
    const user = recommender.catalog.users.lookup(userId);
    let relevant = relevantByUser.get(user);
    if (!relevant) relevantByUser.set(user, (relevant = new Set()));
    relevant.add(itemId);
  }
  const { items } = recommender.catalog;
  const models: Record<string, OfflineFigures> = {};
  for (const model of recommender.rankingModels) {
    const started = performance.now();
    const perUser = [...relevantByUser].map(([user, relevant]) =>
      listFigures(
        recommender.listOf(model, user, LIST_LENGTH).map((entry) => items.idAt(entry.index)),
        relevant,
        LIST_LENGTH,
      ),
    );
    const mean = meanListFigures(perUser);
    models[model.name] = {
      precisionAt10: mean.precision,
      recallAt10: mean.recall,
      ndcgAt10: mean.ndcg,
      seconds: learning[model.name]! + (performance.now() - started) / 1000,
    };
  }
  return models;
}

/** RMSE/MAE of every rating model on the test ratings. */
function scoreRatings(
  recommender: Recommender,
  columns: RatingColumns,
  test: Uint32Array,
  dataset: Dataset,
  learning: Record<string, number>,
): Record<string, OfflineFigures> {
  const { users, items } = recommender.catalog;
  // Ids never seen in training get an index past the known ones: the models' fallback for new users and items.
  const indexOf = (index: typeof users, id: string): number => {
    const known = index.lookup(id);
    return known >= 0 ? known : index.size;
  };
  const testUsers = Int32Array.from(test, (position) => indexOf(users, columns.userIds.idAt(columns.users.get(position))));
  const testItems = Int32Array.from(test, (position) => indexOf(items, columns.itemIds.idAt(columns.items.get(position))));
  const actual = Float64Array.from(test, (position) => columns.ratings.get(position));
  const models: Record<string, OfflineFigures> = {};
  for (const model of recommender.ratingModels) {
    const started = performance.now();
    const predicted = Float64Array.from(actual, (_, i) => model.predict(testUsers[i]!, testItems[i]!));
    const { rmse, mae } = ratingErrors(predicted, actual, dataset.scale);
    models[model.name] = { rmse, mae, seconds: learning[model.name]! + (performance.now() - started) / 1000 };
  }
  return models;
}

/** The batch counterparts of the impute models that run, fitted on the whole training part at once (rows `impute-soft-batch`, `impute-hard-batch`). */
function batchImputeFigures(options: EvalOptions, columns: RatingColumns, isTest: Uint8Array, test: Uint32Array): Record<string, OfflineFigures> {
  const fits = BATCH_IMPUTE.filter(({ online }) => options.models.models.includes(online));
  if (fits.length === 0) return {};
  const train = positionsWhere(isTest, 0, isTest.length - test.length);
  const training = {
    users: Uint32Array.from(train, (position) => columns.users.get(position)),
    items: Uint32Array.from(train, (position) => columns.items.get(position)),
    ratings: Float64Array.from(train, (position) => columns.ratings.get(position)),
  };
  const actual = Float64Array.from(test, (position) => columns.ratings.get(position));
  const figures: Record<string, OfflineFigures> = {};
  for (const { name, settings } of fits) {
    const started = performance.now();
    const model = fitBatchImpute(training, options.dataset.scale, settings, (iteration) => options.onBatchIteration?.(name, iteration, settings.maxIterations));
    const predicted = Float64Array.from(test, (position) => model.predict(columns.users.get(position), columns.items.get(position)));
    const { rmse, mae } = ratingErrors(predicted, actual, options.dataset.scale);
    figures[name] = { rmse, mae, seconds: (performance.now() - started) / 1000 };
  }
  return figures;
}

const BATCH_IMPUTE = [
  { online: 'impute-soft', name: 'impute-soft-batch', settings: SOFT_IMPUTE_DEFAULTS },
  { online: 'impute-hard', name: 'impute-hard-batch', settings: HARD_IMPUTE_DEFAULTS },
] as const;
