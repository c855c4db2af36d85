/**
 * Baseline: the regularised global-mean-plus-biases predictor, learned online.
 *
 *   r̂_ui = μ + b_u + b_i
 *
 * μ is the exact running mean of every rating seen. For each event, in order, with
 * e = r_ui − r̂_ui:
 *
 *   b_u ← b_u + γ (e − λ b_u)
 *   b_i ← b_i + γ (e − λ b_i)
 *
 * Parameters (defaults): learningRate γ = 0.05, regularization λ = 0.02 (γ minimises
 * prequential RMSE on the synthetic stream; one pass wants larger steps). Unseen users and
 * items have zero bias, so a cold start predicts μ (+ the known side's bias).
 *
 * References: Y. Koren, "Factor in the neighbors: scalable and accurate collaborative
 * filtering", ACM TKDD 4(1), 2010, §2.1 (baseline estimates); Surprise's BaselineOnly (SGD);
 * River's reco.Baseline (online).
 *
 * Example:
 *   const model = new Baseline({ scale: WHOLE_STARS, seed: 42 });
 *   model.learn([{ user: 0, item: 0, rating: 4, ts: 0 }]);
 *   model.predict(0, 0); // ≈ 4
 */
import { clampToScale } from '../events/scale.js';
import { DirtyRows } from './dirty.js';
import { withIndex } from '../typed-arrays.js';
import type { IndexedRating, ModelContext, RankingModel, RatingModel, StateValue } from './model.js';
import { RunningMean } from './running-mean.js';
import { SharedDeltas, type SharedTable } from './shared-deltas.js';

export interface BaselineOptions {
  readonly learningRate: number;
  readonly regularization: number;
}

export const BASELINE_DEFAULTS: BaselineOptions = { learningRate: 0.05, regularization: 0.02 };

export class Baseline implements RatingModel, RankingModel {
  readonly name = 'baseline' as const;
  readonly learning = 'per-event' as const;
  private readonly options: BaselineOptions;
  private readonly mean = new RunningMean();
  private userBias: Float64Array = new Float64Array(1024);
  private itemBias: Float64Array = new Float64Array(1024);
  private readonly dirty = new DirtyRows();
  private readonly itemTable: SharedTable = {
    key: (item) => `i${item}`,
    indexOf: (key) => (/^i\d+$/.test(key) ? Number(key.slice(1)) : undefined),
    row: (item) => {
      this.itemBias = withIndex(this.itemBias, item);
      return this.itemBias.subarray(item, item + 1);
    },
    initial: (_item, out) => out.fill(0),
    count: () => this.itemBias.length,
    added: (item) => this.dirty.items.add(item),
  };
  private readonly meanTable = this.mean.sharedTable('mean');
  /** Across a group's workers: the item biases (asynchronous SGD) and the mean's sum and count (exact). */
  readonly shared = new SharedDeltas([this.itemTable, this.meanTable]);

  constructor(
    private readonly context: ModelContext,
    options: Partial<BaselineOptions> = {},
  ) {
    this.options = { ...BASELINE_DEFAULTS, ...options };
  }

  private get midpoint(): number {
    return (this.context.scale.min + this.context.scale.max) / 2;
  }

  /** μ + b_u + b_i, unclamped: the baseline estimate b_ui other models build on. */
  estimate(user: number, item: number): number {
    return this.mean.value(this.midpoint) + (this.userBias[user] ?? 0) + (this.itemBias[item] ?? 0);
  }

  predict(user: number, item: number): number {
    return clampToScale(this.estimate(user, item), this.context.scale);
  }

  learn(batch: readonly IndexedRating[]): void {
    const { learningRate: lr, regularization: reg } = this.options;
    for (const { user, item, rating } of batch) {
      this.mean.add(rating);
      this.userBias = withIndex(this.userBias, user);
      this.itemBias = withIndex(this.itemBias, item);
      const error = rating - this.estimate(user, item);
      const bu = this.userBias[user]!;
      const bi = this.itemBias[item]!;
      this.userBias[user] = bu + lr * (error - reg * bu);
      this.itemBias[item] = bi + lr * (error - reg * bi);
      this.dirty.users.add(user);
      this.dirty.items.add(item);
      this.shared.touch(this.itemTable, item);
      this.shared.touch(this.meanTable, 0);
    }
  }

  /** Unclamped μ + b_u + b_i: the same order for every user (a popularity-like list). */
  scoreAll(user: number, itemCount: number, scores: Float64Array): void {
    const base = this.mean.value(this.midpoint) + (this.userBias[user] ?? 0);
    // The table in a local and the loop within it: V8 then reads neither the field nor a bound per item.
    const bias = this.itemBias;
    const known = Math.min(itemCount, bias.length);
    for (let item = 0; item < known; item++) scores[item] = base + bias[item]!;
    // An item with no bias yet: base + 0, as `?? 0` gave.
    for (let item = known; item < itemCount; item++) scores[item] = base + 0;
  }

  drainChanges(): Array<[string, StateValue]> {
    const changes: Array<[string, StateValue]> = [['mean', this.mean.toState()]];
    for (const user of this.dirty.users) changes.push([`u${user}`, this.userBias[user]!]);
    for (const item of this.dirty.items) changes.push([`i${item}`, this.itemBias[item]!]);
    this.dirty.clear();
    return changes;
  }

  restore(entries: Iterable<[string, StateValue]>): void {
    for (const [key, value] of entries) {
      if (key === 'mean') this.mean.restore(value);
      else if (key.startsWith('u')) {
        const user = Number(key.slice(1));
        this.userBias = withIndex(this.userBias, user);
        this.userBias[user] = value as number;
      } else if (key.startsWith('i')) {
        const item = Number(key.slice(1));
        this.itemBias = withIndex(this.itemBias, item);
        this.itemBias[item] = value as number;
      } else throw new Error(`baseline: unknown state key '${key}'`);
    }
  }

  /** `u<user>` is the user's bias; `mean` and the item biases `i<item>` are shared. */
  userOfKey(key: string): number | undefined {
    const row = /^([ui])(\d+)$/.exec(key);
    if (row) return row[1] === 'u' ? Number(row[2]) : undefined;
    if (key === 'mean') return undefined;
    throw new Error(`baseline: unknown state key '${key}'`);
  }
}
