/**
 * `rxrec dataset synth|download|info`: make a synthetic MovieLens-shaped folder, fetch a real one
 * into the cache, or summarise any folder. Errors are thrown as one-line Errors for main.ts to
 * print; progress bars go to stderr only when it is a terminal.
 */
import { Command } from 'commander';
import { openDataset } from '../../../src/datasets/detect.js';
import { DOWNLOADABLE_DATASETS, defaultCacheDir, downloadDataset, isDownloadable, type DownloadResult } from '../../datasets/download.js';
import { datasetInfo, type DatasetInfo } from '../../../src/datasets/info.js';
import { ML100K_SHAPE, syntheticSpecProblem, type SyntheticSpec } from '../../../src/datasets/synthetic.js';
import { writeSyntheticDataset } from '../../datasets/write-synthetic.js';
import { UsageError } from '../errors.js';
import { progressView, type ProgressView } from '../progress.js';

export interface DatasetCommandOutput {
  /** One line of the command's result (stdout). */
  line(text: string): void;
  /** Where progress is shown: a bar on a TTY, a plain line every few seconds otherwise. */
  readonly progress: NodeJS.WriteStream;
}

const PROCESS_OUTPUT: DatasetCommandOutput = {
  line: (text) => process.stdout.write(`${text}\n`),
  progress: process.stderr,
};

/** Below this many ratings synth finishes in about a second: no progress. */
const PROGRESS_MIN_RATINGS = 500_000;

export function datasetCommand(output: DatasetCommandOutput = PROCESS_OUTPUT): Command {
  const command = new Command('dataset').description('make, fetch and inspect MovieLens-shaped datasets');
  command.addCommand(synthCommand(output));
  command.addCommand(downloadCommand(output));
  command.addCommand(infoCommand(output));
  return command;
}

function synthCommand(output: DatasetCommandOutput): Command {
  return new Command('synth')
    .description(
      'write a synthetic dataset in the MovieLens 100K file formats (u.data, u.item, u.user, ...): ' +
        'latent-factor ratings 1–5 shaped by genres and demographics, long-tail popularity, ' +
        'every user with at least 20 ratings, timestamped sessions; deterministic for a seed',
    )
    .option('--users <n>', 'number of users', String(ML100K_SHAPE.users))
    .option('--items <n>', 'number of items', String(ML100K_SHAPE.items))
    .option('--ratings <n>', 'number of ratings (at least 20 per user, at most users × items)', String(ML100K_SHAPE.ratings))
    .option('--seed <n>', 'random seed (integer)', String(ML100K_SHAPE.seed))
    .option('--out <dir>', 'output folder (created; must be new, empty, or an earlier synth output)', 'data/synthetic')
    .addHelpText('after', '\nExample:\n  rxrec dataset synth --users 6040 --items 3706 --ratings 1000209 --out data/synthetic-1m')
    .action(async (options: { users: string; items: string; ratings: string; seed: string; out: string }) => {
      const spec: SyntheticSpec = {
        users: positiveInteger('--users', options.users),
        items: positiveInteger('--items', options.items),
        ratings: positiveInteger('--ratings', options.ratings),
        seed: integer('--seed', options.seed),
      };
      const problem = syntheticSpecProblem(spec);
      if (problem) throw new UsageError(`cannot generate: ${problem} — adjust --users, --items or --ratings`);

      const started = performance.now();
      const view = spec.ratings >= PROGRESS_MIN_RATINGS ? progressView('synth', spec.ratings, output.progress) : undefined;
      try {
        await writeSyntheticDataset(options.out, spec, (written) =>
          view?.update({ position: written, total: spec.ratings, eventsPerSecond: perSecond(written, started), text: 'ratings written' }),
        );
      } finally {
        view?.stop();
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      output.line(
        `wrote a synthetic dataset to ${options.out}: ${count(spec.users)} users, ${count(spec.items)} items, ` +
          `${count(spec.ratings)} ratings (seed ${spec.seed}) in ${seconds} s`,
      );
    });
}

function downloadCommand(output: DatasetCommandOutput): Command {
  return new Command('download')
    .description(
      `download a MovieLens archive from GroupLens (${DOWNLOADABLE_DATASETS.join(', ')}), check its MD5 and ` +
        'extract it into the cache; skipped when it is already there',
    )
    .argument('<name>', DOWNLOADABLE_DATASETS.join(' | '))
    .option('--cache <dir>', 'dataset cache folder (default: $RXREC_CACHE/datasets, else ~/.cache/rxrec/datasets)')
    .option('--mirror <url>', 'base URL to fetch <name>.zip from instead of GroupLens')
    .action(async (name: string, options: { cache?: string; mirror?: string }) => {
      if (!isDownloadable(name)) {
        throw new UsageError(`unknown dataset '${name}': choose one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
      }
      const cacheDir = options.cache ?? defaultCacheDir();
      const started = performance.now();
      let view: ProgressView | undefined;
      let result: DownloadResult;
      try {
        result = await downloadDataset(name, cacheDir, {
          ...(options.mirror ? { baseUrl: options.mirror } : {}),
          onProgress: (received, total) => {
            if (total === undefined) return;
            view ??= progressView(`download ${name}`, total, output.progress);
            view.update({ position: received, total, eventsPerSecond: perSecond(received, started), text: 'bytes' });
          },
        });
      } finally {
        view?.stop();
      }
      output.line(describeDownload(name, result));
    });
}

function infoCommand(output: DatasetCommandOutput): Command {
  return new Command('info')
    .description(
      'summarise a MovieLens-shaped folder (format detected from its files): rating, user and item ' +
        'counts, time span, malformed lines; reads the ratings once',
    )
    .argument('<dir>', 'dataset folder, or a folder holding exactly one')
    .option('--json', 'print the summary as JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const info = await datasetInfo(await openDataset(dir));
      if (options.json) output.line(JSON.stringify(info, null, 2));
      else for (const text of describeInfo(info)) output.line(text);
    });
}

function describeDownload(name: string, result: DownloadResult): string {
  switch (result.status) {
    case 'downloaded':
      return `${name}: downloaded into ${result.dir} (MD5 ${result.md5} verified)`;
    case 'cached':
      return `${name}: already in ${result.dir} (MD5 ${result.md5} verified)`;
    case 'placed':
      return `${name}: using ${result.dir}, placed there by hand (no archive, so no checksum was verified)`;
  }
}

function describeInfo(info: DatasetInfo): string[] {
  const lines = [
    `dir          ${info.dir}`,
    `format       ${info.format} (rating scale ${info.scale})`,
    `ratings      ${count(info.ratings)}`,
    `users        ${count(info.users)}`,
    `items        ${count(info.ratedItems)} rated, ${count(info.catalogItems)} in the item file`,
  ];
  if (info.meanRating !== null) lines.push(`mean rating  ${info.meanRating.toFixed(3)}`);
  if (info.firstTs !== null && info.lastTs !== null) {
    const days = ((info.lastTs - info.firstTs) / 86_400_000).toFixed(0);
    lines.push(`time span    ${isoSeconds(info.firstTs)} → ${isoSeconds(info.lastTs)} (${days} days)`);
  }
  lines.push(`malformed    ${count(info.malformedLines)} lines`);
  for (const example of info.malformedExamples) lines.push(`  line ${example.line}: ${example.reason}`);
  return lines;
}

function perSecond(done: number, startedMs: number): number {
  const seconds = (performance.now() - startedMs) / 1000;
  return seconds > 0 ? done / seconds : 0;
}

function positiveInteger(flag: string, text: string): number {
  const value = parseInteger(text);
  if (value === undefined || value < 1) throw new UsageError(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

function integer(flag: string, text: string): number {
  const value = parseInteger(text);
  if (value === undefined) throw new UsageError(`${flag} must be an integer, got '${text}'`);
  return value;
}

function parseInteger(text: string): number | undefined {
  const value = /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) ? value : undefined;
}

function count(value: number): string {
  return value.toLocaleString('en-US');
}

function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('.000Z', 'Z');
}
