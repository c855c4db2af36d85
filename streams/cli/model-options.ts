/** The flags that choose and shape the models, shared by `replay` and `serve`. */
import { Option, type Command } from 'commander';
import { AVAILABLE_MODELS, DEFAULT_MODEL_SETTINGS, parseModelNames, type ModelSettings } from '../../src/models/registry.js';
import { UsageError } from './errors.js';
import { integer, positiveInteger } from './options.js';

export interface ModelFlags {
  models: string;
  rankModel: string;
  factors: number;
  neighbours: number;
  historyCap: number;
  seed: number;
}

export function addModelOptions(command: Command): Command {
  return command
    .addOption(new Option('--models <list>', `comma-separated models to run, of ${AVAILABLE_MODELS.join(', ')}`).default(DEFAULT_MODEL_SETTINGS.models.join(',')))
    .addOption(new Option('--rank-model <name>', 'model whose scores make the lists').default('mf'))
    .addOption(new Option('--factors <n>', 'latent factors of the mf model').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.factors))
    .addOption(new Option('--neighbours <n>', 'neighbours per knn-item / knn-user prediction').argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.neighbours))
    .addOption(new Option('--history-cap <n>', "similarity: a new rating is paired with the user's (item's) most recent H ratings").argParser(positiveInteger).default(DEFAULT_MODEL_SETTINGS.historyCap))
    .addOption(new Option('--seed <n>', "seed of every model's initialisation").argParser(integer).default(DEFAULT_MODEL_SETTINGS.seed));
}

export function modelSettingsFrom(flags: ModelFlags): ModelSettings {
  try {
    return { models: parseModelNames(flags.models), seed: flags.seed, factors: flags.factors, neighbours: flags.neighbours, historyCap: flags.historyCap };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
