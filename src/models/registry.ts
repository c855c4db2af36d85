/**
 * Models by name, as used alike in CLI flags, JSON output and metric labels. The settings that
 * shape a model's parameters are recorded with the state, so a state directory is never loaded
 * into differently shaped models.
 */
import type { RatingScale } from '../events/scale.js';
import { Baseline, BASELINE_DEFAULTS } from './baseline.js';
import { KnnBaseline, KNN_BASELINE_DEFAULTS } from './knn-baseline.js';
import { BiasedMF, MF_DEFAULTS } from './mf.js';
import { SIMILARITY_DEFAULTS } from '../similarity/similarity-index.js';
import type { OnlineModel } from './model.js';

export const AVAILABLE_MODELS = ['baseline', 'mf', 'knn-item', 'knn-user'] as const;
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
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = {
  models: ['baseline', 'mf', 'knn-item'],
  seed: 42,
  factors: MF_DEFAULTS.factors,
  neighbours: KNN_BASELINE_DEFAULTS.k,
  historyCap: SIMILARITY_DEFAULTS.historyCap,
};

export function parseModelNames(list: string): AvailableModel[] {
  const names = list.split(',').map((name) => name.trim()).filter((name) => name.length > 0);
  if (names.length === 0) throw new Error('--models needs at least one model name');
  for (const name of names) {
    if (!(AVAILABLE_MODELS as readonly string[]).includes(name)) {
      throw new Error(`unknown model '${name}': available models are ${AVAILABLE_MODELS.join(', ')}`);
    }
  }
  return [...new Set(names)] as AvailableModel[];
}

export function createModels(settings: ModelSettings, scale: RatingScale): OnlineModel[] {
  const context = { scale, seed: settings.seed };
  return settings.models.map((name) => {
    switch (name) {
      case 'baseline':
        return new Baseline(context, BASELINE_DEFAULTS);
      case 'mf':
        return new BiasedMF(context, { factors: settings.factors });
      case 'knn-item':
      case 'knn-user':
        return new KnnBaseline(context, {
          kind: name === 'knn-item' ? 'item' : 'user',
          k: settings.neighbours,
          similarity: { historyCap: settings.historyCap },
        });
    }
  });
}
