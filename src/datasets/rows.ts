/**
 * What a dataset reader yields, line by line, without ever holding a file whole. A line that
 * cannot be read as a rating is not thrown: it is yielded as malformed, so the replay can send it
 * to the dead-letter file with its position and go on.
 */
import type { RatingScale } from '../events/scale.js';

export interface RatingRow {
  readonly userId: string;
  readonly itemId: string;
  readonly rating: number;
  /** epoch milliseconds (MovieLens files hold seconds; readers convert). */
  readonly ts: number;
  /** 1-based line number in `file`. */
  readonly line: number;
}

export interface MalformedRow {
  readonly malformed: string;
  readonly raw: string;
  readonly line: number;
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
