/** `rxrec eval`: the offline hold-out protocols, beside the prequential figures of `rxrec replay`. */
import { Command, Option } from 'commander';
import { scaleByName } from '../../../src/events/scale.js';
import { evaluateOffline, LIST_LENGTH, PROTOCOLS, type EvalSummary, type OfflineFigures, type Protocol, type SplitSummary } from '../../eval-job.js';
import { exportEvaluation, type ExportManifest } from '../../eval-export.js';
import { resolveDataset } from '../dataset-spec.js';
import { UsageError } from '../errors.js';
import { addModelOptions, modelSettingsFrom, rankModelFrom, type ModelFlags } from '../model-options.js';
import { integer, ratingScale } from '../options.js';
import { progressView } from '../progress.js';

interface EvalFlags extends ModelFlags {
  protocol?: Protocol;
  export?: string;
  dataset: string;
  scale?: string;
  splitSeed: number;
  json?: boolean;
}

const FIGURES: Record<Protocol, ReadonlyArray<[keyof OfflineFigures, string]>> = {
  ranking: [
    ['precisionAt10', `P@${LIST_LENGTH}`],
    ['recallAt10', `R@${LIST_LENGTH}`],
    ['ndcgAt10', `NDCG@${LIST_LENGTH}`],
  ],
  seeds: [
    ['rmse', 'RMSE'],
    ['mae', 'MAE'],
  ],
};

export function evalCommand(): Command {
  return addModelOptions(new Command('eval'))
    .description(
      "offline hold-out evaluation: split each user's ratings at random, train by replaying the training part in timestamp order, score the rest. " +
        "'ranking': 75/25, precision, recall and NDCG at 10 of every ranking model over all items the user has not rated in training. " +
        "'seeds': 80/20 (users with fewer than 5 ratings wholly in training), RMSE and MAE of every rating model, predictions clipped to the scale (the seed studies' protocol). " +
        'With impute-soft or impute-hard running, seeds also fits batch Soft-Impute or Hard-Impute (softImpute-ALS) on the training part: rows impute-soft-batch, impute-hard-batch. ' +
        "A model's seconds are its own learning (or batch fitting) time plus its scoring time. Nothing is written: no state directory. " +
        'With --export DIR, nothing is evaluated: both splits and the replay order are written there as TSV files with a manifest.json, for other toolkits to run on.',
    )
    .addOption(new Option('--protocol <name>', 'which hold-out protocol').choices(PROTOCOLS).conflicts('export'))
    .addOption(
      new Option(
        '--export <dir>',
        'write the seeds and ranking splits (<protocol>.train.tsv, <protocol>.test.tsv), the replay order (stream.tsv) and manifest.json into this folder, and evaluate nothing',
      ),
    )
    .addOption(new Option('--dataset <dir|synthetic>', "a MovieLens directory, or 'synthetic' for the generated ML-100K-shaped set").default('synthetic'))
    .addOption(new Option('--scale <scale>', "rating scale, overriding the one of the dataset's format: 1-5 or 0.5-5").argParser(ratingScale))
    .addOption(new Option('--split-seed <n>', 'seed of the per-user random split').argParser(integer).default(42))
    .option('--json', 'print exactly one JSON object with the figures as the last line of standard output')
    .action(async (flags: EvalFlags) => {
      const protocol = flags.protocol;
      if (protocol === undefined && flags.export === undefined) throw new UsageError("required option '--protocol <name>' not specified (or --export <dir>)");
      const models = modelSettingsFrom(flags);
      const detected = await resolveDataset(flags.dataset);
      const dataset = flags.scale === undefined ? detected : { ...detected, scale: scaleByName(flags.scale) };
      if (protocol === undefined) {
        const manifest = await exportEvaluation(dataset, flags.export!, { splitSeed: flags.splitSeed, rankingShare: models.rankingShare, k: LIST_LENGTH });
        process.stdout.write(flags.json ? `${JSON.stringify(manifest)}\n` : exportText(manifest, flags.export!));
        return;
      }
      let view: ReturnType<typeof progressView> | undefined;
      let started = performance.now();
      const summary = await evaluateOffline({
        dataset,
        protocol,
        splitSeed: flags.splitSeed,
        models,
        rankModel: rankModelFrom(flags, models),
        onSplit: (split) => {
          process.stderr.write(`evaluating ${dataset.format} from ${dataset.dir}: ${splitText(split, flags.splitSeed)}\n`);
          // Without --json the notes close the table on standard output instead.
          if (flags.json) for (const note of splitNotes(split)) process.stderr.write(`${note}\n`);
          view = progressView('train', split.train);
          started = performance.now();
        },
        onBatchIteration: (model, iteration, maxIterations) => {
          if (iteration === 1) {
            view?.stop();
            view = progressView(model, maxIterations);
            started = performance.now();
          }
          view?.update({
            position: iteration,
            total: maxIterations,
            eventsPerSecond: iteration / Math.max((performance.now() - started) / 1000, 1e-3),
            text: 'iterations (at most)',
          });
        },
        onTrained: (trained, total) => {
          view?.update({
            position: trained,
            total,
            eventsPerSecond: trained / Math.max((performance.now() - started) / 1000, 1e-3),
            text: `${protocol} protocol`,
          });
        },
      });
      view?.stop();
      process.stdout.write(flags.json ? `${JSON.stringify(jsonSummary(summary))}\n` : textSummary(summary, flags.splitSeed));
    });
}

/** The `--json` contract: {protocol, models: {<name>: {precisionAt10, recallAt10, ndcgAt10 | rmse, mae; seconds}}}. */
function jsonSummary(s: EvalSummary): object {
  const models = Object.entries(s.models).map(([name, figures]) => [
    name,
    Object.fromEntries([...FIGURES[s.protocol].map(([figure]) => [figure, round(figures[figure], 4)]), ['seconds', round(figures.seconds, 3)]]),
  ]);
  return { protocol: s.protocol, models: Object.fromEntries(models) };
}

function textSummary(s: EvalSummary, splitSeed: number): string {
  const columns = FIGURES[s.protocol];
  const header = `  ${'model'.padEnd(19)}${columns.map(([, label]) => label.padStart(9)).join('')}${'seconds'.padStart(9)}`;
  const rows = Object.entries(s.models).map(
    ([name, figures]) =>
      `  ${name.padEnd(19)}${columns.map(([figure]) => fixed(figures[figure], 4).padStart(9)).join('')}${fixed(figures.seconds, 2).padStart(9)}`,
  );
  const lines = [
    `${s.protocol} protocol: ${splitText(s.split, splitSeed)}`,
    header,
    ...rows,
    `seconds: each model's own learning (or batch fit) plus its scoring; the training replay took ${s.trainSeconds.toFixed(2)} s`,
    ...splitNotes(s.split),
  ];
  return `${lines.join('\n')}\n`;
}

function exportText(manifest: ExportManifest, dir: string): string {
  const lines = [
    `exported ${manifest.counts.ratings} ratings of ${manifest.counts.users} users and ${manifest.counts.items} items from ${manifest.dataset.dir} into ${dir} (split seed ${manifest.splitSeed}):`,
    ...PROTOCOLS.map((protocol) => {
      const split = manifest.protocols[protocol];
      return `  ${protocol}: ${split.trainFile} (${split.train}), ${split.testFile} (${split.test})`;
    }),
    `  replay order: ${manifest.stream.file} (${manifest.stream.events})`,
    '  manifest.json',
  ];
  return `${lines.join('\n')}\n`;
}

function splitText(split: SplitSummary, seed: number): string {
  const share = Math.round(100 * split.testShare);
  return `${split.ratings} ratings of ${split.users} users, ${100 - share}/${share} per user (split seed ${seed}): ${split.train} to train on, ${split.test} to test on`;
}

/** What was done with what could not be split. */
function splitNotes(split: SplitSummary): string[] {
  const notes: string[] = [];
  if (split.keptWhole > 0) {
    notes.push(`${split.keptWhole} ${split.keptWhole === 1 ? 'user' : 'users'} with fewer than ${split.minRatings} ratings kept wholly in training`);
  }
  if (split.skipped > 0) notes.push(`${split.skipped} malformed or off-scale ${split.skipped === 1 ? 'line' : 'lines'} left out`);
  return notes;
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function round(value: number | undefined, digits: number): number | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
