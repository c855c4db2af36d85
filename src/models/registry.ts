/**
 * Models by name, as used alike in CLI flags, JSON output and metric labels. The settings that
 * shape a model's parameters are recorded with the state, so a state directory is never loaded
 * into differently shaped models.
 */
import type { RatingScale } from '../events/scale.js';
import { Baseline, BASELINE_DEFAULTS } from './baseline.js';
import { ItemKnnBaseline, KnnBaseline, KNN_BASELINE_DEFAULTS } from './knn-baseline.js';
import { BiasedMF, MF_DEFAULTS } from './mf.js';
import { CoOccurrence, COOCCURRENCE_DEFAULTS } from './cooccurrence.js';
import { Ensemble } from './ensemble.js';
import { ImputeFactors, IMPUTE_DEFAULTS } from './impute.js';
import { ImplicitAls, IMPLICIT_ALS_DEFAULTS } from './implicit-als.js';
import { Popularity, POPULARITY_DEFAULTS } from './popularity.js';
import { TwoTower } from './two-tower/two-tower.js';
import { TWO_TOWER_DEFAULTS, type TwoTowerOptions } from './two-tower/options.js';
import { SIMILARITY_DEFAULTS } from '../similarity/similarity-index.js';
import type { ModelContext, OnlineModel } from './model.js';
import type { FeatureLookup } from '../side-features.js';

export const AVAILABLE_MODELS = [
  'baseline',
  'mf',
  'knn-item',
  'knn-user',
  'impute-soft',
  'impute-hard',
  'popularity',
  'cooccurrence',
  'implicit-als',
  'two-tower',
  'ensemble',
] as const;
export type AvailableModel = (typeof AVAILABLE_MODELS)[number];

export interface ModelSettings {
  readonly models: readonly AvailableModel[];
  readonly seed: number;
  /** MF latent factors. */
  readonly factors: number;
  /** Neighbours per KNN prediction. */
  readonly neighbours: number;
  /** Most recent ratings of a user (of an item, user-based) a new rating is paired with: H. */
  readonly historyCap: number;
  /** Popularity's half-life in events (Infinity: all-time counts). */
  readonly popularityHalfLife: number;
  /** Co-occurrence: a pick is linked to the user's W previous picks. */
  readonly cooccurrenceWindow: number;
  /** Implicit ALS: factor columns r and the confidence α of a pick. */
  readonly implicitRank: number;
  readonly implicitAlpha: number;
  /** impute-soft: rank cap and shrinkage λ; impute-hard: its fixed rank. */
  readonly softImputeRank: number;
  readonly softImputeLambda: number;
  readonly hardImputeRank: number;
  /** two-tower: tower sizes, steps, reservoir, where it trains and on which tfjs backend. */
  readonly twoTower: TwoTowerOptions;
  /**
   * Share of the events on which every ranking model's fresh list is computed before the event
   * is learned: the relevant ones are scored (prequential hit@k), and the ensemble's ranker
   * learns from all of them. It shapes the ensemble.
   */
  readonly rankingShare: number;
}

/**
 * A tenth of the events: about 5,500 relevant events ranked at ML-100K size, a standard error
 * of about ±0.0045 on hit@10 (README), at half the cost of a fifth with no loss in what the
 * ensemble learns (measured: hit@10 0.131 at 0.1, 0.130 at 0.2).
 */
export const DEFAULT_RANKING_SHARE = 0.1;

/**
 * What runs by default: the rating models, popularity, implicit ALS (the implicit model, chosen
 * by measurement over co-occurrence: prequential hit@10 0.150 against 0.126, offline P@10 0.399
 * against 0.311 on the synthetic set) and the ensemble over them (the serving model).
 * cooccurrence is opt-in (with both, the ensemble gained 0.002 of hit@10 at 1.3× the cost), so
 * are the impute models and knn-item, whose exact similarity statistics cost about as much per
 * event as all of the defaults together (README: Speed).
 */
export const DEFAULT_MODEL_SETTINGS: ModelSettings = {
  models: ['baseline', 'mf', 'popularity', 'implicit-als', 'ensemble'],
  seed: 42,
  factors: MF_DEFAULTS.factors,
  neighbours: KNN_BASELINE_DEFAULTS.k,
  historyCap: SIMILARITY_DEFAULTS.historyCap,
  popularityHalfLife: POPULARITY_DEFAULTS.halfLife,
  cooccurrenceWindow: COOCCURRENCE_DEFAULTS.window,
  implicitRank: IMPLICIT_ALS_DEFAULTS.rank,
  implicitAlpha: IMPLICIT_ALS_DEFAULTS.alpha,
  softImputeRank: IMPUTE_DEFAULTS.soft.rank,
  softImputeLambda: IMPUTE_DEFAULTS.soft.lambda,
  hardImputeRank: IMPUTE_DEFAULTS.hard.rank,
  twoTower: TWO_TOWER_DEFAULTS,
  rankingShare: DEFAULT_RANKING_SHARE,
};

/** The models that can rank (make top-k lists), in order of preference as the serving model. */
export const RANKING_MODELS: readonly AvailableModel[] = [
  'ensemble',
  'implicit-als',
  'cooccurrence',
  'knn-item',
  'mf',
  'impute-soft',
  'impute-hard',
  'two-tower',
  'popularity',
  'baseline',
];

/** The ranking model lists are made from by default. */
export const DEFAULT_RANK_MODEL = 'ensemble';

export function parseModelNames(list: string): AvailableModel[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) throw new Error('--models needs at least one model name');
  for (const name of names) {
    if (!(AVAILABLE_MODELS as readonly string[]).includes(name)) {
      throw new Error(`unknown model '${name}': available models are ${AVAILABLE_MODELS.join(', ')}`);
    }
  }
  return [...new Set(names)] as AvailableModel[];
}

/** The models, in the order given; the ensemble reads every other one. `features` are the catalogue's side features. */
export function createModels(settings: ModelSettings, scale: RatingScale, features?: FeatureLookup): OnlineModel[] {
  const context: ModelContext = { scale, seed: settings.seed, features };
  const models = settings.models.filter((name) => name !== 'ensemble').map((name) => createModel(name, settings, context));
  if (!settings.models.includes('ensemble')) return models;
  const ensemble = new Ensemble(context, models, { trainShare: settings.rankingShare });
  return settings.models.map((name) => (name === 'ensemble' ? ensemble : models.find((model) => model.name === name)!));
}

function createModel(name: Exclude<AvailableModel, 'ensemble'>, settings: ModelSettings, context: ModelContext): OnlineModel {
  switch (name) {
    case 'baseline':
      return new Baseline(context, BASELINE_DEFAULTS);
    case 'mf':
      return new BiasedMF(context, { factors: settings.factors });
    case 'knn-item':
      return new ItemKnnBaseline(context, { k: settings.neighbours, similarity: { historyCap: settings.historyCap } });
    case 'knn-user':
      return new KnnBaseline(context, { kind: 'user', k: settings.neighbours, similarity: { historyCap: settings.historyCap } });
    case 'impute-soft':
      return new ImputeFactors(context, { variant: 'soft', rank: settings.softImputeRank, lambda: settings.softImputeLambda });
    case 'impute-hard':
      return new ImputeFactors(context, { variant: 'hard', rank: settings.hardImputeRank });
    case 'implicit-als':
      return new ImplicitAls(context, { rank: settings.implicitRank, alpha: settings.implicitAlpha });
    case 'popularity':
      return new Popularity({ halfLife: settings.popularityHalfLife });
    case 'cooccurrence':
      return new CoOccurrence({ window: settings.cooccurrenceWindow });
    case 'two-tower':
      return new TwoTower(context, settings.twoTower);
  }
}

/** Settings that do not shape parameters (where and on what a model trains): left out of the config a state is bound to. */
export function boundSettings<T extends ModelSettings>(settings: T): T {
  const { trainIn: _trainIn, backend: _backend, ...twoTower } = settings.twoTower ?? TWO_TOWER_DEFAULTS;
  return { ...settings, twoTower };
}
