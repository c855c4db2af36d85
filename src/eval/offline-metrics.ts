/**
 * Offline hold-out figures: top-k list quality with binary relevance, and rating errors.
 *
 * For one user with list L (best first) and relevant set T (all of the user's test items):
 *
 *   precision@k = |L₁..ₖ ∩ T| / k
 *   recall@k    = |L₁..ₖ ∩ T| / |T|
 *   NDCG@k      = DCG / IDCG,  DCG = Σ_{r ≤ k, L_r ∈ T} 1 / log2(r + 1),
 *                 IDCG = Σ_{r ≤ min(k, |T|)} 1 / log2(r + 1)   (all of T ranked first)
 *
 * averaged over the users that have test items. Precision divides by k even when the list is
 * shorter, so a model with fewer candidates is not flattered. Rating errors clip each prediction to the scale first, as the seed studies did.
 *
 * References: K. Järvelin, J. Kekäläinen, "Cumulated gain-based evaluation of IR techniques",
 * ACM TOIS 20(4), 2002; A. Salah, Q.-T. Truong, H. W. Lauw, "Cornac: a comparative framework
 * for multimodal recommender systems", JMLR 21, 2020.
 *
 * Example:
 *   listFigures(['a', 'b', 'c'], new Set(['b']), 3); // { precision: 1/3, recall: 1, ndcg: 1/log2(3) }
 *   ratingErrors([5.4, 2], [5, 3], WHOLE_STARS);      // { rmse: √0.5, mae: 0.5, count: 2 }
 */
import { clampToScale, type RatingScale } from '../events/scale.js';

export interface ListFigures {
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
}

export interface RatingErrors {
  readonly rmse: number;
  readonly mae: number;
  readonly count: number;
}

/** One user's figures for `list` (best first) against `relevant`, which must not be empty. */
export function listFigures<Item>(list: readonly Item[], relevant: ReadonlySet<Item>, k: number): ListFigures {
  if (relevant.size === 0) throw new RangeError('list figures need at least one relevant item');
  let hits = 0;
  let dcg = 0;
  for (let rank = 1; rank <= Math.min(k, list.length); rank++) {
    if (!relevant.has(list[rank - 1]!)) continue;
    hits += 1;
    dcg += 1 / Math.log2(rank + 1);
  }
  let idealDcg = 0;
  for (let rank = 1; rank <= Math.min(k, relevant.size); rank++) idealDcg += 1 / Math.log2(rank + 1);
  return { precision: hits / k, recall: hits / relevant.size, ndcg: dcg / idealDcg };
}

/** The mean of per-user figures (NaN for none). */
export function meanListFigures(perUser: readonly ListFigures[]): ListFigures {
  const mean = (figure: keyof ListFigures) => perUser.reduce((sum, f) => sum + f[figure], 0) / perUser.length;
  return { precision: mean('precision'), recall: mean('recall'), ndcg: mean('ndcg') };
}

/** RMSE and MAE of `predicted` against `actual`, each prediction clipped to `scale` (NaN for none). */
export function ratingErrors(predicted: ArrayLike<number>, actual: ArrayLike<number>, scale: RatingScale): RatingErrors {
  if (predicted.length !== actual.length) throw new RangeError(`${predicted.length} predictions for ${actual.length} ratings`);
  let squared = 0;
  let absolute = 0;
  for (let i = 0; i < actual.length; i++) {
    const error = clampToScale(predicted[i]!, scale) - actual[i]!;
    squared += error * error;
    absolute += Math.abs(error);
  }
  const count = actual.length;
  return { rmse: Math.sqrt(squared / count), mae: absolute / count, count };
}
