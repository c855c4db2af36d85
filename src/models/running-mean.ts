import type { StateValue } from './model.js';
import type { SharedTable } from './shared-deltas.js';

/** The exact global mean μ of all ratings seen, kept as sum and count so it persists exactly. */
export class RunningMean {
  /** [sum, count]: one array, so that other workers' sums can be added in (shared as `key`). */
  private readonly sums = new Float64Array(2);

  add(rating: number): void {
    this.sums[0]! += rating;
    this.sums[1]! += 1;
  }

  /** μ, or `fallback` (the scale's midpoint) before the first rating. */
  value(fallback: number): number {
    return this.sums[1] === 0 ? fallback : this.sums[0]! / this.sums[1]!;
  }

  toState(): StateValue {
    return [this.sums[0]!, this.sums[1]!];
  }

  restore(value: StateValue): void {
    const [sum, count] = value as readonly number[];
    this.sums[0] = sum!;
    this.sums[1] = count!;
  }

  /** The sum and count as a shared table of one row under `key` (they add up across workers exactly). */
  sharedTable(key: string): SharedTable {
    return {
      key: () => key,
      indexOf: (found) => (found === key ? 0 : undefined),
      row: () => this.sums,
      initial: (_index, out) => out.fill(0),
      count: () => 1,
    };
  }
}
