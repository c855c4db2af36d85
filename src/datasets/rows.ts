/**
 * What a dataset reader yields, line by line, without ever holding a file whole. A line that
 * cannot be read as a rating is not thrown: it is yielded as malformed, so the replay can send it
 * to the dead-letter file with its position and go on.
 */
import { validateRating, type RejectionKind } from '../events/rating.js';
import type { RatingScale } from '../events/scale.js';

export interface RatingRow {
  readonly userId: string;
  readonly itemId: string;
  readonly rating: number;
  /** epoch milliseconds (MovieLens files hold seconds; readers convert). */
  readonly ts: number;
  /** 1-based line number in `file`. */
  readonly line: number;
  /** The line as read (latin-1, so byte for byte), for the dead letter of a row that fails validation. */
  readonly raw?: string;
}

export interface MalformedRow {
  readonly malformed: string;
  /** The line as read: latin-1 text, one character per byte. */
  readonly raw: string;
  readonly line: number;
  /** What kind of rejection (the metrics' label); a line that cannot be read at all when absent. */
  readonly kind?: RejectionKind;
}

export interface ItemRow {
  readonly itemId: string;
  readonly title: string;
  readonly genres: readonly string[];
  readonly year?: number;
}

export interface UserRow {
  readonly userId: string;
  readonly age?: number;
  readonly gender?: string;
  readonly occupation?: string;
  readonly zip?: string;
}

export type MovieLensFormat = 'ml-100k' | 'ml-1m' | 'ml-10m' | 'ml-csv';

/** A MovieLens-shaped directory, its format detected from the files in it. */
export interface Dataset {
  readonly dir: string;
  readonly format: MovieLensFormat;
  readonly scale: RatingScale;
  /** Path of the ratings file, for dead-letter positions. */
  readonly ratingsFile: string;
  ratings(): AsyncIterable<RatingRow | MalformedRow>;
  items(): AsyncIterable<ItemRow | MalformedRow>;
  /** Empty for formats without demographics (ml-10m, csv). */
  users(): AsyncIterable<UserRow | MalformedRow>;
}

export function isMalformed<T extends object>(row: T | MalformedRow): row is MalformedRow {
  return 'malformed' in row;
}

/**
 * The dataset's ratings as the pipeline would take them: every row the rating validator
 * (`validateRating`, the one that checks events on every transport) rejects comes out malformed
 * with that validator's reason and the original line. `dataset info`, the replay, produce and
 * eval all read ratings through this, so they count the same lines as valid.
 */
export async function* validatedRatings(dataset: Dataset): AsyncGenerator<RatingRow | MalformedRow> {
  for await (const row of dataset.ratings()) {
    if (isMalformed(row)) {
      yield row;
      continue;
    }
    const result = validateRating(row, dataset.scale);
    yield result.ok ? row : { malformed: result.reason, kind: result.kind, raw: row.raw ?? '', line: row.line };
  }
}
