/**
 * A dataset's summary from one pass over its ratings (plus its item file for the catalogue
 * size): what `rxrec dataset info` prints, and a quick check that a folder reads cleanly. A line
 * counts as a rating exactly when the replay would apply it (`validatedRatings`).
 */
import { isMalformed, validatedRatings, type Dataset } from './rows.js';

export interface DatasetInfo {
  readonly dir: string;
  readonly format: string;
  readonly scale: string;
  readonly ratingsFile: string;
  readonly ratings: number;
  readonly users: number;
  /** Distinct items that have at least one rating. */
  readonly ratedItems: number;
  /** Items listed in the item file (0 when there is none). */
  readonly catalogItems: number;
  readonly meanRating: number | null;
  /** Epoch milliseconds of the earliest and latest rating; null when there are none. */
  readonly firstTs: number | null;
  readonly lastTs: number | null;
  readonly malformedLines: number;
  /** The first few malformed lines, for the report. */
  readonly malformedExamples: ReadonlyArray<{ readonly line: number; readonly reason: string }>;
}

const MALFORMED_EXAMPLES = 5;

export async function datasetInfo(dataset: Dataset): Promise<DatasetInfo> {
  const users = new Set<string>();
  const items = new Set<string>();
  let ratings = 0;
  let ratingSum = 0;
  let firstTs = Infinity;
  let lastTs = -Infinity;
  let malformedLines = 0;
  const malformedExamples: Array<{ line: number; reason: string }> = [];

  for await (const row of validatedRatings(dataset)) {
    if (isMalformed(row)) {
      malformedLines++;
      if (malformedExamples.length < MALFORMED_EXAMPLES) malformedExamples.push({ line: row.line, reason: row.malformed });
      continue;
    }
    ratings++;
    ratingSum += row.rating;
    users.add(row.userId);
    items.add(row.itemId);
    if (row.ts < firstTs) firstTs = row.ts;
    if (row.ts > lastTs) lastTs = row.ts;
  }

  let catalogItems = 0;
  for await (const row of dataset.items()) if (!isMalformed(row)) catalogItems++;

  return {
    dir: dataset.dir,
    format: dataset.format,
    scale: dataset.scale.name,
    ratingsFile: dataset.ratingsFile,
    ratings,
    users: users.size,
    ratedItems: items.size,
    catalogItems,
    meanRating: ratings > 0 ? ratingSum / ratings : null,
    firstTs: ratings > 0 ? firstTs : null,
    lastTs: ratings > 0 ? lastTs : null,
    malformedLines,
    malformedExamples,
  };
}
