/**
 * Item-item or user-user similarity kept exact under a stream of ratings, with top-N neighbour
 * lists. Item-item: entities are items and the contexts that link them are users; user-user:
 * entities are users, linked by the items they both rated.
 *
 * Per event (first rating of entity e in context c): e is linked to the H most recent entities
 * of c's history (by first rating), updating each pair's co-rating statistics exactly — O(H).
 * A re-rating swaps the old value out of, and the new one into, the ≤ 2H pairs it links — O(H).
 * Pearson and cosine are read from the pair's statistics in O(1); adjusted cosine is centred by
 * the context's current mean, which moves with every rating of the context, so it is summed at
 * read time over the entity's raters — O(raters · 2H) per entity (see `similarity`).
 *
 * What "exact" means, precisely (the batch definition the tests check against): order each
 * context's entities by their first rating; two entities are linked through the context when
 * their positions differ by at most H; a pair's statistics are sums over its links of the latest
 * values. H = Infinity links every co-rated pair (the textbook definition). Pruning (below)
 * forgets a pair with all its links; a later link starts it afresh.
 *
 * Pruning: every `pruneAfter` events, pairs with support below `minSupport` that are at least
 * `pruneAfter` events old are dropped. So at most 2 · pruneAfter · H pairs of tiny support exist
 * at any time, whatever the stream's length.
 *
 * Neighbour lists: an event marks the entities whose similarities it changed as dirty (≤ 2H + 1
 * for Pearson and cosine; every entity of the context for adjusted cosine, whose mean moved).
 * `neighbours` recomputes a dirty list on read, so reads are always exact. `refreshNeighbours`
 * recomputes all dirty lists and reports the ones that changed (for publishing), but only once
 * the events since the last refresh have earned its cost at `refreshBudget` in-order slot
 * visits per event: the cost per event stays bounded at O(H) marks + `refreshBudget` visits,
 * amortised.
 *
 * Ranking lists (knn-item as a ranking model, `keepRankingLists`): a second copy of the lists,
 * recomputed only at stream positions, never on read, so a ranking read costs O(N) whatever
 * the stream did since. A refresh recomputes the lists dirtied since the last one, once
 * max(1,000, pairs / 500) events have passed: at most about 500 in-order visits per event,
 * amortised, and lists at most that many events old (ML-1M shape: every ~9,000 events). The
 * lists at a refresh depend on the statistics at that position, which a restore cannot
 * rebuild (it replays first ratings with their latest values), so they are drained (`r<entity>`,
 * 16 bytes per neighbour) with the position of the last refresh (`rseq`), and a resumed run
 * reads the lists an uninterrupted one would.
 *
 * Persistence: only the rating histories are drained (13 bytes per changed rating, in chunks
 * of 64 by context); `restore` replays them in event order, including the pruning sweeps, and
 * rebuilds statistics identical to the uninterrupted run's.
 *
 * Measured costs and memory: README.md beside this file.
 */
import type { RatingScale } from '../events/scale.js';
import { assertByteScale, quantiseRating } from '../models/quantise.js';
import type { IndexedRating, StateValue } from '../models/model.js';
import { CoRatingStats } from './co-rating-stats.js';
import { centredCosine, DEFAULT_SHRINKAGE, shrink, type SimilarityMeasure } from './measures.js';
import { NeighbourLists } from './neighbour-lists.js';
import { RatingHistories, type HistoryEntry } from './rating-histories.js';
import { TopNHeaps, type Neighbour } from './top-n.js';

export type SimilarityKind = 'item' | 'user';

export interface SimilarityOptions {
  /** 'item': item-item similarity linked by users; 'user': user-user linked by items. */
  readonly kind: SimilarityKind;
  /** Measure of the neighbour lists and the default of `similarity`. */
  readonly measure: SimilarityMeasure;
  /** λ of the shrinkage n / (n + λ). */
  readonly shrinkage: number;
  /** H: a new rating is paired with the context's H most recent ratings. Infinity: all. */
  readonly historyCap: number;
  /** Pairs below this support are pruned once `pruneAfter` events old. */
  readonly minSupport: number;
  /** Pruning period and minimum age, in events; Infinity never prunes. */
  readonly pruneAfter: number;
  /** N: length of the kept neighbour lists. */
  readonly neighbourCount: number;
  /** In-order table slot visits per event that neighbour refreshes may spend, amortised. */
  readonly refreshBudget: number;
}

export const SIMILARITY_DEFAULTS: Omit<SimilarityOptions, 'kind'> = {
  measure: 'pearson',
  shrinkage: DEFAULT_SHRINKAGE,
  historyCap: 100,
  minSupport: 2,
  pruneAfter: 100_000,
  neighbourCount: 50,
  refreshBudget: 50,
};

/** A visit through an adjacency list (a cache miss) costs about this many in-order visits: measured 4–6×. */
const RANDOM_VISIT_COST = 6;
/** Ranking lists are refreshed at most every this many events… */
const RANKING_MIN_EVERY = 1000;
/** …and at most at this many in-order visits per event (a refresh visits each pair about once). */
const RANKING_VISITS_PER_EVENT = 500;

export interface SimilarityFootprint {
  readonly pairs: number;
  readonly ratings: number;
  /** Bytes of pair statistics, births, adjacency and hash buckets, spare capacity included. */
  readonly pairBytes: number;
  readonly historyBytes: number;
}

function countOrInfinity(value: number): boolean {
  return Number.isInteger(value) || value === Infinity;
}

/** Per-partner accumulators of the adjusted-cosine pass; `birth` is -1 where no pair is kept. */
interface CentredSums {
  readonly birth: Float64Array;
  readonly support: Float64Array;
  readonly xy: Float64Array;
  readonly xx: Float64Array;
  readonly yy: Float64Array;
}

export class SimilarityIndex {
  readonly options: SimilarityOptions;
  private readonly histories = new RatingHistories();
  private readonly stats = new CoRatingStats();
  private readonly lists = new NeighbourLists();
  private readonly heaps: TopNHeaps;
  private readonly step: number;
  private readonly scale: RatingScale;
  private seq = 0;
  private drainedSeq = 0;
  private refreshedSeq = 0;
  private refreshCredit = 0;
  private entityCount = 0;
  /** The ranking lists (see the file's comment), when kept. */
  private ranking: NeighbourLists | undefined;
  /** Position of their last refresh. */
  private rankedAt = 0;
  private rankedAtDrained = 0;

  constructor(scale: RatingScale, options: Partial<SimilarityOptions> & Pick<SimilarityOptions, 'kind'>) {
    this.options = { ...SIMILARITY_DEFAULTS, ...options };
    const { historyCap, minSupport, pruneAfter, neighbourCount, shrinkage } = this.options;
    if (!(historyCap >= 1 && countOrInfinity(historyCap)))
      throw new RangeError(`historyCap must be a whole number ≥ 1 (Infinity for no cap), got ${historyCap}`);
    if (!(pruneAfter >= 1 && countOrInfinity(pruneAfter)))
      throw new RangeError(`pruneAfter must be a whole number of events ≥ 1 (Infinity never prunes), got ${pruneAfter}`);
    if (!(neighbourCount >= 1)) throw new RangeError(`neighbourCount must be at least 1, got ${neighbourCount}`);
    if (!(shrinkage >= 0) || !(minSupport >= 0)) throw new RangeError('shrinkage and minSupport must be non-negative');
    assertByteScale(scale);
    this.step = scale.step;
    this.scale = scale;
    this.heaps = new TopNHeaps(neighbourCount);
  }

  /** Events learned so far (the sequence number of the last one). */
  get events(): number {
    return this.seq;
  }

  learn(rating: IndexedRating): void {
    const seq = ++this.seq;
    const item = this.options.kind === 'item';
    const context = item ? rating.user : rating.item;
    const entity = item ? rating.item : rating.user;
    const value = quantiseRating(rating.rating, this.scale);
    const { histories, stats } = this;
    const cap = this.options.historyCap;
    const position = histories.position(context, entity);
    if (position < 0) {
      const at = histories.append(context, entity, value, seq);
      const from = Math.max(0, at - cap);
      stats.link(entity, value, seq, histories.entitiesOf(context), histories.valuesOf(context), from, at);
      if (entity >= this.entityCount) this.entityCount = entity + 1;
      this.markChanged(context, entity, from, at);
    } else if (histories.valuesOf(context)[position] !== value) {
      const old = histories.replace(context, position, value);
      const from = Math.max(0, position - cap);
      const to = Math.min(histories.length(context), position + cap + 1);
      const entities = histories.entitiesOf(context);
      stats.relink(
        entity,
        old,
        value,
        histories.seqsOf(context)[position],
        entities,
        histories.valuesOf(context),
        histories.seqsOf(context),
        from,
        to,
        position,
      );
      this.markChanged(context, entity, from, to);
    }
    if (seq % this.options.pruneAfter === 0) this.prune(seq);
    if (this.ranking && seq - this.rankedAt >= Math.max(RANKING_MIN_EVERY, this.stats.size / RANKING_VISITS_PER_EVENT)) this.refreshRanking(this.ranking);
  }

  /** Keep ranking lists (knn-item as a ranking model): before any event is learned or restored. */
  keepRankingLists(): void {
    if (this.seq !== 0) throw new Error('similarity: ranking lists must be kept from the first event');
    this.ranking ??= new NeighbourLists();
  }

  /**
   * The N most similar entities as of the last ranking refresh (at most
   * max(1,000, pairs / 500) events old), best first; O(1). Empty before the first refresh.
   */
  rankingNeighbours(entity: number): readonly Neighbour[] {
    if (!this.ranking) throw new Error('similarity: rankingNeighbours needs keepRankingLists()');
    return this.ranking.cached(entity);
  }

  private refreshRanking(ranking: NeighbourLists): void {
    this.rankedAt = this.seq;
    const dirty = ranking.dirtyEntities();
    if (dirty.length > 0) this.recompute(dirty, this.refreshPlan(dirty).inOrder, ranking);
  }

  learnBatch(batch: readonly IndexedRating[]): void {
    for (const rating of batch) this.learn(rating);
  }

  /**
   * Shrunk similarity of entities a and b (0 when they share no kept pair). O(1) for Pearson and
   * cosine; O(min(raters of a, raters of b)) for adjusted cosine.
   */
  similarity(a: number, b: number, measure: SimilarityMeasure = this.options.measure): number {
    const slot = this.stats.slotOf(a, b);
    if (slot < 0) return 0;
    if (measure !== 'adjusted-cosine') return this.stats.similarity(slot, measure, this.options.shrinkage);
    return this.adjustedCosine(a, b, slot);
  }

  /**
   * The pair's statistics n, Σx, Σy, Σx², Σy², Σxy (x the lower entity's value; zeros when not
   * kept). For item-item they are sums over users of links made within one user's history, so a
   * stream split by user (Kafka partitions) gives statistics that add up to the whole stream's
   * exactly (while nothing is pruned); user-user links run through an item's history across users.
   */
  pairSums(a: number, b: number): number[] {
    const slot = this.stats.slotOf(a, b);
    return slot < 0 ? [0, 0, 0, 0, 0, 0] : this.stats.sums(slot);
  }

  /** Support n of the pair {a, b}: how many links it has (0 when not kept). */
  support(a: number, b: number): number {
    const slot = this.stats.slotOf(a, b);
    return slot < 0 ? 0 : this.stats.support(slot);
  }

  /**
   * Touch the pairs {target, candidates[from..to)} before reading their similarities, so the
   * cache misses overlap instead of queueing.
   */
  warm(target: number, candidates: Int32Array, from: number, to: number): void {
    for (let p = from; p < to; p++) this.stats.warm(target, candidates[p]);
  }

  /** The k (≤ N) most similar entities with positive similarity, best first; always exact. */
  neighbours(entity: number, k = this.options.neighbourCount): readonly Neighbour[] {
    if (!(entity >= 0 && entity < this.entityCount)) return [];
    if (this.lists.isDirty(entity)) this.lists.store(entity, this.computeList(entity));
    const list = this.lists.cached(entity);
    return k >= list.length ? list : list.slice(0, k);
  }

  /**
   * Recompute the dirty neighbour lists when enough events have paid for it (or `force`), and
   * return the entities whose list changed since the last call, ascending.
   */
  refreshNeighbours(force = false): number[] {
    const events = this.seq - this.refreshedSeq;
    this.refreshedSeq = this.seq;
    if (events > 0) this.refreshCredit += events * this.options.refreshBudget;
    const dirty = this.lists.dirtyEntities();
    if (dirty.length === 0) this.refreshCredit = 0;
    else {
      const { visits, inOrder } = this.refreshPlan(dirty);
      if (force || visits <= this.refreshCredit) {
        this.refreshCredit = Math.max(0, this.refreshCredit - visits);
        this.recompute(dirty, inOrder, this.lists);
      }
    }
    return this.lists.drainChanged();
  }

  /** A context's history (entities, their values on the q grid) — views valid until the next learn. */
  history(context: number): { readonly entities: Int32Array; readonly values: Uint8Array; readonly length: number } {
    const { histories } = this;
    return { entities: histories.entitiesOf(context), values: histories.valuesOf(context), length: histories.length(context) };
  }

  /** The rating a stored value stands for. */
  ratingOf(value: number): number {
    return value * this.step;
  }

  footprint(): SimilarityFootprint {
    return { pairs: this.stats.size, ratings: this.histories.size, pairBytes: this.stats.byteLength, historyBytes: this.histories.byteLength };
  }

  /** Changed history chunks and the event counter; key `h<context>.<chunk>` and `seq`. */
  drainChanges(): Array<[string, StateValue]> {
    const changes: Array<[string, StateValue]> = [];
    if (this.seq !== this.drainedSeq) changes.push(['seq', this.seq]);
    this.drainedSeq = this.seq;
    for (const [context, chunk, bytes] of this.histories.drainChangedChunks()) changes.push([`h${context}.${chunk}`, bytes]);
    if (this.ranking) {
      if (this.rankedAt !== this.rankedAtDrained) changes.push(['rseq', this.rankedAt]);
      this.rankedAtDrained = this.rankedAt;
      for (const entity of this.ranking.drainChanged()) changes.push([`r${entity}`, packList(this.ranking.cached(entity))]);
    }
    return changes;
  }

  /** Rebuild from every drained entry by replaying first ratings in event order. Fresh instances only. */
  restore(entries: Iterable<[string, StateValue]>): void {
    if (this.seq !== 0) throw new Error('similarity restore needs a fresh index: this one has already learned events');
    const ratings: HistoryEntry[] = [];
    let seq = 0;
    const rankingLists: Array<[number, readonly Neighbour[]]> = [];
    for (const [key, value] of entries) {
      if (key === 'seq') seq = value as number;
      else if (key === 'rseq') this.rankedAt = this.rankedAtDrained = value as number;
      else if (RANKING_KEY.test(key) && value instanceof Uint8Array) rankingLists.push([Number(key.slice(1)), unpackList(value)]);
      else if (key.startsWith('h') && value instanceof Uint8Array) {
        for (const entry of RatingHistories.unpackChunk(Number(key.slice(1, key.indexOf('.'))), value)) ratings.push(entry);
      } else throw new Error(`similarity: unknown state key '${key}'`);
    }
    ratings.sort((x, y) => x.seq - y.seq);
    const { pruneAfter, historyCap } = this.options;
    let nextSweep = pruneAfter;
    for (const { context, entity, value, seq: at } of ratings) {
      for (; nextSweep < at; nextSweep += pruneAfter) this.stats.prune(nextSweep, this.options.minSupport, pruneAfter);
      const position = this.histories.append(context, entity, value, at);
      const { histories } = this;
      this.stats.link(entity, value, at, histories.entitiesOf(context), histories.valuesOf(context), Math.max(0, position - historyCap), position);
      if (entity >= this.entityCount) this.entityCount = entity + 1;
    }
    for (; nextSweep <= seq; nextSweep += pruneAfter) this.stats.prune(nextSweep, this.options.minSupport, pruneAfter);
    this.seq = this.drainedSeq = this.refreshedSeq = seq;
    this.histories.markPersisted();
    for (let entity = 0; entity < this.entityCount; entity++) this.lists.markDirty(entity);
    if (this.ranking) {
      for (const [entity, list] of rankingLists) this.ranking.store(entity, list);
      this.ranking.drainChanged();
      // Which lists were dirty is not stored: the next refresh recomputes them all, which gives
      // the same lists (a list that is not dirty is the one its statistics give now).
      for (let entity = 0; entity < this.entityCount; entity++) this.ranking.markDirty(entity);
    }
  }

  /**
   * Whose a drained key is. `h<context>.<chunk>` is a chunk of one context's history: item-item,
   * contexts are users, so it is that user's ratings; user-user, contexts are items, so it is an
   * item's raters, shared. `seq` is shared. The pair statistics are never drained (restore
   * rebuilds them from the histories), and they would be shared too: a user-user pair is two
   * users', an item-item pair is linked through many users.
   */
  userOfKey(key: string): number | undefined {
    const chunk = /^h(\d+)\.\d+$/.exec(key);
    if (chunk) return this.options.kind === 'item' ? Number(chunk[1]) : undefined;
    if (key === 'seq' || key === 'rseq' || RANKING_KEY.test(key)) return undefined;
    throw new Error(`similarity: unknown state key '${key}'`);
  }

  /** Mark dirty the entities whose similarities an event in `context` changed. */
  private markChanged(context: number, entity: number, from: number, to: number): void {
    const { lists, ranking } = this;
    lists.markDirty(entity);
    ranking?.markDirty(entity);
    const entities = this.histories.entitiesOf(context);
    if (this.options.measure === 'adjusted-cosine') {
      // The context's mean moved: every pair linked through it changed.
      from = 0;
      to = this.histories.length(context);
    }
    for (let p = from; p < to; p++) {
      lists.markDirty(entities[p]);
      ranking?.markDirty(entities[p]);
    }
  }

  private prune(now: number): void {
    for (const entity of this.stats.prune(now, this.options.minSupport, this.options.pruneAfter)) {
      this.lists.markDirty(entity);
      this.ranking?.markDirty(entity);
    }
  }

  /** Cost of recomputing `dirty`, in in-order pair visits, and whether one in-order pass is cheaper. */
  private refreshPlan(dirty: readonly number[]): { visits: number; inOrder: boolean } {
    let visits = 0;
    if (this.options.measure === 'adjusted-cosine') {
      const window = 2 * Math.min(this.options.historyCap, this.histories.size);
      for (const entity of dirty) visits += this.stats.degree(entity) * RANDOM_VISIT_COST + this.histories.raterCount(entity) * window;
      return { visits, inOrder: false };
    }
    for (const entity of dirty) visits += this.stats.degree(entity) * RANDOM_VISIT_COST;
    const slots = this.stats.capacity;
    return visits > slots ? { visits: slots, inOrder: true } : { visits, inOrder: false };
  }

  private computeList(entity: number): Neighbour[] {
    return this.options.measure === 'adjusted-cosine' ? this.adjustedCosineList(entity) : this.pairList(entity);
  }

  /** Pearson or cosine list of one entity, through its adjacency: O(degree). */
  private pairList(entity: number): Neighbour[] {
    const { stats, heaps } = this;
    const measure = this.options.measure as 'pearson' | 'cosine';
    const partners = stats.partnersOf(entity);
    heaps.reset(1);
    for (let k = 0, degree = stats.degree(entity); k < degree; k++) {
      const slot = stats.slotOf(entity, partners[k]);
      const sim = stats.similarity(slot, measure, this.options.shrinkage);
      if (sim > 0) heaps.offer(0, partners[k], sim, stats.support(slot));
    }
    return heaps.sorted(0);
  }

  /** Recompute the lists of `dirty` into `into`: in one in-order pass, or entity by entity through adjacency. */
  private recompute(dirty: readonly number[], inOrder: boolean, into: NeighbourLists): void {
    if (inOrder) this.recomputeInOrder(dirty, into);
    else for (const entity of dirty) into.store(entity, this.computeList(entity));
  }

  /** Pearson or cosine lists of many entities in one in-order pass over all pairs: O(pairs). */
  private recomputeInOrder(dirty: readonly number[], into: NeighbourLists): void {
    const rank = new Int32Array(this.entityCount).fill(-1);
    dirty.forEach((entity, r) => (rank[entity] = r));
    this.heaps.reset(dirty.length);
    this.stats.offerAll(rank, this.heaps, this.options.measure as 'pearson' | 'cosine', this.options.shrinkage);
    dirty.forEach((entity, r) => into.store(entity, this.heaps.sorted(r)));
  }

  /**
   * Adjusted cosine of every partner of `entity`, centred by the contexts' current means: one
   * pass over the entity's raters and each one's ±H window. O(degree + raters · 2H).
   */
  private adjustedCosineList(entity: number): Neighbour[] {
    const { stats, heaps } = this;
    const sums = this.centredSums(entity);
    heaps.reset(1);
    const partners = stats.partnersOf(entity);
    for (let k = 0, degree = stats.degree(entity); k < degree; k++) {
      const partner = partners[k];
      const support = sums.support[partner];
      const sim = shrink(centredCosine(sums.xx[partner], sums.yy[partner], sums.xy[partner]), support, this.options.shrinkage);
      if (sim > 0) heaps.offer(0, partner, sim, support);
    }
    return heaps.sorted(0);
  }

  /** One pair's adjusted cosine: find the other entity in each context of the one with fewer raters. */
  private adjustedCosine(a: number, b: number, slot: number): number {
    const { histories, stats } = this;
    const [entity, other] = histories.raterCount(a) <= histories.raterCount(b) ? [a, b] : [b, a];
    const born = stats.birth(slot);
    const cap = this.options.historyCap;
    const raters = histories.ratersOf(entity);
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let r = 0, count = histories.raterCount(entity); r < count; r++) {
      const context = raters[2 * r];
      const position = raters[2 * r + 1];
      const at = histories.position(context, other);
      if (at < 0 || Math.abs(at - position) > cap) continue;
      const seqs = histories.seqsOf(context);
      if (Math.max(seqs[position], seqs[at]) < born) continue;
      const values = histories.valuesOf(context);
      const mean = histories.mean(context);
      const x = values[position] - mean;
      const y = values[at] - mean;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    return shrink(centredCosine(xx, yy, xy), stats.support(slot), this.options.shrinkage);
  }

  /**
   * Σ(x − m_c)(y − m_c), Σ(x − m_c)², Σ(y − m_c)² over the links of `entity` with each partner,
   * indexed by partner. Links older than their pair's birth belonged to a pruned incarnation.
   */
  private centredSums(entity: number): CentredSums {
    const { stats, histories } = this;
    const scratch = this.scratch();
    const { birth, support, xy, xx, yy } = scratch;
    const partners = stats.partnersOf(entity);
    const degree = stats.degree(entity);
    for (let k = 0; k < degree; k++) {
      const slot = stats.slotOf(entity, partners[k]);
      birth[partners[k]] = stats.birth(slot);
      support[partners[k]] = stats.support(slot);
      xy[partners[k]] = xx[partners[k]] = yy[partners[k]] = 0;
    }
    const cap = this.options.historyCap;
    const raters = histories.ratersOf(entity);
    for (let r = 0, count = histories.raterCount(entity); r < count; r++) {
      const context = raters[2 * r];
      const position = raters[2 * r + 1];
      const entities = histories.entitiesOf(context);
      const values = histories.valuesOf(context);
      const seqs = histories.seqsOf(context);
      const mean = histories.mean(context);
      const x = values[position] - mean;
      const seqA = seqs[position];
      const to = Math.min(histories.length(context), position + cap + 1);
      for (let p = Math.max(0, position - cap); p < to; p++) {
        const partner = entities[p];
        const born = birth[partner];
        if (p === position || born < 0 || Math.max(seqA, seqs[p]) < born) continue;
        const y = values[p] - mean;
        xy[partner] += x * y;
        xx[partner] += x * x;
        yy[partner] += y * y;
      }
    }
    // Back to -1 ("no kept pair") for the next call.
    for (let k = 0; k < degree; k++) birth[partners[k]] = -1;
    return scratch;
  }

  private scratchArrays?: CentredSums;

  private scratch(): CentredSums {
    if (!this.scratchArrays || this.scratchArrays.birth.length < this.entityCount) {
      const size = Math.max(1024, this.entityCount * 2);
      this.scratchArrays = {
        birth: new Float64Array(size).fill(-1),
        support: new Float64Array(size),
        xy: new Float64Array(size),
        xx: new Float64Array(size),
        yy: new Float64Array(size),
      };
    }
    return this.scratchArrays;
  }
}

const RANKING_KEY = /^r\d+$/;

/** A ranking list as stored: per neighbour its id (Int32), similarity (Float64) and support (Int32). */
function packList(list: readonly Neighbour[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(list.length * 16));
  list.forEach(({ id, sim, support }, k) => {
    view.setInt32(k * 16, id, true);
    view.setFloat64(k * 16 + 4, sim, true);
    view.setInt32(k * 16 + 12, support, true);
  });
  return new Uint8Array(view.buffer);
}

function unpackList(bytes: Uint8Array): Neighbour[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const list: Neighbour[] = [];
  for (let at = 0; at + 16 <= bytes.byteLength; at += 16)
    list.push({ id: view.getInt32(at, true), sim: view.getFloat64(at + 4, true), support: view.getInt32(at + 12, true) });
  return list;
}
