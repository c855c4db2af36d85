/**
 * The recommender's pure core for one pipeline: ids, histories, models, prequential figures and
 * the current top-k lists. `applyBatch` is the whole per-batch computation (test, then train,
 * then refresh the touched users' lists); `drainState` is what the batch changed, for the one
 * state transaction. No I/O, no clocks: the streams layer supplies both.
 */
import { Catalog } from './catalog.js';
import { PrequentialEvaluator } from './eval/prequential.js';
import type { RatingEvent } from './events/rating.js';
import type { RatingScale } from './events/scale.js';
import { UserHistories } from './history.js';
import { KnnBaseline } from './models/knn-baseline.js';
import type { IndexedRating, OnlineModel, RankingModel, StateValue } from './models/model.js';
import type { SimilarityIndex } from './similarity/similarity-index.js';
import { topK, type ScoredIndex } from './ranking/top-k.js';

export interface RecommenderOptions {
  readonly scale: RatingScale;
  /** Length of each published list. */
  readonly k: number;
  /** Ratings at or above this count as relevant for hit@k / NDCG@k (4 on the 1–5 scale). */
  readonly relevanceThreshold: number;
}

/** A refreshed list: item indices with their scores, best first. */
export interface UserList {
  readonly user: number;
  readonly items: readonly ScoredIndex[];
  /** ts of the user's newest event in the batch. */
  readonly eventTs: number;
}

/** Everything one batch changed, in the form the state store writes. */
export interface StateDelta {
  readonly users: Array<[number, string]>;
  readonly items: Array<[number, string]>;
  readonly history: Array<[number, number]>;
  readonly models: Array<[model: string, key: string, value: StateValue]>;
  readonly evaluation: ReturnType<PrequentialEvaluator['toState']>;
  readonly lists: Array<[number, Int32Array]>;
}

/** An item's nearest neighbours by shrunk similarity (the similar-items topic's value). */
export interface SimilarItemsList {
  readonly itemId: string;
  readonly neighbours: ReadonlyArray<{ readonly itemId: string; readonly sim: number; readonly support: number }>;
}

/** The sum of every delta ever drained, as the state store hands it back. */
export interface RecommenderSnapshot {
  readonly users: Iterable<[number, string]>;
  readonly items: Iterable<[number, string]>;
  readonly history: Iterable<[number, number]>;
  readonly models: ReadonlyMap<string, Iterable<[string, StateValue]>>;
  readonly evaluation: StateDelta['evaluation'] | undefined;
  readonly lists: Iterable<[number, Int32Array]>;
}

export class Recommender {
  readonly catalog = new Catalog();
  readonly histories = new UserHistories();
  readonly evaluator: PrequentialEvaluator;
  /** Each user's current list (item indices, best first): what a hit@k is checked against. */
  private readonly currentLists = new Map<number, Int32Array>();
  private changedLists = new Set<number>();
  private scores = new Float64Array(1024);
  /** Item-item similarity of the knn-item model, when it runs: the similar-items lists. */
  readonly itemSimilarity: SimilarityIndex | undefined;

  constructor(
    readonly models: readonly OnlineModel[],
    readonly ranker: RankingModel,
    readonly options: RecommenderOptions,
  ) {
    if (!models.includes(ranker)) throw new Error(`the ranking model '${ranker.name}' must be one of the pipeline's models`);
    this.itemSimilarity = models.find((m): m is KnnBaseline => m instanceof KnnBaseline && m.similarity.options.kind === 'item')?.similarity;
    this.evaluator = new PrequentialEvaluator(
      models.map((m) => m.name),
      options.k,
      options.relevanceThreshold,
    );
  }

  /** Intern ids (new users and items become rows) and keep event order. */
  index(events: readonly RatingEvent[]): IndexedRating[] {
    return events.map((e) => ({
      user: this.catalog.users.intern(e.userId),
      item: this.catalog.items.intern(e.itemId),
      rating: e.rating,
      ts: e.ts,
    }));
  }

  /**
   * Test, then train, event by event (every model predicts an event before any model learns
   * it, and learns it before the next event is predicted), then refresh the lists of the users
   * the batch touched. Per-event interleaving keeps the figures independent of where batch
   * boundaries fall; lists are refreshed per batch, so hit@k checks the list as published.
   */
  applyBatch(batch: readonly IndexedRating[]): UserList[] {
    const single: IndexedRating[] = [];
    const newestTs = new Map<number, number>();
    for (const event of batch) {
      this.evaluate(event);
      single[0] = event;
      for (const model of this.models) model.learn(single);
      this.histories.add(event.user, event.item);
      newestTs.set(event.user, Math.max(event.ts, newestTs.get(event.user) ?? -Infinity));
    }
    return [...newestTs].map(([user, eventTs]) => ({ user, items: this.refresh(user), eventTs }));
  }

  private evaluate({ user, item, rating }: IndexedRating): void {
    for (const model of this.models) this.evaluator.recordPrediction(model.name, model.predict(user, item), rating);
    const list = this.currentLists.get(user);
    this.evaluator.recordRanking(rating, list ? list.indexOf(item) + 1 : 0);
  }

  /** Recompute `user`'s top-k from the ranking model, leaving out what they have rated. */
  refresh(user: number): ScoredIndex[] {
    const items = this.rankFor(user);
    this.currentLists.set(user, Int32Array.from(items, (s) => s.index));
    this.changedLists.add(user);
    return items;
  }

  /** A known user's top `k` now, without changing their current list. */
  rankFor(user: number, k = this.options.k): ScoredIndex[] {
    const seen = this.histories.itemsOf(user);
    return this.rank(user, k, (item) => seen.has(item));
  }

  /** The list for a user never seen: the ranking model's scores without a user part. */
  coldStartList(k = this.options.k): ScoredIndex[] {
    return this.rank(this.catalog.users.size, k, () => false);
  }

  private rank(user: number, k: number, excluded: (item: number) => boolean): ScoredIndex[] {
    const itemCount = this.catalog.items.size;
    if (this.scores.length < itemCount) this.scores = new Float64Array(Math.max(itemCount, this.scores.length * 2));
    this.ranker.scoreAll(user, itemCount, this.scores);
    return topK(this.scores, itemCount, k, excluded);
  }

  /**
   * Items whose neighbour list changed since the last call (recomputed within the similarity
   * index's per-event budget), with their lists: what the similar-items topic publishes.
   */
  changedSimilarItems(k: number): SimilarItemsList[] {
    const similarity = this.itemSimilarity;
    if (!similarity) return [];
    return similarity.refreshNeighbours().map((item) => this.similarItemsAt(similarity, item, k));
  }

  /** An item's nearest neighbours, or undefined when knn-item does not run or the item is unknown. */
  similarItems(itemId: string, k: number): SimilarItemsList | undefined {
    const item = this.catalog.items.lookup(itemId);
    return this.itemSimilarity && item >= 0 ? this.similarItemsAt(this.itemSimilarity, item, k) : undefined;
  }

  private similarItemsAt(similarity: SimilarityIndex, item: number, k: number): SimilarItemsList {
    const { items } = this.catalog;
    return {
      itemId: items.idAt(item),
      neighbours: similarity.neighbours(item, k).map(({ id, sim, support }) => ({ itemId: items.idAt(id), sim: Math.round(sim * 1e6) / 1e6, support })),
    };
  }

  /** The user's current list as item indices (empty for an unknown user). */
  currentList(user: number): Int32Array {
    return this.currentLists.get(user) ?? new Int32Array(0);
  }

  drainState(): StateDelta {
    const models: StateDelta['models'] = [];
    for (const model of this.models) {
      for (const [key, value] of model.drainChanges()) models.push([model.name, key, value]);
    }
    const lists: Array<[number, Int32Array]> = [...this.changedLists].map((user) => [user, this.currentLists.get(user)!]);
    this.changedLists = new Set();
    return {
      users: this.catalog.users.drainAdded(),
      items: this.catalog.items.drainAdded(),
      history: this.histories.drainAdded(),
      models,
      evaluation: this.evaluator.toState(),
      lists,
    };
  }

  /** Rebuild from everything the state store holds (the sum of all drained deltas). */
  restore(snapshot: RecommenderSnapshot): void {
    this.catalog.users.restore(snapshot.users);
    this.catalog.items.restore(snapshot.items);
    this.histories.restore(snapshot.history);
    for (const model of this.models) model.restore(snapshot.models.get(model.name) ?? []);
    if (snapshot.evaluation) this.evaluator.restore(snapshot.evaluation);
    for (const [user, list] of snapshot.lists) this.currentLists.set(user, list);
  }
}
