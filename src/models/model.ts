/**
 * The one interface every online model implements, in the spirit of River's learn_one /
 * predict_one, but batch-wise: the pipeline hands each model a micro-batch in event order.
 *
 * Contract:
 * - `predict` never changes the model (prequential evaluation calls it before `learn`).
 * - `learn` applies the batch in order. Models whose parameters must not depend on where batch
 *   boundaries fall (all SGD models) learn event by event, so a resumed run equals an
 *   uninterrupted one whatever the batching.
 * - `drainChanges` returns the parameters changed since its last call as (key, value) pairs and
 *   forgets them; the state store writes them in the batch's transaction. `restore` takes back
 *   every pair ever drained (latest value per key) and must rebuild an identical model.
 * - Values are numbers, strings, plain arrays/objects of those, or Uint8Array (packed rows).
 */
import type { RatingScale } from '../events/scale.js';

/** A rating with its user and item already interned in the pipeline's catalogue. */
export interface IndexedRating {
  readonly user: number;
  readonly item: number;
  readonly rating: number;
  readonly ts: number;
}

export type ModelName =
  | 'baseline'
  | 'mf'
  | 'knn-item'
  | 'knn-user'
  | 'impute-soft'
  | 'impute-hard'
  | 'two-tower'
  | 'ensemble'
  | 'popularity';

export type StateValue = number | string | Uint8Array | readonly StateValue[] | { readonly [key: string]: StateValue };

export interface OnlineModel {
  readonly name: ModelName;
  /** Predicted rating on the model's scale (clamped to it). Unknown ids fall back gracefully. */
  predict(user: number, item: number): number;
  learn(batch: readonly IndexedRating[]): void;
  drainChanges(): Array<[key: string, value: StateValue]>;
  restore(entries: Iterable<[key: string, value: StateValue]>): void;
}

/** A model that can score every known item for a user, for top-k lists. */
export interface RankingModel extends OnlineModel {
  /**
   * Scores for items 0..itemCount-1 for `user`, written into `scores` (length >= itemCount).
   * Higher is better; scores are comparable within one user.
   */
  scoreAll(user: number, itemCount: number, scores: Float64Array): void;
}

export interface ModelContext {
  readonly scale: RatingScale;
  readonly seed: number;
}

export function isRankingModel(model: OnlineModel): model is RankingModel {
  return typeof (model as Partial<RankingModel>).scoreAll === 'function';
}
