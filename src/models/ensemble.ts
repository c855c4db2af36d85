/**
 * The ensemble: an online blender of the rating models and an online ranker over the ranking
 * models' candidates. It reads its inputs only through the model interface, and learns each
 * event before them (so from the pre-event state it predicted from).
 *
 * Ratings — stacked linear regression with exponential forgetting, solved exactly:
 *
 *   r̂_ui = clamp(w · x_ui),   x_ui = [1, r̂¹_ui, …, r̂ᵐ_ui]   (the rating inputs' predictions)
 *   w = argmin Σ_e λ^{t−e} (r_e − w · x_e)² + ρ ‖w − w₀‖²,   w₀ = [0, 1/m, …, 1/m]
 *
 * i.e. (A + ρI) w = b + ρ w₀ with A = Σ λ^{t−e} x xᵀ, b = Σ λ^{t−e} x r, re-solved (ml-matrix)
 * every `solveEvery` events. The inputs' predictions it learns from are prequential ones, so it
 * learns how much to trust each model on ratings it has not seen yet. Forgetting matters:
 * early in a stream the models are poor and improve at different speeds.
 *
 * Ranking — candidates, features, a pairwise logistic ranker (BPR on features):
 *
 *   candidates(u) = ∪_{ranking inputs m} top-N of m for u, minus what u rated
 *   x_ui = for each ranking input m: [percentile of m's score among the candidates,
 *          its z-score among them (clipped to ±3), 1 if i is in m's top-N]
 *   score(u, i) = v · x_ui
 *   learn, on the sampled events (the prequential ranking share: hashed on user and item, so
 *   the same events whatever the batching), from the candidates scored fresh just before the
 *   event: when the item picked — whatever its rating: the ranker ranks what users choose — is
 *   one of them, it is the positive and every other candidate a negative, each pair weighted
 *   1/(|C| − 1):
 *   v ← v + η/(|C| − 1) ((1 − σ(v · (x⁺ − x⁻))) (x⁺ − x⁻) − κ v)
 *
 * Why every candidate and not only the top-k served: the served items are by construction the
 * current ranker's favourites, and most picks lie below them, so "served = negative" alone
 * keeps turning the weights away from whatever ranks first (measured: the learned ranker then
 * fell below its best input). Every candidate as a negative is the exact pairwise loss of the
 * event over what the ensemble could have offered. Why every pick and not only the ratings
 * ≥ 4 that hit@10 counts: positives rated ≥ 4 only taught the ranker to favour items the
 * rating models score high, which won 0.006 of prequential hit@10 on the synthetic set and
 * lost 0.04 of offline P@10 (where every held-out item counts); choice is the target.
 *
 * Features are rank- and z-normalised within each user's candidates, so they mean the same
 * whatever a model's score scale (counts, similarities, ratings) and the user's history length.
 * v starts as [1, 0, 0] per input: Borda-style rank fusion, before anything is learned.
 *
 * Parameters (defaults): forgetting λ = 0.9999 (half-life ≈ 6,900 events), ρ = 10, solveEvery
 * = 100; candidatesPerSource N = 50; learningRate η = 0.01, regularization κ = 1e-4 (η = 0.05
 * overshot: prequential hit@10 0.132 against 0.135 at 0.01; 0.005–0.02 are within noise).
 *
 * References: D. Wolpert, "Stacked generalization", Neural Networks 5(2), 1992; the Netflix
 * Prize blends (A. Töscher, M. Jahrer, R. Bell, "The BigChaos solution", 2009); S. Rendle et
 * al., "BPR: Bayesian personalized ranking from implicit feedback", UAI 2009; T. Joachims,
 * "Optimizing search engines using clickthrough data", KDD 2002 (pairwise learning from what a
 * list offered); S. Haykin, "Adaptive filter theory" (least squares with forgetting).
 *
 * Example:
 *   const ensemble = new Ensemble(context, [baseline, mf, popularity, cooccurrence]);
 *   ensemble.predict(0, 3);                          // blended rating
 *   ensemble.scoreAll(0, itemCount, scores, seen);   // candidates scored, others -Infinity
 */
import { Matrix, solve } from 'ml-matrix';
import { SharedDeltas, type SharedTable } from './shared-deltas.js';
import { clampToScale } from '../events/scale.js';
import { topKExcluding } from '../ranking/top-k.js';
import { KernelMemory, simdKernels } from '../kernels/wasm-kernels.js';
import { withIndex } from '../typed-arrays.js';
import { eventShare } from './event-share.js';
import {
  isRankingModel,
  isRatingModel,
  type Explanation,
  type IndexedRating,
  type ModelContext,
  type OnlineModel,
  type RankingModel,
  type RatingModel,
  type InputScores,
  type StateValue,
} from './model.js';

export interface EnsembleOptions {
  readonly forgetting: number;
  readonly priorStrength: number;
  readonly solveEvery: number;
  readonly candidatesPerSource: number;
  readonly learningRate: number;
  readonly regularization: number;
  /**
   * Share of the relevant events the ranker learns from (by eventShare): the Recommender's
   * prequential ranking share, on whose events it scores the ensemble's candidates fresh.
   */
  readonly trainShare: number;
}

export const ENSEMBLE_DEFAULTS: Omit<EnsembleOptions, 'trainShare'> = {
  forgetting: 0.9999,
  priorStrength: 10,
  solveEvery: 100,
  candidatesPerSource: 50,
  learningRate: 0.01,
  regularization: 1e-4,
};

/** Features per ranking input: percentile, z-score, in its top-N. */
const PER_SOURCE = 3;
const Z_CLIP = 3;

/**
 * The candidates of one user as last scored, with their features (valid while nothing learned).
 * Its arrays are views of buffers the next scoring reuses: only the latest one is ever read.
 */
interface ScoredCandidates {
  readonly user: number;
  /** Events learned when scored: the memo is valid while no event was learned since. */
  readonly events: number;
  readonly generation: number;
  readonly items: Int32Array;
  /** items.length rows of the ranker's features. */
  readonly features: Float64Array;
  readonly scores: Float64Array;
}

/**
 * An input's scores of the candidates, into `values`; an item it does not list (-Infinity, NaN)
 * gets the lowest score it gave any candidate, so features stay finite and such items rank last
 * for that input.
 */
function finiteScores(scores: Float64Array, items: Int32Array, values: Float64Array): void {
  let floor = Infinity;
  for (let c = 0; c < items.length; c++) {
    const value = scores[items[c]!]!;
    values[c] = value;
    if (Number.isFinite(value) && value < floor) floor = value;
  }
  if (floor === Infinity) floor = 0;
  for (let c = 0; c < items.length; c++) if (!Number.isFinite(values[c]!)) values[c] = floor;
}

/** A score's z-score among the candidates', clipped to ±Z_CLIP (0 when they are all equal). */
function zScore(score: number, mean: number, sd: number): number {
  return sd > 0 ? Math.max(-Z_CLIP, Math.min(Z_CLIP, (score - mean) / sd)) : 0;
}

/** Mean and standard deviation of scores sorted ascending (summed in that order). */
function meanAndSd(sorted: Float64Array): { mean: number; sd: number } {
  const n = Math.max(1, sorted.length);
  let mean = 0;
  for (let c = 0; c < sorted.length; c++) mean += sorted[c]!;
  mean /= n;
  let variance = 0;
  for (let c = 0; c < sorted.length; c++) variance += (sorted[c]! - mean) ** 2;
  return { mean, sd: Math.sqrt(variance / n) };
}

export class Ensemble implements RatingModel, RankingModel {
  readonly name = 'ensemble' as const;
  readonly learning = 'per-event' as const;
  readonly options: EnsembleOptions;
  readonly inputs: readonly OnlineModel[];
  private readonly raters: readonly RatingModel[];
  private readonly rankers: readonly RankingModel[];
  private readonly gram: Float64Array;
  private readonly moments: Float64Array;
  private blend: Float64Array;
  private readonly ranking: Float64Array;
  private readonly rankingTable: SharedTable;
  /**
   * Across a group's workers: the pairwise ranker's weights (asynchronous SGD: every worker's
   * steps added up). The rating blend stays per worker: its sums forget exponentially per event,
   * which does not add across workers, and its few weights are well learnt from one worker's events.
   */
  readonly shared: SharedDeltas;
  private events = 0;
  private buffers: Float64Array[];
  /** Where the SIMD kernels run: the memory the candidates' scores are ranked in (see scoreCandidates). */
  private readonly rankKernels = simdKernels ? new KernelMemory(0) : undefined;
  /** Per item, the generation of the candidate set it is in and its position there. */
  private stampGeneration = new Int32Array(1024);
  private stampPosition = new Int32Array(1024);
  private generation = 0;
  private memo: ScoredCandidates | undefined;
  /** Reused by every scoring (candidates, features, scores, one input's values and their sorted copy). */
  private candidateItems = new Int32Array(256);
  private candidateFeatures = new Float64Array(256);
  private candidateScores = new Float64Array(256);
  private values = new Float64Array(256);
  private sorted = new Float64Array(256);
  private lastInputs: { user: number; item: number; events: number; x: Float64Array } | undefined;

  constructor(
    private readonly context: ModelContext,
    inputs: readonly OnlineModel[],
    options: Partial<EnsembleOptions> & Pick<EnsembleOptions, 'trainShare'>,
  ) {
    this.options = { ...ENSEMBLE_DEFAULTS, ...options };
    const { forgetting, candidatesPerSource } = this.options;
    if (!(forgetting > 0 && forgetting <= 1)) throw new RangeError(`ensemble: forgetting must be in (0, 1], got ${forgetting}`);
    if (!(Number.isInteger(candidatesPerSource) && candidatesPerSource >= 1)) throw new RangeError('ensemble: candidatesPerSource must be a whole number ≥ 1');
    this.inputs = inputs;
    this.raters = inputs.filter(isRatingModel);
    this.rankers = inputs.filter(isRankingModel);
    if (this.raters.length === 0 && this.rankers.length === 0) throw new Error('ensemble: needs at least one other model to blend or rank');
    const width = this.raters.length + 1;
    this.gram = new Float64Array(width * width);
    this.moments = new Float64Array(width);
    this.blend = this.prior();
    this.ranking = new Float64Array(this.rankers.length * PER_SOURCE);
    this.initialRanking(this.ranking);
    const rankingTable: SharedTable = {
      key: () => 'ranking',
      indexOf: (key) => (key === 'ranking' ? 0 : undefined),
      row: () => this.ranking,
      initial: (_index, out) => this.initialRanking(out),
      count: () => 1,
    };
    this.rankingTable = rankingTable;
    this.shared = new SharedDeltas([rankingTable]);
    this.buffers = this.rankers.map(() => new Float64Array(1024));
  }

  private prior(): Float64Array {
    const w = new Float64Array(this.raters.length + 1);
    for (let m = 1; m < w.length; m++) w[m] = 1 / this.raters.length;
    return w;
  }

  /** [1, each rating input's prediction]. */
  private blendInputs(user: number, item: number): Float64Array {
    const memo = this.lastInputs;
    if (memo && memo.user === user && memo.item === item && memo.events === this.events) return memo.x;
    const x = new Float64Array(this.raters.length + 1);
    x[0] = 1;
    for (let m = 0; m < this.raters.length; m++) x[m + 1] = this.raters[m]!.predict(user, item);
    this.lastInputs = { user, item, events: this.events, x };
    return x;
  }

  predict(user: number, item: number): number {
    if (this.raters.length === 0) return (this.context.scale.min + this.context.scale.max) / 2;
    const x = this.blendInputs(user, item);
    let r = 0;
    for (let m = 0; m < x.length; m++) r += this.blend[m]! * x[m]!;
    return clampToScale(r, this.context.scale);
  }

  /** Blend weights by input name (and 'intercept'), for reports. */
  blendWeights(): Record<string, number> {
    return Object.fromEntries([['intercept', this.blend[0]!], ...this.raters.map((m, i) => [m.name, this.blend[i + 1]!])]);
  }

  /** Ranker weights by input and feature, for reports. */
  rankingWeights(): Record<string, { percentile: number; z: number; source: number }> {
    return Object.fromEntries(
      this.rankers.map((m, i) => [
        m.name,
        { percentile: this.ranking[i * PER_SOURCE]!, z: this.ranking[i * PER_SOURCE + 1]!, source: this.ranking[i * PER_SOURCE + 2]! },
      ]),
    );
  }

  learn(batch: readonly IndexedRating[]): void {
    for (const event of batch) {
      if (this.raters.length > 0) this.learnBlend(event);
      const served = this.memo;
      if (served && served.user === event.user && served.events === this.events && this.teaches(event)) this.learnRanking(served, event.item);
      this.events += 1;
      if (this.raters.length > 0 && this.events % this.options.solveEvery === 0) this.solveBlend();
    }
  }

  /**
   * The ranker learns from the sampled events only, so what it learns never depends on batching;
   * every pick teaches it, whatever the rating: it ranks what users choose.
   */
  private teaches({ user, item }: IndexedRating): boolean {
    return eventShare(user, item) < this.options.trainShare;
  }

  private learnBlend({ user, item, rating }: IndexedRating): void {
    const x = this.blendInputs(user, item);
    const width = x.length;
    const { forgetting } = this.options;
    for (let a = 0; a < width; a++) {
      this.moments[a] = forgetting * this.moments[a]! + x[a]! * rating;
      for (let b = 0; b < width; b++) this.gram[a * width + b] = forgetting * this.gram[a * width + b]! + x[a]! * x[b]!;
    }
  }

  private solveBlend(): void {
    const width = this.raters.length + 1;
    const rho = this.options.priorStrength;
    const prior = this.prior();
    const a = new Matrix(width, width);
    const b = new Matrix(width, 1);
    for (let i = 0; i < width; i++) {
      for (let j = 0; j < width; j++) a.set(i, j, this.gram[i * width + j]! + (i === j ? rho : 0));
      b.set(i, 0, this.moments[i]! + rho * prior[i]!);
    }
    const w = solve(a, b).getColumn(0);
    if (w.every(Number.isFinite)) this.blend = Float64Array.from(w);
  }

  /**
   * One pairwise step per other item of the list served: the picked item should have ranked
   * above it. Only a picked candidate teaches the ranker: the ranker orders candidates, and an
   * item no source offered says nothing about that order (it would only teach "not offered").
   */
  private learnRanking(served: ScoredCandidates, item: number): void {
    const at = this.candidatePosition(served, item);
    if (at < 0) return;
    const width = this.ranking.length;
    const positive = served.features.subarray(at * width, (at + 1) * width);
    const { learningRate: eta, regularization: kappa } = this.options;
    const v = this.ranking;
    const d = new Float64Array(width);
    const step = eta / Math.max(1, served.items.length - 1);
    for (let index = 0; index < served.items.length; index++) {
      if (index === at) continue;
      let margin = 0;
      for (let f = 0; f < width; f++) {
        d[f] = positive[f]! - served.features[index * width + f]!;
        margin += v[f]! * d[f]!;
      }
      const g = 1 / (1 + Math.exp(margin));
      for (let f = 0; f < width; f++) v[f] = v[f]! + step * (g * d[f]! - kappa * v[f]!);
    }
    this.shared.touch(this.rankingTable, 0);
  }

  /** The ranker's starting weights: each source's percentile at 1, the rest 0 (the same on every worker). */
  private initialRanking(out: Float64Array): void {
    out.fill(0);
    for (let m = 0; m < this.rankers.length; m++) out[m * PER_SOURCE] = 1;
  }

  /** Where `item` is among the scored candidates, or -1. */
  private candidatePosition(scored: ScoredCandidates, item: number): number {
    return item < this.stampGeneration.length && this.stampGeneration[item] === scored.generation ? this.stampPosition[item]! : -1;
  }

  /** Percentile and clipped z-score of `score` among a source's candidate scores, sorted ascending. */
  private sourceFeatures(sorted: Float64Array, mean: number, sd: number, score: number, out: Float64Array, at: number): void {
    const n = sorted.length;
    // Scores below `score`, by a binary search without branches on the data (a candidate's place
    // among the others is unpredictable, and mispredicted branches cost more than the search).
    let below = 0;
    if (n > 0) {
      for (let span = n; span > 1; span -= span >> 1) below += (span >> 1) * Number(sorted[below + (span >> 1) - 1]! < score);
      below += Number(sorted[below]! < score);
    }
    out[at] = n > 1 ? below / (n - 1) : 1;
    out[at + 1] = zScore(score, mean, sd);
  }

  /** Candidates from every ranking input's top-N (minus `seen`), their features and scores. */
  private scoreCandidates(user: number, itemCount: number, seen: ReadonlySet<number>, inputScores?: InputScores): ScoredCandidates {
    const n = this.options.candidatesPerSource;
    const sources = this.rankers.length;
    const generation = ++this.generation;
    this.stampGeneration = withIndex(this.stampGeneration, itemCount);
    this.stampPosition = withIndex(this.stampPosition, itemCount);
    this.candidateItems = withIndex(this.candidateItems, sources * n);
    const width = this.ranking.length;
    let count = 0;
    // Each input's scores: the ones handed in (read, not copied), or computed into a buffer of its own.
    const inputScoresOf: Float64Array[] = [];
    const topOf: Array<Array<{ index: number }>> = [];
    for (let m = 0; m < sources; m++) {
      let buffer = inputScores?.get(this.rankers[m]!);
      if (!buffer) {
        if (this.buffers[m]!.length < itemCount) this.buffers[m] = new Float64Array(Math.max(itemCount, this.buffers[m]!.length * 2));
        buffer = this.buffers[m]!;
        this.rankers[m]!.scoreAll(user, itemCount, buffer, seen);
      }
      inputScoresOf.push(buffer);
      const top = topKExcluding(buffer, itemCount, n, seen);
      topOf.push(top);
      for (const { index } of top) {
        if (this.stampGeneration[index] !== generation) {
          this.stampGeneration[index] = generation;
          this.stampPosition[index] = count;
          this.candidateItems[count++] = index;
        }
      }
    }
    const items = this.candidateItems.subarray(0, count);
    this.candidateFeatures = withIndex(this.candidateFeatures, count * width);
    this.candidateScores = withIndex(this.candidateScores, count);
    const features = this.candidateFeatures.subarray(0, count * width);
    features.fill(0);
    const kernels = this.rankKernels;
    // With the kernels: values, sorted values and counts below in their memory (then int32 scratch).
    const memory = kernels?.reserve(4 * count);
    if (!memory) {
      this.values = withIndex(this.values, count);
      this.sorted = withIndex(this.sorted, count);
    }
    const values = memory ? memory.subarray(0, count) : this.values.subarray(0, count);
    const sorted = memory ? memory.subarray(count, 2 * count) : this.sorted.subarray(0, count);
    const below = memory?.subarray(2 * count, 3 * count);
    for (let m = 0; m < sources; m++) {
      finiteScores(inputScoresOf[m]!, items, values);
      if (kernels && below) {
        kernels.rankValues(0, count, count, 6 * count, 2 * count);
        const { mean, sd } = meanAndSd(sorted);
        for (let c = 0; c < count; c++) {
          const at = c * width + m * PER_SOURCE;
          features[at] = count > 1 ? below[c]! / (count - 1) : 1;
          features[at + 1] = zScore(values[c]!, mean, sd);
        }
      } else {
        sorted.set(values);
        sorted.sort();
        const { mean, sd } = meanAndSd(sorted);
        for (let c = 0; c < count; c++) this.sourceFeatures(sorted, mean, sd, values[c]!, features, c * width + m * PER_SOURCE);
      }
      for (const { index } of topOf[m]!) features[this.stampPosition[index]! * width + m * PER_SOURCE + 2] = 1;
    }
    const scores = this.candidateScores.subarray(0, count);
    const weights = this.ranking;
    for (let c = 0; c < count; c++) {
      let s = 0;
      for (let f = 0; f < width; f++) s += weights[f]! * features[c * width + f]!;
      scores[c] = s;
    }
    this.memo = { user, events: this.events, generation, items, features, scores };
    return this.memo;
  }

  /** Scores of the candidates; every other item -Infinity. */
  scoreAll(user: number, itemCount: number, scores: Float64Array, seen: ReadonlySet<number>, inputScores?: InputScores): void {
    const scored = this.scoreCandidates(user, itemCount, seen, inputScores);
    scores.fill(-Infinity, 0, itemCount);
    for (let c = 0; c < scored.items.length; c++) if (scored.items[c]! < itemCount) scores[scored.items[c]!] = scored.scores[c]!;
  }

  /** The input whose features add most to the item's score explains it. */
  explain(user: number, item: number): Explanation {
    const scored = this.memo && this.memo.user === user && this.memo.events === this.events ? this.memo : undefined;
    if (!scored) return { reason: 'ensemble' };
    const at = this.candidatePosition(scored, item);
    if (at < 0) return { reason: 'ensemble' };
    const width = this.ranking.length;
    const x = scored.features.subarray(at * width, (at + 1) * width);
    let best = 0;
    let bestContribution = -Infinity;
    for (let m = 0; m < this.rankers.length; m++) {
      let contribution = 0;
      for (let f = 0; f < PER_SOURCE; f++) contribution += this.ranking[m * PER_SOURCE + f]! * x[m * PER_SOURCE + f]!;
      if (contribution > bestContribution) [best, bestContribution] = [m, contribution];
    }
    const source = this.rankers[best]!;
    return source.explain?.(user, item) ?? { reason: `${source.name} ranks it highly` };
  }

  drainChanges(): Array<[string, StateValue]> {
    return [
      ['events', this.events],
      ['gram', [...this.gram]],
      ['moments', [...this.moments]],
      ['blend', [...this.blend]],
      ['ranking', [...this.ranking]],
    ];
  }

  restore(entries: Iterable<[string, StateValue]>): void {
    for (const [key, value] of entries) {
      switch (key) {
        case 'events':
          this.events = value as number;
          break;
        case 'gram':
        case 'moments':
        case 'blend':
        case 'ranking': {
          const target = key === 'gram' ? this.gram : key === 'moments' ? this.moments : key === 'blend' ? this.blend : this.ranking;
          const values = value as readonly number[];
          if (values.length !== target.length)
            throw new Error(`ensemble: stored '${key}' has ${values.length} values, this ensemble has ${target.length}: were its input models changed?`);
          target.set(values);
          break;
        }
        default:
          throw new Error(`ensemble: unknown state key '${key}'`);
      }
    }
  }

  /**
   * Nothing is one user's: the event count and the blender's and ranker's sums and weights are
   * shared (its inputs drain and classify their own state).
   */
  userOfKey(key: string): number | undefined {
    if (['events', 'gram', 'moments', 'blend', 'ranking'].includes(key)) return undefined;
    throw new Error(`ensemble: unknown state key '${key}'`);
  }
}
