/**
 * Prequential ("test, then train") evaluation: every event is first predicted by every rating
 * model and, when relevant, checked against ranked lists; only then is it learned. No hold-out
 * set, no leakage: each figure is what a user would have experienced at that moment.
 *
 * - RMSE and MAE per rating model over all events.
 * - hit@k and NDCG@k per ranking model over relevant events (rated ≥ relevanceThreshold, 4 on
 *   the 1–5 scale): before the event is learned, the list the model would serve the user at
 *   that moment is computed fresh (the cold-start list for a user not yet known) and the item
 *   looked up in it; NDCG@k = 1 / log2(rank + 1) for a hit at 1-based rank, else 0. Fresh lists
 *   measure the model, not the replay speed. They are computed on a deterministic share of the
 *   relevant events (hashed on user and item; the whole stream at share 1), and the figures
 *   carry that count, so their standard error √(p(1 − p)/n) can be stated.
 * - published hit@k / NDCG@k: the same check against the list as last published (refreshed
 *   once per micro-batch), over every relevant event; a user with no list yet is a miss. It
 *   measures list staleness, and depends on batch size and replay speed.
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
  readonly ranking: Record<string, RankingTotals>;
  readonly published: RankingTotals;
}

export interface ModelFigures {
  readonly rmse?: number;
  readonly mae?: number;
  readonly hitAt10?: number;
  readonly ndcgAt10?: number;
  /** Relevant events its fresh lists were checked on. */
  readonly rankedEvents?: number;
}

export interface PrequentialFigures {
  readonly models: Record<string, ModelFigures>;
  /** Against the lists as published. */
  readonly published: { readonly hitAtK: number; readonly ndcgAtK: number; readonly relevant: number };
}

const emptyRanking = (): RankingTotals => ({ relevant: 0, hits: 0, ndcg: 0 });

export class PrequentialEvaluator {
  private readonly errors: Record<string, ErrorTotals> = {};
  private readonly ranking: Record<string, RankingTotals> = {};
  private readonly published = emptyRanking();

  constructor(
    ratingModels: readonly string[],
    rankingModels: readonly string[],
    readonly k: number,
    readonly relevanceThreshold: number,
  ) {
    for (const name of ratingModels) this.errors[name] = { count: 0, squaredError: 0, absoluteError: 0 };
    for (const name of rankingModels) this.ranking[name] = emptyRanking();
  }

  isRelevant(rating: number): boolean {
    return rating >= this.relevanceThreshold;
  }

  recordPrediction(model: string, predicted: number, actual: number): void {
    const totals = this.errors[model];
    if (!totals) throw new Error(`prequential: unknown rating model '${model}'`);
    const error = predicted - actual;
    totals.count += 1;
    totals.squaredError += error * error;
    totals.absoluteError += Math.abs(error);
  }

  /** A relevant event checked against `model`'s fresh list: `rank` is 1-based, 0 when absent. */
  recordRanking(model: string, rank: number): void {
    const totals = this.ranking[model];
    if (!totals) throw new Error(`prequential: unknown ranking model '${model}'`);
    record(totals, rank, this.k);
  }

  /** A relevant event checked against the user's list as last published. */
  recordPublished(rank: number): void {
    record(this.published, rank, this.k);
  }

  figures(): PrequentialFigures {
    const models: Record<string, ModelFigures> = {};
    for (const [name, t] of Object.entries(this.errors)) {
      models[name] = t.count === 0 ? { rmse: NaN, mae: NaN } : { rmse: Math.sqrt(t.squaredError / t.count), mae: t.absoluteError / t.count };
    }
    for (const [name, t] of Object.entries(this.ranking)) {
      models[name] = { ...models[name], hitAt10: ratio(t.hits, t.relevant), ndcgAt10: ratio(t.ndcg, t.relevant), rankedEvents: t.relevant };
    }
    const { hits, ndcg, relevant } = this.published;
    return { models, published: { hitAtK: ratio(hits, relevant), ndcgAtK: ratio(ndcg, relevant), relevant } };
  }

  toState(): PrequentialState {
    return structuredClone({ errors: this.errors, ranking: this.ranking, published: this.published });
  }

  restore(state: PrequentialState): void {
    for (const [name, totals] of Object.entries(state.errors)) if (this.errors[name]) Object.assign(this.errors[name]!, totals);
    for (const [name, totals] of Object.entries(state.ranking ?? {})) if (this.ranking[name]) Object.assign(this.ranking[name]!, totals);
    if (state.published) Object.assign(this.published, state.published);
  }
}

function record(totals: RankingTotals, rank: number, k: number): void {
  totals.relevant += 1;
  if (rank > 0 && rank <= k) {
    totals.hits += 1;
    totals.ndcg += 1 / Math.log2(rank + 1);
  }
}

function ratio(value: number, count: number): number {
  return count === 0 ? NaN : value / count;
}
