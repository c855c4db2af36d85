import type { StateValue } from './model.js';

/** The exact global mean μ of all ratings seen, kept as sum and count so it persists exactly. */
export class RunningMean {
  private sum = 0;
  private count = 0;

  add(rating: number): void {
    this.sum += rating;
    this.count += 1;
  }

  /** μ, or `fallback` (the scale's midpoint) before the first rating. */
  value(fallback: number): number {
    return this.count === 0 ? fallback : this.sum / this.count;
  }

  toState(): StateValue {
    return [this.sum, this.count];
  }

  restore(value: StateValue): void {
    const [sum, count] = value as readonly number[];
    this.sum = sum!;
    this.count = count!;
  }
}
