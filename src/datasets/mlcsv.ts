/**
 * MovieLens 20M, 25M, ml-latest and ml-latest-small: `ratings.csv`
 * (`userId,movieId,rating,timestamp`) and `movies.csv` (`movieId,title,genres`, UTF-8, quoted
 * titles), each opening with a header line.
 */
import { splitCsvLine } from './csv.js';
import { readRows } from './lines.js';
import { splitGenres, yearFromTitle } from './movie-fields.js';
import { fieldCountReason, ratingFromFields } from './rating-fields.js';
import type { ItemRow, MalformedRow, RatingRow } from './rows.js';

export const RATINGS_CSV_HEADER = 'userId,movieId,rating,timestamp';
export const MOVIES_CSV_HEADER = 'movieId,title,genres';

export function parseCsvRating(text: string, line: number): RatingRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const split = splitCsvLine(text);
  if ('error' in split) return { malformed: split.error, raw: text, line };
  const { fields } = split;
  if (fields.length !== 4) return { malformed: fieldCountReason(4, fields.length, 'commas'), raw: text, line };
  return ratingFromFields(fields[0]!, fields[1]!, fields[2]!, fields[3]!, text, line);
}

export function parseCsvMovie(text: string, line: number): ItemRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const split = splitCsvLine(text);
  if ('error' in split) return { malformed: split.error, raw: text, line };
  const { fields } = split;
  if (fields.length !== 3) return { malformed: fieldCountReason(3, fields.length, 'commas'), raw: text, line };
  const [itemId, title, genreField] = fields as [string, string, string];
  if (itemId.length === 0) return { malformed: 'empty item id', raw: text, line };
  const genres = splitGenres(genreField);
  const year = yearFromTitle(title);
  return year === undefined ? { itemId, title, genres } : { itemId, title, genres, year };
}

export function readCsvRatings(path: string): AsyncGenerator<RatingRow | MalformedRow> {
  return readCsvRows(path, 'latin1', RATINGS_CSV_HEADER, parseCsvRating);
}

export function readCsvMovies(path: string): AsyncGenerator<ItemRow | MalformedRow> {
  return readCsvRows(path, 'utf8', MOVIES_CSV_HEADER, parseCsvMovie);
}

/** Line 1 is skipped when it is the header; otherwise it is data like any other line. */
function readCsvRows<Row>(
  path: string,
  encoding: 'utf8' | 'latin1',
  header: string,
  parse: (text: string, line: number) => Row | MalformedRow,
): AsyncGenerator<Row | MalformedRow> {
  return readRows(path, encoding, (text, line) => (line === 1 && text === header ? undefined : parse(text, line)));
}
