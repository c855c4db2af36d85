/**
 * Building the recommender core from settings, and from a state directory. The settings bound
 * to a state (`BoundConfig`) are the ones that shape parameters; list length is not one of them.
 */
import { Catalog } from '../src/catalog.js';
import { scaleByName, type RatingScale } from '../src/events/scale.js';
import { isRankingModel } from '../src/models/model.js';
import { boundSettings, createModels, DEFAULT_RANKING_SHARE, type ModelSettings } from '../src/models/registry.js';
import { Recommender } from '../src/recommender.js';
import { StateStore } from '../state/store.js';
import { StateError } from '../state/errors.js';
import { loadSideFeatures } from './side-features.js';

export interface BoundConfig extends ModelSettings {
  readonly scale: string;
  readonly rankModel: string;
}

/** How the core serves, not what it learns (so not bound to the state). */
export interface ServingOptions {
  /** A clock (ms): when given, the recommender times each model's learning. */
  readonly clock?: () => number;
  /** Background list refreshes per applied event (RecommenderOptions.backgroundRefresh). */
  readonly backgroundRefresh?: number;
}

export function assembleRecommender(config: BoundConfig, k: number, serving: ServingOptions = {}): Recommender {
  const scale = scaleByName(config.scale);
  const catalog = new Catalog();
  const models = createModels(config, scale, catalog.features);
  const ranker = models.find((model) => model.name === config.rankModel);
  if (!ranker || !isRankingModel(ranker)) {
    const rankers = models.filter(isRankingModel).map((m) => m.name);
    throw new Error(`rank model '${config.rankModel}' must be one of the running models that can rank: ${rankers.join(', ')}`);
  }
  return new Recommender(models, ranker, {
    scale,
    k,
    relevanceThreshold: relevanceThreshold(scale),
    rankingShare: config.rankingShare ?? DEFAULT_RANKING_SHARE,
    clock: serving.clock,
    backgroundRefresh: serving.backgroundRefresh,
    catalog,
  });
}

/** The rating from which an event counts as a pick in the ranking figures: one star below the top (4 on either scale). */
export function relevanceThreshold(scale: RatingScale): number {
  return scale.max - 1;
}

/** The recommender for a stream: bound to `streamId` and `config` in the store, and restored from it. */
export function resumeRecommender(store: StateStore, streamId: string, config: BoundConfig, k: number, serving: ServingOptions = {}): Recommender {
  const recommender = assembleRecommender(config, k, serving);
  store.bind(streamId, boundSettings(config));
  return restored(recommender, store);
}

/** The recommender as the state directory holds it (for serving lists without a stream). */
export function loadRecommender(store: StateStore, k: number): Recommender {
  const config = store.boundConfig() as BoundConfig | undefined;
  if (!config) throw new StateError(`the state in '${store.dir}' is empty: run 'rxrec replay' or 'rxrec serve' with --state ${store.dir} first`);
  return restored(assembleRecommender(config, k), store);
}

function restored(recommender: Recommender, store: StateStore): Recommender {
  // Side features first: a model may read them as it restores.
  loadSideFeatures(store, recommender.catalog.features);
  recommender.restore(store.snapshot(recommender.models.map((model) => model.name)));
  return recommender;
}

/** Open the state directory read-only, load the recommender from it, use it, and close the state again. */
export async function withStoredRecommender<T>(stateDir: string, k: number, use: (recommender: Recommender, store: StateStore) => T | Promise<T>): Promise<T> {
  const store = StateStore.open(stateDir, { readOnly: true });
  try {
    return await use(loadRecommender(store, k), store);
  } finally {
    await store.close();
  }
}
