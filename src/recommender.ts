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
import { eventShare } from './models/event-share.js';
import {
  isRankingModel,
  isRatingModel,
  itemNeighboursOf,
  type Explanation,
  type IndexedRating,
  type ItemNeighbours,
  type OnlineModel,
  type RankingModel,
  type RatingModel,
  type StateValue,
  type TrainingStatus,
} from './models/model.js';
import { learningOrder } from './models/learning-order.js';
import { rankInTopK, topK, type ScoredIndex } from './ranking/top-k.js';

export interface RecommenderOptions {
  readonly scale: RatingScale;
  /** Length of each published list. */
  readonly k: number;
  /** Ratings at or above this count as relevant for hit@k / NDCG@k (4 on the 1–5 scale). */
  readonly relevanceThreshold: number;
  /**
   * Share of the relevant events on which every ranking model's fresh list is scored before the
   * event is learned (prequential hit@k per model); 1 scores every relevant event.
   */
  readonly rankingShare: number;
  /** A clock in milliseconds; when given, each model's learning time is summed (`learningSeconds`). */
  readonly clock?: () => number;
  /** The catalogue the models were given the side features of (a new one when none). */
  readonly catalog?: Catalog;
  /**
   * Lists of users a batch did not touch recomputed per applied event, oldest first (items'
   * parameters drift under them); 0 turns the background refresh off. Default 0.05.
   */
  readonly backgroundRefresh?: number;
}

/** Background list refreshes per applied event: at 1,000 events/s, 50 lists/s, about 5 % over the touched users' own refreshes at most. */
export const DEFAULT_BACKGROUND_REFRESH = 0.05;

/** A list entry: the item, its score and what put it there. */
export interface ListEntry extends ScoredIndex {
  readonly why: Explanation;
}

/** The list for a user with no ratings, and the model that made it. */
export interface NewcomerList {
  readonly model: RankingModel;
  readonly items: ListEntry[];
  /** Placed from the user's side features (else it is the cold-start list). */
  readonly fromFeatures: boolean;
}

/** A refreshed list: item indices with their scores, best first. */
export interface UserList {
  readonly user: number;
  readonly items: readonly ListEntry[];
  /** ts of the user's newest event in the batch; undefined for a background refresh (the user had none). */
  readonly eventTs?: number;
}

/** A user the batch touched, whose list is due. */
export interface TouchedUser {
  readonly user: number;
  /** ts of their newest event in the batch. */
  readonly eventTs: number;
}

/** A list to recompute after a batch: a touched user's (`event`), or an untouched one's (`background`, no eventTs). */
export interface DueList {
  readonly user: number;
  readonly eventTs?: number;
  readonly trigger: 'event' | 'background';
}

/** Everything one batch changed, in the form the state store writes. */
export interface StateDelta {
  readonly users: Array<[number, string]>;
  readonly items: Array<[number, string]>;
  readonly history: Array<[number, number]>;
  /** A null value deletes the key. */
  readonly models: Array<[model: string, key: string, value: StateValue | null]>;
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
  readonly catalog: Catalog;
  readonly histories = new UserHistories();
  readonly evaluator: PrequentialEvaluator;
  /** Each user's current list (item indices, best first): what a hit@k is checked against. */
  private readonly currentLists = new Map<number, Int32Array>();
  private changedLists = new Set<number>();
  /**
   * When each user's list was last recomputed (published, or found unchanged), in applied
   * events, least recent first (a refresh moves its user to the end); lists restored from the
   * store count from the restore. The entries are what was computed, for serving.
   */
  private readonly refreshed = new Map<number, { readonly atEvent: number; readonly entries?: ListEntry[] }>();
  private appliedEvents = 0;
  private refreshCredit = 0;
  private scores = new Float64Array(1024);
  /** Item-item neighbour lists of the first model that keeps them (knn-item): the similar-items lists. */
  readonly itemSimilarity: ItemNeighbours | undefined;
  private readonly raters: readonly RatingModel[];
  private readonly rankers: readonly RankingModel[];
  private readonly perEvent: readonly OnlineModel[];
  private readonly perBatch: readonly OnlineModel[];
  private readonly rankersInputsFirst: readonly RankingModel[];
  /** Whose list a user never seen gets. */
  private readonly coldStarter: RankingModel;
  private readonly rankingBuffers = new Map<OnlineModel, Float64Array>();
  private readonly learningMs = new Map<OnlineModel, number>();
  /**
   * Items 0..learnedItems-1 have been learned. A batch's ids are interned before it is applied,
   * so items later in the batch already have indices: they must not be ranked before their
   * first event (that would make lists depend on where batch boundaries fall).
   */
  private learnedItems = 0;

  constructor(
    readonly models: readonly OnlineModel[],
    readonly ranker: RankingModel,
    readonly options: RecommenderOptions,
  ) {
    this.catalog = options.catalog ?? new Catalog();
    if (!models.includes(ranker)) throw new Error(`the ranking model '${ranker.name}' must be one of the pipeline's models`);
    if (!(options.rankingShare >= 0 && options.rankingShare <= 1))
      throw new RangeError(`the ranking sample share must be in [0, 1], got ${options.rankingShare}`);
    this.itemSimilarity = models.map(itemNeighboursOf).find((lists) => lists !== undefined);
    this.raters = models.filter(isRatingModel);
    this.rankers = models.filter(isRankingModel);
    this.coldStarter = this.rankers.find((m) => m.servesColdStart) ?? ranker;
    const ordered = learningOrder(models);
    // Inputs before the models that read them, and the cold-start model (a plain input) before
    // the serving model, whose newcomers are scored on its list.
    const inputsFirst = [...ordered].reverse().filter(isRankingModel);
    this.rankersInputsFirst = this.coldStarter.inputs ? inputsFirst : [this.coldStarter, ...inputsFirst.filter((m) => m !== this.coldStarter)];
    this.perEvent = ordered.filter((m) => m.learning === 'per-event');
    this.perBatch = ordered.filter((m) => m.learning === 'per-batch');
    this.evaluator = new PrequentialEvaluator(
      this.raters.map((m) => m.name),
      this.rankers.map((m) => m.name),
      options.k,
      options.relevanceThreshold,
    );
  }

  /** Start the models that train in the background (after `restore`, before the first batch). */
  async start(): Promise<void> {
    for (const model of this.models) await model.start?.();
  }

  /** Let the background learners catch up with every event applied (batch protocols test after this). */
  async flush(): Promise<void> {
    for (const model of this.models) await model.flush?.();
  }

  /** Stop the background learners. */
  async close(): Promise<void> {
    for (const model of this.models) await model.close?.();
  }

  /** Where each background learner stands, by model name. */
  trainingStatus(): Record<string, TrainingStatus> {
    const status: Record<string, TrainingStatus> = {};
    for (const model of this.models) {
      const training = model.training?.();
      if (training) status[model.name] = training;
    }
    return status;
  }

  /** The model whose order users never seen get. */
  get coldStartModel(): RankingModel {
    return this.coldStarter;
  }

  /** Items other workers of the group learned (their shared parameters were added in) are ranked too: the catalogue's first `count`. */
  learnedElsewhere(count: number): void {
    this.learnedItems = Math.max(this.learnedItems, Math.min(count, this.catalog.items.size));
  }

  /** The models that predict ratings (the RMSE/MAE table). */
  get ratingModels(): readonly RatingModel[] {
    return this.raters;
  }

  /** The models that rank (a fresh list of each is scored prequentially). */
  get rankingModels(): readonly RankingModel[] {
    return this.rankers;
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
   * Test, then train. Event by event: every rating model predicts the event, ranking models'
   * fresh lists are checked for it (on the sampled share), then the per-event learners learn
   * it, a model learning before the models it reads. Then the per-batch learners learn the
   * whole batch, each of whose events they predicted before. Then the lists of the users the
   * batch touched are refreshed (the published lists). Per-event interleaving keeps the
   * per-event learners' figures independent of where batch boundaries fall.
   */
  applyBatch(batch: readonly IndexedRating[]): UserList[] {
    const lists: UserList[] = [];
    for (const { user, eventTs } of this.listsDue(batch.length, this.learnBatch(batch))) {
      const items = this.refresh(user);
      if (items) lists.push({ user, items, eventTs });
    }
    return lists;
  }

  /**
   * Test, then train, without refreshing any list: `applyBatch` is this, then `refresh` for
   * each of `listsDue`. The pipeline calls the parts itself to yield to the event loop between
   * lists.
   */
  learnBatch(batch: readonly IndexedRating[]): TouchedUser[] {
    const single: IndexedRating[] = [];
    const newestTs = new Map<number, number>();
    for (const event of batch) {
      this.evaluate(event);
      single[0] = event;
      for (const model of this.perEvent) this.learn(model, single);
      this.histories.add(event.user, event.item);
      this.learnedItems = Math.max(this.learnedItems, event.item + 1);
      newestTs.set(event.user, Math.max(event.ts, newestTs.get(event.user) ?? -Infinity));
    }
    for (const model of this.perBatch) this.learn(model, batch);
    this.appliedEvents += batch.length;
    return [...newestTs].map(([user, eventTs]) => ({ user, eventTs }));
  }

  /**
   * The lists to recompute after a batch of `events` events that touched `touched`: the touched
   * users', then the background refresh's (below).
   */
  listsDue(events: number, touched: readonly TouchedUser[], owns?: (user: number) => boolean): DueList[] {
    return [
      ...touched.map(({ user, eventTs }) => ({ user, eventTs, trigger: 'event' as const })),
      ...this.dueForBackgroundRefresh(events, touched, owns).map((user) => ({ user, trigger: 'background' as const })),
    ];
  }

  /**
   * The users, least recently refreshed first, whose lists the background refresh recomputes:
   * `backgroundRefresh` lists per event (credit carries over between batches), never a touched
   * user, and only users `owns` says are this worker's (scaled out, another worker's users get
   * their lists from it).
   */
  private dueForBackgroundRefresh(events: number, touched: readonly TouchedUser[], owns?: (user: number) => boolean): number[] {
    this.refreshCredit += events * (this.options.backgroundRefresh ?? DEFAULT_BACKGROUND_REFRESH);
    const budget = Math.floor(this.refreshCredit);
    if (budget === 0) return [];
    this.refreshCredit -= budget;
    const skip = new Set(touched.map((t) => t.user));
    const due: number[] = [];
    for (const user of this.refreshed.keys()) {
      if (due.length === budget) break;
      if (!skip.has(user) && (owns?.(user) ?? true)) due.push(user);
    }
    return due;
  }

  /** The oldest current list's age in applied events (0 when there is none), and how many lists there are. */
  listAges(): { readonly oldestEvents: number; readonly oldestAtEvent: number | undefined; readonly lists: number } {
    const oldest = this.refreshed.values().next();
    const atEvent = oldest.done ? undefined : oldest.value.atEvent;
    return { oldestEvents: atEvent === undefined ? 0 : this.appliedEvents - atEvent, oldestAtEvent: atEvent, lists: this.refreshed.size };
  }

  /** Events applied in this process (the clock list ages are counted in). */
  get eventsApplied(): number {
    return this.appliedEvents;
  }

  private learn(model: OnlineModel, events: readonly IndexedRating[]): void {
    const { clock } = this.options;
    if (!clock) return model.learn(events);
    const started = clock();
    model.learn(events);
    this.learningMs.set(model, (this.learningMs.get(model) ?? 0) + clock() - started);
  }

  /** Seconds each model has spent learning in this process, by name (only with a clock). */
  get learningSeconds(): Record<string, number> {
    return Object.fromEntries(this.models.map((model) => [model.name, (this.learningMs.get(model) ?? 0) / 1000]));
  }

  private evaluate({ user, item, rating }: IndexedRating): void {
    for (const model of this.raters) this.evaluator.recordPrediction(model.name, model.predict(user, item), rating);
    const relevant = this.evaluator.isRelevant(rating);
    if (relevant) {
      const published = this.currentLists.get(user);
      this.evaluator.recordPublished(published ? published.indexOf(item) + 1 : 0);
    }
    // Sampled events of any rating get fresh lists: a learned ranker learns from every pick.
    if (eventShare(user, item) >= this.options.rankingShare) return;
    const seen = this.histories.itemsOf(user);
    const itemCount = this.learnedItems;
    const computed = new Map<OnlineModel, Float64Array>();
    // Inputs before the models that read them, which are handed the inputs' scores.
    for (const model of this.rankersInputsFirst) {
      const scores = this.buffer(model, itemCount);
      model.scoreAll(user, itemCount, scores, seen, computed);
      computed.set(model, scores);
      if (!relevant) continue;
      // What the user would be served: a user with no history yet gets the cold-start list.
      const served = model === this.ranker && seen.size === 0 ? (computed.get(this.coldStarter) ?? scores) : scores;
      this.evaluator.recordRanking(
        model.name,
        rankInTopK(served, itemCount, this.options.k, item, (candidate) => seen.has(candidate)),
      );
    }
  }

  /** A scores array of its own for each ranking model, so that one model's scores can feed another's. */
  private buffer(model: OnlineModel, itemCount: number): Float64Array {
    let scores = this.rankingBuffers.get(model);
    if (!scores || scores.length < itemCount) {
      scores = new Float64Array(Math.max(itemCount, 2 * (scores?.length ?? 512)));
      this.rankingBuffers.set(model, scores);
    }
    return scores;
  }

  /**
   * Recompute `user`'s top-k from the ranking model, leaving out what they have rated. Returns
   * the list when it changed (it becomes their current list, to publish), else undefined: an
   * unchanged order is not published again, though its fresh scores are what is served.
   */
  refresh(user: number): ListEntry[] | undefined {
    const items = this.rankFor(user);
    this.refreshed.delete(user);
    this.refreshed.set(user, { atEvent: this.appliedEvents, entries: items });
    // No list yet counts as an empty one: an empty first list has nothing to publish.
    const current = this.currentLists.get(user) ?? NO_LIST;
    if (current.length === items.length && items.every((entry, i) => entry.index === current[i])) return undefined;
    this.currentLists.set(
      user,
      Int32Array.from(items, (s) => s.index),
    );
    this.changedLists.add(user);
    return items;
  }

  /** A known user's list as last refreshed (computed now if it was restored and not refreshed since). */
  servedEntries(user: number): ListEntry[] {
    const kept = this.refreshed.get(user);
    if (kept?.entries) return kept.entries;
    const entries = this.rankFor(user);
    this.refreshed.set(user, { atEvent: kept?.atEvent ?? this.appliedEvents, entries });
    return entries;
  }

  /** A known user's top `k` now, with what put each item there, without changing their current list. */
  rankFor(user: number, k = this.options.k): ListEntry[] {
    return this.explained(user, this.rank(this.ranker, user, k, this.histories.itemsOf(user)));
  }

  /** `model`'s top `k` for `user` now (a user index not yet known gets its cold-start order), leaving out what they rated. */
  listOf(model: RankingModel, user: number, k = this.options.k): ScoredIndex[] {
    return this.rank(model, user, k, this.histories.itemsOf(user));
  }

  /** The list for a user never seen: the cold-start model's order (popularity when it runs), else the ranking model's. */
  coldStartList(k = this.options.k): ListEntry[] {
    const user = this.catalog.users.size;
    return this.explained(user, this.rank(this.coldStarter, user, k, NOTHING_SEEN), this.coldStarter);
  }

  /**
   * The list for a user id with no ratings (unknown, or known with an empty history): placed
   * from their side features by the first ranking model that can place newcomers, else the
   * cold-start list. Like that list, it leaves out nothing and ranks the learned items.
   */
  newcomerList(userId: string, k = this.options.k): NewcomerList {
    const features = this.catalog.features.userById(userId);
    const placer = features && this.rankers.find((model) => model.scoreNewcomer !== undefined);
    if (!features || !placer?.scoreNewcomer) return { model: this.coldStarter, items: this.coldStartList(k), fromFeatures: false };
    const itemCount = this.learnedItems;
    if (this.scores.length < itemCount) this.scores = new Float64Array(Math.max(itemCount, this.scores.length * 2));
    placer.scoreNewcomer(features, itemCount, this.scores);
    const why = { reason: `fits people like you (${placer.name}, side features)` };
    const items = topK(this.scores, itemCount, k, () => false).map((entry) => ({ ...entry, why }));
    return { model: placer, items, fromFeatures: true };
  }

  private explained(user: number, items: ScoredIndex[], model: RankingModel = this.ranker): ListEntry[] {
    return items.map((entry) => ({
      ...entry,
      why: model.explain?.(user, entry.index) ?? { reason: `${model.name} scores it ${entry.score.toFixed(2)}` },
    }));
  }

  private rank(model: RankingModel, user: number, k: number, seen: ReadonlySet<number>): ScoredIndex[] {
    const itemCount = this.learnedItems;
    if (this.scores.length < itemCount) this.scores = new Float64Array(Math.max(itemCount, this.scores.length * 2));
    model.scoreAll(user, itemCount, this.scores, seen);
    return topK(this.scores, itemCount, k, (item) => seen.has(item));
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

  private similarItemsAt(similarity: ItemNeighbours, item: number, k: number): SimilarItemsList {
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
    this.learnedItems = this.catalog.items.size;
    this.histories.restore(snapshot.history);
    for (const model of this.models) model.restore(snapshot.models.get(model.name) ?? []);
    if (snapshot.evaluation) this.evaluator.restore(snapshot.evaluation);
    for (const [user, list] of snapshot.lists) {
      this.currentLists.set(user, list);
      this.refreshed.set(user, { atEvent: this.appliedEvents });
    }
  }
}

const NOTHING_SEEN: ReadonlySet<number> = new Set();
const NO_LIST = new Int32Array(0);
