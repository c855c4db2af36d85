/** The flags that choose and shape the models, shared by `replay` and `serve`. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  AVAILABLE_MODELS,
  DEFAULT_MODEL_SETTINGS,
  DEFAULT_RANK_MODEL,
  parseModelNames,
  RANKING_MODELS,
  type ModelSettings,
} from '../../src/models/registry.js';
import { BACKEND_CHOICES, checkTwoTowerOptions, TWO_TOWER_DEFAULTS, type TwoTowerOptions } from '../../src/models/two-tower/options.js';
import { DEFAULT_BACKGROUND_REFRESH } from '../../src/recommender.js';
import { UsageError } from './errors.js';
import { halfLife, integer, nonNegativeNumber, positiveInteger, positiveNumber, share } from './options.js';

export interface ModelFlags {
  models: string;
  rankModel?: string;
  factors: number;
  neighbours: number;
  historyCap: number;
  popularityHalfLife: number;
  window: number;
  implicitRank: number;
  implicitAlpha: number;
  softImputeRank: number;
  softImputeLambda: number;
  hardImputeRank: number;
  rankingShare: number;
  twoTower: Partial<TwoTowerOptions>;
  seed: number;
  /** Not a model setting (not bound to the state): how many untouched lists are recomputed. */
  backgroundRefresh: number;
}

export function addModelOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--models <list>', `comma-separated models to run, of ${AVAILABLE_MODELS.join(', ')}`).default(DEFAULT_MODEL_SETTINGS.models.join(',')),
    )
    .addOption(
      new Option(
        '--rank-model <name>',
        `model whose scores make the published lists (default: ${DEFAULT_RANK_MODEL} when it runs, else the first of --models that ranks)`,
      ),
    )
    .addOption(new Option('--factors <n>', 'latent factors of the mf model').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.factors))
    .addOption(
      new Option('--neighbours <n>', 'neighbours per knn-item / knn-user prediction').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.neighbours),
    )
    .addOption(
      new Option('--history-cap <n>', "similarity: a new rating is paired with the user's (item's) most recent H ratings")
        .argParser(positiveInteger)
        .default(DEFAULT_MODEL_SETTINGS.historyCap),
    )
    .addOption(
      new Option('--popularity-half-life <events>', "popularity: half-life of a pick's weight in events ('Infinity' for all-time counts)")
        .argParser(halfLife)
        .default(DEFAULT_MODEL_SETTINGS.popularityHalfLife),
    )
    .addOption(
      new Option('--window <picks>', "cooccurrence: a pick is linked to the user's W previous picks")
        .argParser(positiveInteger)
        .default(DEFAULT_MODEL_SETTINGS.cooccurrenceWindow),
    )
    .addOption(new Option('--implicit-rank <r>', 'implicit-als: factor columns').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.implicitRank))
    .addOption(
      new Option('--implicit-alpha <α>', 'implicit-als: confidence of a pick over an unpicked cell, c = 1 + α')
        .argParser(nonNegativeNumber)
        .default(DEFAULT_MODEL_SETTINGS.implicitAlpha),
    )
    .addOption(new Option('--soft-impute-rank <r>', 'impute-soft: rank cap').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.softImputeRank))
    .addOption(
      new Option('--soft-impute-lambda <λ>', 'impute-soft: shrinkage λ > 0 (the ridge of every row solve)')
        .argParser(positiveNumber)
        .default(DEFAULT_MODEL_SETTINGS.softImputeLambda),
    )
    .addOption(new Option('--hard-impute-rank <r>', 'impute-hard: its fixed rank').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.hardImputeRank))
    .addOption(
      new Option(
        '--ranking-share <share>',
        "share of the events on which every ranking model's fresh list is computed: the relevant ones are scored, and the ensemble's ranker learns from all; 1: every event",
      )
        .argParser(share)
        .default(DEFAULT_MODEL_SETTINGS.rankingShare),
    )
    .addOption(
      new Option(
        '--two-tower <key=value,…>',
        `two-tower settings, e.g. trainIn=inline,backend=wasm,embedding=32 (keys: ${Object.keys(TWO_TOWER_DEFAULTS).join(', ')})`,
      )
        .argParser(twoTowerSettings)
        .default({}, "the seeds' sizes, worker training, backend auto"),
    )
    .addOption(new Option('--seed <n>', "seed of every model's initialisation").argParser(integer).default(DEFAULT_MODEL_SETTINGS.seed))
    .addOption(
      new Option(
        '--background-refresh <lists/event>',
        'lists of users a batch did not touch recomputed per event, oldest first (item parameters drift under them); changed ones are published; 0: off',
      )
        .argParser(nonNegativeNumber)
        .default(DEFAULT_BACKGROUND_REFRESH),
    );
}

export function modelSettingsFrom(flags: ModelFlags): ModelSettings {
  try {
    return {
      models: parseModelNames(flags.models),
      seed: flags.seed,
      factors: flags.factors,
      neighbours: flags.neighbours,
      historyCap: flags.historyCap,
      popularityHalfLife: flags.popularityHalfLife,
      cooccurrenceWindow: flags.window,
      implicitRank: flags.implicitRank,
      implicitAlpha: flags.implicitAlpha,
      softImputeRank: flags.softImputeRank,
      softImputeLambda: flags.softImputeLambda,
      hardImputeRank: flags.hardImputeRank,
      rankingShare: flags.rankingShare,
      twoTower: checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, ...flags.twoTower }),
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** --rank-model, or the ensemble when it runs, or the first model given that can rank. */
export function rankModelFrom(flags: ModelFlags, settings: ModelSettings): string {
  if (flags.rankModel !== undefined) {
    const rankers = settings.models.filter((name) => RANKING_MODELS.includes(name));
    if (!(rankers as readonly string[]).includes(flags.rankModel)) {
      throw new UsageError(`--rank-model '${flags.rankModel}' must be one of the running models that can rank: ${rankers.join(', ') || '(none in --models)'}`);
    }
    return flags.rankModel;
  }
  if (settings.models.includes(DEFAULT_RANK_MODEL)) return DEFAULT_RANK_MODEL;
  return settings.models.find((name) => RANKING_MODELS.includes(name)) ?? DEFAULT_RANK_MODEL;
}

/** `key=value,…` into two-tower settings: numbers for the numeric keys, names for trainIn and backend. */
function twoTowerSettings(value: string, previous: Partial<TwoTowerOptions>): Partial<TwoTowerOptions> {
  const settings: Record<string, number | string> = { ...previous };
  for (const pair of value.split(',').filter((part) => part.trim().length > 0)) {
    const [key, raw] = pair.split('=').map((part) => part.trim());
    if (!key || raw === undefined || !(key in TWO_TOWER_DEFAULTS)) {
      throw new InvalidArgumentError(`'${pair}' is not key=value with a key of ${Object.keys(TWO_TOWER_DEFAULTS).join(', ')}`);
    }
    if (key === 'trainIn' && raw !== 'worker' && raw !== 'inline') throw new InvalidArgumentError(`trainIn must be worker or inline, got '${raw}'`);
    if (key === 'backend' && !(BACKEND_CHOICES as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError(`backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${raw}'`);
    }
    const numeric = typeof TWO_TOWER_DEFAULTS[key as keyof TwoTowerOptions] === 'number';
    if (numeric && !Number.isFinite(Number(raw))) throw new InvalidArgumentError(`${key} must be a number, got '${raw}'`);
    settings[key] = numeric ? Number(raw) : raw;
  }
  return settings as Partial<TwoTowerOptions>;
}
