/**
 * The one interface every online model implements, in the spirit of River's learn_one /
 * predict_one, extended to two kinds of learner:
 *
 * - `per-event` learners (SGD models, counts, similarity statistics) get `learn([event])` for
 *   each event in stream order, right after every model predicted it. Their parameters do not
 *   depend on where batch boundaries fall, so a resumed run equals an uninterrupted one whatever
 *   the batching.
 * - `per-batch` learners (batch fits) get `learn(batch)` once per
 *   micro-batch, after every event of the batch was predicted and scored. Test-then-train stays
 *   honest: each of their predictions of an event is made before they learn it. Their state
 *   depends on the batches they were given, and a resumed run continues from exactly the state
 *   committed with the last batch.
 *
 * A model that reads other models (`inputs`, for instance the ensemble) learns each event before
 * them, so it learns from the same pre-event state it predicted from.
 *
 * Contract:
 * - `predict` and `scoreAll` never change the model's parameters (prequential evaluation calls
 *   them before `learn`). A model may memoise what it computed there.
 * - `drainChanges` returns the parameters changed since its last call as (key, value) pairs and
 *   forgets them; the state store writes them in the batch's transaction. `restore` takes back
 *   every pair ever drained (latest value per key) and must rebuild an identical model.
 * - Values are numbers, strings, plain arrays/objects of those, or Uint8Array (packed rows); a
 *   null value deletes the key (a model's queue of work it has since done).
 * - `userOfKey` says whose a drained key is: the catalogue index of the one user whose state it
 *   holds (their parameter row, their chunk of ratings or picks), or undefined when it is shared
 *   (item-side parameters, global counters and weights, anything several users wrote). Scaled
 *   out, a user's keys move with their ratings partition; the shared rest is merged across
 *   workers. A key is a user's only if nothing but that user's events changes it. A key the
 *   model never drains throws, as `restore` does.
 *
 * A model may learn behind the stream (the two-tower trains on its own schedule): it is started
 * before the first batch and after `restore` (`start`: a worker, a tfjs backend), reports how far
 * behind it is (`training`), can be made to catch up (`flush`, for batch protocols), and is
 * closed when the pipeline stops (`close`).
 */
import type { RatingScale } from '../events/scale.js';
import type { FeatureLookup, UserFeatures } from '../side-features.js';

/** A rating with its user and item already interned in the pipeline's catalogue. */
export interface IndexedRating {
  readonly user: number;
  readonly item: number;
  readonly rating: number;
  readonly ts: number;
}

export type ModelName =
  'baseline' | 'mf' | 'knn-item' | 'knn-user' | 'impute-soft' | 'impute-hard' | 'two-tower' | 'popularity' | 'cooccurrence' | 'implicit-als' | 'ensemble';

export type StateValue = number | string | Uint8Array | readonly StateValue[] | { readonly [key: string]: StateValue };

export type Learning = 'per-event' | 'per-batch';

export interface OnlineModel {
  readonly name: ModelName;
  readonly learning: Learning;
  /** Models this one reads when it predicts or scores; it learns each event before them. */
  readonly inputs?: readonly OnlineModel[];
  learn(batch: readonly IndexedRating[]): void;
  drainChanges(): Array<[key: string, value: StateValue | null]>;
  restore(entries: Iterable<[key: string, value: StateValue]>): void;
  /** The user whose state a drained key is, or undefined when the key is shared (see the contract above). */
  userOfKey(key: string): number | undefined;
  /** Prepare background training; called once, after `restore` and before the first batch. */
  start?(): Promise<void>;
  /** Where background training stands. */
  training?(): TrainingStatus;
  /** Train on everything handed to `learn` so far (batch protocols test after training). */
  flush?(): Promise<void>;
  /** Stop background work; the model is not used afterwards. */
  close?(): Promise<void>;
  /**
   * The parameters it learns from every partition's events when several workers form one
   * recommender (serve --scale-out), merged by addition (src/models/shared-deltas.ts). A model
   * without them keeps all its parameters per worker.
   */
  readonly shared?: SharedParameters;
}

/** Parameters shared across a group's workers, merged by adding each worker's changes. */
export interface SharedParameters {
  /** Report changes from now on (after `restore`, before the first batch). */
  begin(): void;
  /** The changes since the last call, as (key, additive delta), forgotten once returned. */
  drainDeltas(): Array<[key: string, delta: Float64Array]>;
  /** Add other workers' changes into the live parameters. */
  addDeltas(entries: Iterable<[key: string, delta: Float64Array]>): void;
}

export interface TrainingStatus {
  /** The tfjs backend that trains it ('wasm', 'cpu', 'tensorflow'). */
  readonly backend: string;
  /** Events handed to `learn` that it has not trained on yet, and how long the oldest has waited. */
  readonly lagEvents: number;
  readonly lagSeconds: number;
  readonly trainedEvents: number;
  readonly steps: number;
  /** Mean duration of its recent training steps, and their training loss. */
  readonly stepSeconds: number;
  readonly loss: number;
}

/** A model that predicts ratings: it appears in the RMSE/MAE figures. */
export interface RatingModel extends OnlineModel {
  /** Predicted rating on the model's scale (clamped to it). Unknown ids fall back gracefully. */
  predict(user: number, item: number): number;
}

/** What put an item on a list: a short reason, and the item that led to it when there is one. */
export interface Explanation {
  readonly reason: string;
  /** An item the user rated that this one is close to (rendered with its title downstream). */
  readonly becauseOf?: number;
}

/** A model that can score every known item for a user: a source of top-k lists. */
export interface RankingModel extends OnlineModel {
  /**
   * Scores for items 0..itemCount-1 for `user`, written into `scores` (length >= itemCount).
   * Higher is better; scores are comparable within one user. `seen` is what the user has
   * rated (never listed), for models that pick candidates. A user index the model has never
   * seen asks for the cold-start order. A model that reads other ranking models may be handed
   * their scores for this same user and state (`inputScores`), so that they are not computed twice.
   */
  scoreAll(user: number, itemCount: number, scores: Float64Array, seen: ReadonlySet<number>, inputScores?: InputScores): void;
  /** Why `item` is on `user`'s list, from this model's point of view. */
  explain?(user: number, item: number): Explanation;
  /** Its user-less order is the list for users never seen (popularity's is; a learned blend's need not be). */
  readonly servesColdStart?: boolean;
  /**
   * Scores for a user with no ratings yet, placed from their side features alone (a model that
   * can, such as the two-tower). Same contract as `scoreAll`.
   */
  scoreNewcomer?(features: UserFeatures, itemCount: number, scores: Float64Array): void;
}

/** Scores already computed for the same user and state, by model. */
export type InputScores = ReadonlyMap<OnlineModel, Float64Array>;

/** Item-item neighbour lists a model keeps (the similar-items topic). */
export interface ItemNeighbours {
  neighbours(item: number, k: number): ReadonlyArray<{ readonly id: number; readonly sim: number; readonly support: number }>;
  /** Items whose neighbour list changed since the last call. */
  refreshNeighbours(): number[];
}

export interface ModelContext {
  readonly scale: RatingScale;
  readonly seed: number;
  /** Side features by catalogue index, for models that read them. */
  readonly features?: FeatureLookup;
}

export function isRatingModel(model: OnlineModel): model is RatingModel {
  return typeof (model as Partial<RatingModel>).predict === 'function';
}

export function isRankingModel(model: OnlineModel): model is RankingModel {
  return typeof (model as Partial<RankingModel>).scoreAll === 'function';
}

/** The model's item-item neighbour lists, when it keeps them. */
export function itemNeighboursOf(model: OnlineModel): ItemNeighbours | undefined {
  return (model as { readonly itemNeighbours?: ItemNeighbours }).itemNeighbours;
}
