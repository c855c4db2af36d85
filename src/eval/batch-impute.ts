/**
 * Batch Soft-Impute and Hard-Impute as the seed studies ran them: ratings centred by each user's
 * mean over the training part, the centred matrix completed (src/models/soft-impute.ts), and a
 * prediction de-centred and clipped to the scale. An item never seen in training gets the user's
 * mean, a user never seen the global mean. A re-rated (user, item) keeps its last rating.
 */
import { clampToScale, type RatingScale } from '../events/scale.js';
import { lowRankEntry, softImputeAls, type ImputeOptions, type LowRankFit, type SparseEntries } from '../models/soft-impute.js';

/** Training ratings by dense user and item indices, in the order they were given. */
export interface TrainingRatings {
  readonly users: ArrayLike<number>;
  readonly items: ArrayLike<number>;
  readonly ratings: ArrayLike<number>;
}

export interface BatchImputeModel {
  readonly fit: LowRankFit;
  predict(user: number, item: number): number;
}

export function fitBatchImpute(
  training: TrainingRatings,
  scale: RatingScale,
  options: ImputeOptions,
  onIteration?: (iteration: number, relativeChange: number) => void,
): BatchImputeModel {
  const { entries, userMeans, globalMean } = userCentred(training);
  const fit = softImputeAls(entries, options, onIteration);
  return {
    fit,
    predict: (user, item) => {
      if (user >= entries.rows) return clampToScale(globalMean, scale);
      const mean = userMeans[user];
      return clampToScale(item < entries.columns ? mean + lowRankEntry(fit, user, item) : mean, scale);
    },
  };
}

/** The matrix of last ratings per (user, item), each centred by its user's mean. */
export function userCentred(training: TrainingRatings): { entries: SparseEntries; userMeans: Float64Array; globalMean: number } {
  const count = training.users.length;
  let rows = 0;
  let columns = 0;
  for (let k = 0; k < count; k++) {
    rows = Math.max(rows, training.users[k] + 1);
    columns = Math.max(columns, training.items[k] + 1);
  }
  const last = new Map<number, number>();
  for (let k = 0; k < count; k++) last.set(training.users[k] * columns + training.items[k], k);
  const kept = Int32Array.from(last.values()).sort();
  const sums = new Float64Array(rows);
  const counts = new Float64Array(rows);
  let total = 0;
  for (const k of kept) {
    sums[training.users[k]] += training.ratings[k];
    counts[training.users[k]] += 1;
    total += training.ratings[k];
  }
  const globalMean = kept.length > 0 ? total / kept.length : 0;
  const userMeans = sums.map((sum, user) => (counts[user] > 0 ? sum / counts[user] : globalMean));
  const entries: SparseEntries = {
    rows,
    columns,
    row: Int32Array.from(kept, (k) => training.users[k]),
    column: Int32Array.from(kept, (k) => training.items[k]),
    value: Float64Array.from(kept, (k) => training.ratings[k] - userMeans[training.users[k]]),
  };
  return { entries, userMeans, globalMean };
}
