/** A ranking model that places newcomers from side features alone, as the two-tower does, for tests of the seam. */
import type { IndexedRating, ModelName, RankingModel, StateValue } from '../src/models/model.js';
import type { UserFeatures } from '../src/side-features.js';

/** Scores every item 0 for known users; a newcomer's order depends on their gender: 'F' high indices first, else low ones. */
export class FeaturePlacer implements RankingModel {
  readonly learning = 'per-event';
  readonly placed: UserFeatures[] = [];

  constructor(readonly name: ModelName = 'two-tower') {}

  scoreAll(_user: number, itemCount: number, scores: Float64Array): void {
    scores.fill(0, 0, itemCount);
  }

  scoreNewcomer(features: UserFeatures, itemCount: number, scores: Float64Array): void {
    this.placed.push(features);
    for (let item = 0; item < itemCount; item++) scores[item] = features.gender === 'F' ? item : -item;
  }

  learn(_batch: readonly IndexedRating[]): void {}

  drainChanges(): Array<[string, StateValue]> {
    return [];
  }

  restore(): void {}
  userOfKey(key: string): never {
    throw new Error(`unknown state key '${key}': this model drains none`);
  }
}
