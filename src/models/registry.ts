/**
 * Models by name, as used alike in CLI flags, JSON output and metric labels. The settings that
 * shape a model's parameters are recorded with the state, so a state directory is never loaded
 * into differently shaped models.
 */
import type { RatingScale } from '../events/scale.js';
import { Baseline, BASELINE_DEFAULTS } from './baseline.js';
import { BiasedMF, MF_DEFAULTS } from './mf.js';
import type { OnlineModel } from './model.js';

export const AVAILABLE_MODELS = ['baseline', 'mf'] as const;
export type AvailableModel = (typeof AVAILABLE_MODELS)[number];

export interface ModelSettings {
  readonly models: readonly AvailableModel[];
  readonly seed: number;
  readonly factors: number;
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = { models: ['baseline', 'mf'], seed: 42, factors: MF_DEFAULTS.factors };

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
    }
  });
}
