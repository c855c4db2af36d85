/**
 * Implicit ALS (`implicit-als`): which items a user picks, as weighted matrix factorisation of
 * the whole users × items pick matrix (Hu, Koren, Volinsky 2008), learned online: the user side
 * per event, the item side every `sweepEvery` events. A pick is a user's first rating of an
 * item, whatever its value.
 *
 *   p_ui = 1 if u picked i, else 0        c_ui = 1 + α p_ui
 *   min Σ_{all u,i} c_ui (p_ui − x_u · y_i)² + λ (Σ ‖x_u‖² + Σ ‖y_i‖²)
 *   score(u, i) = x_u · y_i
 *
 * Every unpicked cell counts (with weight 1) without being visited: for a user,
 *
 *   x_u = (YᵀY + λ I + α Σ_{i∈Ω_u} y_i y_iᵀ)⁻¹ (1 + α) Σ_{i∈Ω_u} y_i
 *
 * and symmetrically for an item with XᵀX. Item rows change only at a sweep, so between sweeps
 * a user's sums over their picks are sufficient statistics: kept for the users active since the
 * last sweep (built from the picks at their first event after it, then one r × r update a pick),
 * the user's row is the exact solve against the current item rows at O(r³), done when the row
 * is next read (their list, a sweep, the state written), which is the row a solve per pick
 * gives at a fraction of the solves (users pick in sessions). At a sweep
 * (every 1,000 events or more, counted in events so the state never depends on batch boundaries) the
 * items picked since the last one are re-solved against XᵀX and the current user rows, YᵀY is
 * recomputed and the kept sums are dropped. Fresh per event where it matters (a user's list
 * after their last pick), per sweep where it is cheap to wait (an item's row moves little per
 * pick). Cost: per pick O(r²), per read of a row picked since O(r³/6), plus a user's picks × r²/2 at their first pick of a
 * window; per sweep (users + items) r² for the Gram matrices and Σ over the picked items of
 * (raters × r²/2 + r³/6). Sweeps are `sweepEvery` events apart, or a share `sweepShare` of the
 * events so far when that is more (a pick's item is then learned at most 1 % of the stream
 * late), so that the sweeps' cost per event stays bounded as raters accumulate.
 *
 * Parameters (defaults): rank r = 20; α = 1 and λ = 1 (the implicit library's α; the paper's
 * α = 40 suits play counts, not one-off picks — measured on the synthetic set, offline P@10 0.23
 * at α = 40, 0.36 at α = 10, 0.40 at α = 1, insensitive to λ from 0.1 to 10); sweepEvery = 1,000 events. New
 * item rows start at N(0, 0.1²) drawn from (seed, row, column). A user with no picks scores
 * nothing (the pipeline's cold-start model lists for them); items not learned yet score −∞.
 *
 * State: the picks (in chunks, 13 bytes a pick), the factor rows, the event count, the items
 * picked since the last sweep and the row count at it; restore rebuilds exactly (the kept sums
 * are rebuilt from the picks in the same order).
 *
 * References: Y. Hu, Y. Koren, C. Volinsky, "Collaborative filtering for implicit feedback
 * datasets", ICDM 2008; I. Pilászy, D. Zibriczky, D. Tikk, "Fast ALS-based matrix factorization
 * for explicit and implicit feedback datasets", RecSys 2010; S. Rendle et al., "Revisiting the
 * performance of iALS on item recommendation benchmarks", RecSys 2022; B. Frederickson,
 * implicit (github.com/benfred/implicit).
 *
 * Example:
 *   const model = new ImplicitAls({ scale: WHOLE_STARS, seed: 42 });
 *   model.learn([{ user: 0, item: 3, rating: 2, ts: 0 }, { user: 1, item: 3, rating: 5, ts: 1 }]);
 *   model.scoreAll(0, 4, scores, new Set([3]));
 */
import { FoldInState } from './fold-in-state.js';
import { addOuterUpper, rowsGramUpper, tableGramUpper } from './gram.js';
import type { Explanation, IndexedRating, ModelContext, RankingModel, StateValue } from './model.js';
import { RidgeSystem } from './ridge-solve.js';

export interface ImplicitAlsOptions {
  readonly rank: number;
  /** Events between item sweeps, at least. */
  readonly sweepEvery: number;
  /**
   * And at least this share of the events seen so far: a sweep visits every rater of the items
   * picked since the last one, whose counts grow with the stream, so a fixed interval makes the
   * per-event cost grow with it. With the interval a share f of the stream, a sweep's cost over
   * its interval stays below r²/(2f) per event however long the stream (0: fixed intervals).
   */
  readonly sweepShare: number;
  /** Confidence of a pick over an unpicked cell: c = 1 + α. */
  readonly alpha: number;
  readonly lambda: number;
  readonly initStd: number;
}

export const IMPLICIT_ALS_DEFAULTS: ImplicitAlsOptions = { rank: 20, sweepEvery: 1000, sweepShare: 0.01, alpha: 1, lambda: 1, initStd: 0.1 };

/** Value filed for a pick: the model reads which items were picked, not the rating. */
const PICKED = 1;

/** A user's sums over their picks since the last sweep: α Σ y yᵀ (upper triangle) and (1 + α) Σ y. */
interface PickSums {
  readonly gram: Float64Array;
  readonly rhs: Float64Array;
}

export class ImplicitAls implements RankingModel {
  readonly name = 'implicit-als' as const;
  readonly learning = 'per-event' as const;
  readonly options: ImplicitAlsOptions;
  private readonly state: FoldInState;
  private readonly system: RidgeSystem;
  /** YᵀY over every item row: at the last sweep, plus rows created since, in index order. */
  private readonly itemGram: Float64Array;
  private readonly userGram: Float64Array;
  private readonly sums = new Map<number, PickSums>();
  /**
   * Users who picked since their row was last solved. A user's solve is a function of their
   * sums and YᵀY alone, so it waits until the row is read (their list, a sweep, the state
   * written) and YᵀY is about to change (then every waiting user is solved first): the same
   * rows as a solve per pick, for the users who are read before their next pick only.
   */
  private readonly unsolved = new Set<number>();
  /** Items picked since the last sweep. */
  private readonly window = new Set<number>();
  private events = 0;
  /** The event count at which the next sweep runs. */
  private nextSweep: number;
  /** Item rows that existed at the last sweep (the rest entered itemGram one by one). */
  private swept = 0;
  private itemRowsInGram = 0;
  /**
   * Rows nobody here picked: under serve --scale-out the shared catalogue gives indices to other
   * workers' users and items, and creating a row creates every row below it. They stay out of
   * both Gram matrices and items among them score −∞: this worker's model knows nothing of them.
   * Without scale-out every row has picks, and nothing changes.
   */
  private readonly hasPicks = (user: number) => this.state.ratings.length(user) > 0;
  private readonly hasRaters = (item: number) => this.state.ratings.raterCount(item) > 0;
  private raterlessItems = false;

  constructor(context: ModelContext, options: Partial<ImplicitAlsOptions> = {}) {
    this.options = { ...IMPLICIT_ALS_DEFAULTS, ...options };
    const { rank, alpha, lambda, initStd, sweepEvery } = this.options;
    if (!(Number.isInteger(rank) && rank >= 1)) throw new RangeError(`implicit-als: rank must be a positive integer, got ${rank}`);
    if (!(alpha >= 0)) throw new RangeError(`implicit-als: alpha must be >= 0, got ${alpha}`);
    if (!(lambda > 0)) throw new RangeError(`implicit-als: lambda must be > 0, got ${lambda}`);
    if (!(Number.isInteger(sweepEvery) && sweepEvery >= 1))
      throw new RangeError(`implicit-als: sweepEvery must be a whole number of events >= 1, got ${sweepEvery}`);
    if (!(options.sweepShare === undefined || (options.sweepShare >= 0 && options.sweepShare < 1)))
      throw new RangeError(`implicit-als: sweepShare must be in [0, 1), got ${options.sweepShare}`);
    this.nextSweep = sweepEvery;
    this.state = new FoldInState({ model: this.name, seed: context.seed, initStd, userWidth: rank, itemWidth: rank, itemLeadingZeros: 0 });
    this.system = new RidgeSystem(rank);
    this.itemGram = new Float64Array(rank * rank);
    this.userGram = new Float64Array(rank * rank);
  }

  learn(batch: readonly IndexedRating[]): void {
    for (const { user, item } of batch) {
      if (this.state.file(user, item, PICKED)) this.learnPick(user, item);
      this.events += 1;
      if (this.events >= this.nextSweep) {
        this.sweep();
        this.nextSweep = this.events + this.sweepInterval(this.events);
      }
    }
  }

  private learnPick(user: number, item: number): void {
    const { state } = this;
    const r = this.options.rank;
    state.items.ensure(item, state.initItemRow);
    // A row left out for having no picks gets its first: YᵀY again, in row order (as a restore builds it).
    const firstPickOfRow = item < this.itemRowsInGram && state.ratings.raterCount(item) === 1;
    if (firstPickOfRow || this.itemRowsInGram < state.items.rowCount) this.solveUnsolved();
    if (firstPickOfRow) tableGramUpper(this.itemGram, state.items, this.itemRowsInGram, this.hasRaters);
    this.addNewItemRows();
    let sums = this.sums.get(user);
    if (!sums) {
      // Every pick's α y yᵀ and (1 + α) y, as addPick adds them, at once by the Gram sums.
      sums = { gram: new Float64Array(r * r), rhs: new Float64Array(r) };
      const { alpha } = this.options;
      rowsGramUpper(sums.gram, state.items, state.ratings.entitiesOf(user), state.ratings.length(user), alpha, sums.rhs, 1 + alpha);
      this.sums.set(user, sums);
    } else this.addPick(sums, item);
    this.window.add(item);
    this.unsolved.add(user);
  }

  /** x_u = (YᵀY + λI + α Σ y yᵀ)⁻¹ (1 + α) Σ y from the user's kept sums. */
  private solveUser(user: number): void {
    if (!this.unsolved.delete(user)) return;
    const sums = this.sums.get(user)!;
    const { system } = this;
    const r = this.options.rank;
    system.reset(this.options.lambda, this.itemGram);
    for (let k = 0; k < r * r; k++) system.gram[k] += sums.gram[k];
    system.rhs.set(sums.rhs);
    this.state.setUserRow(user, system.solve());
  }

  private solveUnsolved(): void {
    for (const user of this.unsolved) this.solveUser(user);
  }

  private addPick(sums: PickSums, item: number): void {
    const { alpha, rank: r } = this.options;
    const rows = this.state.items.raw;
    const at = item * r;
    for (let f = 0; f < r; f++) sums.rhs[f] += (1 + alpha) * rows[at + f];
    addOuterUpper(sums.gram, rows, at, r, alpha);
  }

  /** Rows created since they were last counted enter YᵀY in index order (as a restore replays them). */
  private addNewItemRows(): void {
    const count = this.state.items.rowCount;
    for (; this.itemRowsInGram < count; this.itemRowsInGram++) {
      if (this.hasRaters(this.itemRowsInGram)) addOuterUpper(this.itemGram, this.state.items.raw, this.itemRowsInGram * this.options.rank, this.options.rank);
      else this.raterlessItems = true;
    }
  }

  private sweepInterval(events: number): number {
    return Math.max(this.options.sweepEvery, Math.floor(this.options.sweepShare * events));
  }

  private sweep(): void {
    const { state } = this;
    this.solveUnsolved();
    tableGramUpper(this.userGram, state.users, state.users.rowCount, this.hasPicks);
    for (const item of [...this.window].sort((a, b) => a - b)) this.solveItem(item);
    this.window.clear();
    this.sums.clear();
    this.itemGramOver(state.items.rowCount);
    this.swept = this.itemRowsInGram;
  }

  /** YᵀY anew over the item rows below `count` that have raters, in row order; whether any has none. */
  private itemGramOver(count: number): void {
    tableGramUpper(this.itemGram, this.state.items, count, this.hasRaters);
    this.raterlessItems = false;
    for (let item = 0; item < count && !this.raterlessItems; item++) this.raterlessItems = !this.hasRaters(item);
    this.itemRowsInGram = count;
  }

  private solveItem(item: number): void {
    const { system, state } = this;
    const { alpha } = this.options;
    system.reset(this.options.lambda, this.userGram);
    // Raters are (user, position) pairs: every other entry is a user.
    system.addRows(state.users, state.ratings.ratersOf(item), 2, state.ratings.raterCount(item), 1 + alpha, alpha);
    state.setItemRow(item, system.solve());
  }
  /** x_u (a copy), for reports and checks. */
  userFactors(user: number): Float64Array {
    this.solveUser(user);
    return this.state.users.row(user).slice();
  }

  /** y_i (a copy). */
  itemFactors(item: number): Float64Array {
    return this.state.items.row(item).slice();
  }

  scoreAll(user: number, itemCount: number, scores: Float64Array): void {
    this.solveUser(user);
    const known = Math.min(itemCount, this.state.items.rowCount);
    if (this.state.ratings.length(user) === 0 || user >= this.state.users.rowCount) {
      scores.fill(0, 0, known);
    } else {
      const r = this.options.rank;
      this.state.items.dotScores(this.state.users.raw, user * r, 0, r, known, scores);
    }
    if (this.raterlessItems) for (let item = 0; item < known; item++) if (!this.hasRaters(item)) scores[item] = -Infinity;
    scores.fill(-Infinity, known, itemCount);
  }

  /** The user's pick whose item factors are closest to `item`'s. */
  explain(user: number, item: number): Explanation {
    const { ratings, items } = this.state;
    if (item >= items.rowCount) return { reason: 'fits what you pick' };
    const picks = ratings.entitiesOf(user);
    const best = items.bestDot(item, picks, ratings.length(user), 0, this.options.rank);
    return best < 0 ? { reason: 'fits what you pick' } : { reason: 'picked by people who picked', becauseOf: picks[best] };
  }

  drainChanges(): Array<[string, StateValue]> {
    this.solveUnsolved();
    const changes: Array<[string, StateValue]> = [
      ['events', this.events],
      ['nextSweep', this.nextSweep],
      ['window', [...this.window]],
      ['swept', this.swept],
    ];
    this.state.drainInto(changes);
    return changes;
  }

  restore(entries: Iterable<[string, StateValue]>): void {
    this.state.restore(entries, (key, value) => {
      if (key === 'events') this.events = value as number;
      else if (key === 'nextSweep') this.nextSweep = value as number;
      else if (key === 'swept') this.swept = value as number;
      else if (key === 'window') for (const item of value as readonly number[]) this.window.add(item);
      else throw new Error(`implicit-als: unknown state key '${key}'`);
    });
    // A state from before sweeps were spaced by share: the next multiple of sweepEvery.
    const every = this.options.sweepEvery;
    if (this.nextSweep <= this.events) this.nextSweep = (Math.floor(this.events / every) + 1) * every;
    // YᵀY as the live model has it: the rows at the last sweep, then each later row in order.
    this.itemGramOver(this.swept);
    this.addNewItemRows();
  }

  /**
   * A user's picks and row are theirs (fold-in-state.ts); item rows, the counters and the
   * sweep's window are shared.
   */
  userOfKey(key: string): number | undefined {
    return this.state.userOfKey(key, (other) => {
      if (['events', 'nextSweep', 'window', 'swept'].includes(other)) return undefined;
      throw new Error(`implicit-als: unknown state key '${other}'`);
    });
  }
}
