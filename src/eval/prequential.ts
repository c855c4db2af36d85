/**
 * Prequential ("test, then train") evaluation: every event is first predicted by every model and
 * checked against the user's current top-k list, and only then learned. No hold-out set, no
 * leakage: each figure is what a user would have experienced at that moment.
 *
 * - RMSE and MAE per model over all events.
 * - hit@k and NDCG@k over events rated ≥ relevanceThreshold (4 on the 1–5 scale): a hit when the
 *   item is in the user's list as it stood before the event; NDCG@k = 1 / log2(rank + 1) for a
 *   hit at 1-based rank, else 0. A user with no list yet scores a miss.
 *
 * Reference: J. Gama, R. Sebastião, P. P. Rodrigues, "On evaluating stream learning
 * algorithms", Machine Learning 90(3), 2013.
 */
export interface ErrorTotals {
  count: number;
  squaredError: number;
  absoluteError: number;
}

export interface RankingTotals {
  relevant: number;
  hits: number;
  ndcg: number;
}

export interface PrequentialState {
  readonly errors: Record<string, ErrorTotals>;
  readonly ranking: RankingTotals;
}

export interface ModelFigures {
  readonly rmse: number;
  readonly mae: number;
}

export class PrequentialEvaluator {
  private readonly errors: Record<string, ErrorTotals> = {};
  private readonly ranking: RankingTotals = { relevant: 0, hits: 0, ndcg: 0 };

  constructor(
    modelNames: readonly string[],
    readonly k: number,
    readonly relevanceThreshold: number,
  ) {
    for (const name of modelNames) this.errors[name] = { count: 0, squaredError: 0, absoluteError: 0 };
  }

  recordPrediction(model: string, predicted: number, actual: number): void {
    const totals = this.errors[model];
    if (!totals) throw new Error(`prequential: unknown model '${model}'`);
    const error = predicted - actual;
    totals.count += 1;
    totals.squaredError += error * error;
    totals.absoluteError += Math.abs(error);
  }

  /** `rank` is the item's 1-based position in the user's current list, or 0 when absent. */
  recordRanking(rating: number, rank: number): void {
    if (rating < this.relevanceThreshold) return;
    this.ranking.relevant += 1;
    if (rank > 0 && rank <= this.k) {
      this.ranking.hits += 1;
      this.ranking.ndcg += 1 / Math.log2(rank + 1);
    }
  }

  figures(): { models: Record<string, ModelFigures>; hitAtK: number; ndcgAtK: number } {
    const models: Record<string, ModelFigures> = {};
    for (const [name, t] of Object.entries(this.errors)) {
      models[name] = t.count === 0 ? { rmse: NaN, mae: NaN } : { rmse: Math.sqrt(t.squaredError / t.count), mae: t.absoluteError / t.count };
    }
    const { relevant, hits, ndcg } = this.ranking;
    return { models, hitAtK: relevant === 0 ? NaN : hits / relevant, ndcgAtK: relevant === 0 ? NaN : ndcg / relevant };
  }

  toState(): PrequentialState {
    return structuredClone({ errors: this.errors, ranking: this.ranking });
  }

  restore(state: PrequentialState): void {
    for (const [name, totals] of Object.entries(state.errors)) {
      if (this.errors[name]) Object.assign(this.errors[name]!, totals);
    }
    Object.assign(this.ranking, state.ranking);
  }
}
