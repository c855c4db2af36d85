/**
 * `rxrec eval --export DIR`: the very splits and stream order rxrec trains and tests on, as
 * files another toolkit can read (bench/reference runs Surprise, cornac and River on them).
 *
 *   seeds.train.tsv, seeds.test.tsv      the seeds protocol's 80/20 split
 *   ranking.train.tsv, ranking.test.tsv  the ranking protocol's 75/25 split
 *   stream.tsv                           every rating the replay applies, in replay order
 *   manifest.json                        dataset, scale, split seed, protocols, counts, and the
 *                                        prequential figures' settings (list length, relevance, share)
 *
 * Lines are `user \t item \t rating \t ts` (ts in epoch ms, as on the ratings topic), no header.
 * Training files are in the order eval trains (timestamp, ties in file order); test files in
 * file order; the stream in the embedded replay's order (timestamp, ties in file order).
 * Malformed lines and ratings off the scale are in none of them, as in eval and the replay.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Dataset } from '../src/datasets/rows.js';
import { relevanceThreshold } from './assemble.js';
import { loadRatings, positionsWhere, PROTOCOLS, splitRatings, timestampOrder, type Protocol, type RatingColumns, type SplitSummary } from './eval-job.js';

/** Bumped when a file's layout changes, so a reader can refuse files it does not know. */
export const EXPORT_VERSION = 1;

export interface ExportManifest {
  readonly version: number;
  readonly dataset: { readonly format: string; readonly dir: string; readonly ratingsFile: string };
  readonly scale: { readonly name: string; readonly min: number; readonly max: number; readonly step: number };
  readonly splitSeed: number;
  readonly columns: readonly ['user', 'item', 'rating', 'ts'];
  readonly tsUnit: 'ms';
  readonly counts: { readonly ratings: number; readonly skipped: number; readonly users: number; readonly items: number };
  readonly protocols: Record<Protocol, SplitSummary & { readonly trainFile: string; readonly testFile: string }>;
  readonly stream: { readonly file: string; readonly events: number };
  /** How the replay's prequential hit@k is sampled and judged (src/recommender.ts), for a reference to do the same. */
  readonly prequential: { readonly k: number; readonly relevanceThreshold: number; readonly rankingShare: number };
}

export interface ExportOptions {
  readonly splitSeed: number;
  /** The replay's --ranking-share: which events get fresh lists. */
  readonly rankingShare: number;
  /** The replay's --k. */
  readonly k: number;
}

export async function exportEvaluation(dataset: Dataset, dir: string, { splitSeed, rankingShare, k }: ExportOptions): Promise<ExportManifest> {
  const columns = await loadRatings(dataset);
  const count = columns.users.length;
  await mkdir(dir, { recursive: true });
  const protocols = {} as Record<Protocol, ExportManifest['protocols'][Protocol]>;
  for (const protocol of PROTOCOLS) {
    const { split, summary } = splitRatings(columns, protocol, splitSeed);
    const trainFile = `${protocol}.train.tsv`;
    const testFile = `${protocol}.test.tsv`;
    await writeRatings(join(dir, trainFile), columns, timestampOrder(columns, split.isTest, summary.train));
    await writeRatings(join(dir, testFile), columns, positionsWhere(split.isTest, 1, summary.test));
    protocols[protocol] = { ...summary, trainFile, testFile };
  }
  const stream = { file: 'stream.tsv', events: count };
  await writeRatings(join(dir, stream.file), columns, timestampOrder(columns, new Uint8Array(count), count));
  const { scale } = dataset;
  const manifest: ExportManifest = {
    version: EXPORT_VERSION,
    dataset: { format: dataset.format, dir: dataset.dir, ratingsFile: dataset.ratingsFile },
    scale: { name: scale.name, min: scale.min, max: scale.max, step: scale.step },
    splitSeed,
    columns: ['user', 'item', 'rating', 'ts'],
    tsUnit: 'ms',
    counts: { ratings: count, skipped: columns.skipped, users: columns.userIds.size, items: columns.itemIds.size },
    protocols,
    stream,
    prequential: { k, relevanceThreshold: relevanceThreshold(scale), rankingShare },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The ratings at `positions`, one line each, written in chunks (an ml-25m stream is 25 million lines). */
async function writeRatings(path: string, columns: RatingColumns, positions: Uint32Array): Promise<void> {
  function* chunks(): Generator<string> {
    const CHUNK = 10_000;
    for (let start = 0; start < positions.length; start += CHUNK) {
      let text = '';
      for (const position of positions.subarray(start, start + CHUNK)) {
        const user = exportedId(columns.userIds.idAt(columns.users.get(position)));
        const item = exportedId(columns.itemIds.idAt(columns.items.get(position)));
        text += `${user}\t${item}\t${columns.ratings.get(position)}\t${columns.timestamps.get(position)}\n`;
      }
      yield text;
    }
  }
  await pipeline(Readable.from(chunks()), createWriteStream(path));
}

function exportedId(id: string): string {
  if (/[\t\r\n]/.test(id)) throw new Error(`cannot export the id ${JSON.stringify(id)}: it holds a tab or a line break, which the TSV files use as separators`);
  return id;
}
