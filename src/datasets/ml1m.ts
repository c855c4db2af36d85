/**
 * MovieLens 1M (folder `ml-1m/`) and 10M (folder `ml-10M100K/`): `::`-separated `.dat` files.
 * `ratings.dat` `UserID::MovieID::Rating::Timestamp`; `movies.dat` `MovieID::Title::Genres`
 * (latin-1 in ml-1m, UTF-8 in ml-10m; the year ends the title); `users.dat` (ml-1m only)
 * `UserID::Gender::Age::Occupation::Zip-code`.
 */
import { readRows, type TextEncoding } from './lines.js';
import { fieldCountReason, parseNumber, ratingFromFields } from './rating-fields.js';
import type { ItemRow, MalformedRow, RatingRow, UserRow } from './rows.js';
import { splitGenres, yearFromTitle } from './movie-fields.js';
import { ML1M_OCCUPATIONS } from './vocabulary.js';

const SEPARATOR = '::';

export function parseDatRating(text: string, line: number): RatingRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const fields = text.split(SEPARATOR);
  if (fields.length !== 4) return { malformed: fieldCountReason(4, fields.length, "'::'"), raw: text, line };
  return ratingFromFields(fields[0]!, fields[1]!, fields[2]!, fields[3]!, text, line);
}

/** The title is everything between the first and the last `::`, so a title holding `::` survives. */
export function parseDatMovie(text: string, line: number): ItemRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const idEnd = text.indexOf(SEPARATOR);
  const genresStart = text.lastIndexOf(SEPARATOR);
  if (idEnd === -1 || genresStart === idEnd) {
    const found = idEnd === -1 ? 1 : 2;
    return { malformed: fieldCountReason(3, found, "'::'"), raw: text, line };
  }
  const itemId = text.slice(0, idEnd);
  if (itemId.length === 0) return { malformed: 'empty item id', raw: text, line };
  const title = text.slice(idEnd + SEPARATOR.length, genresStart);
  const genres = splitGenres(text.slice(genresStart + SEPARATOR.length));
  const year = yearFromTitle(title);
  return year === undefined ? { itemId, title, genres } : { itemId, title, genres, year };
}

/**
 * Age is kept as ml-1m's bucket code (1 = under 18, 18 = 18–24, 25, 35, 45, 50, 56 = 56+), which
 * is each bucket's lower bound; occupation codes become their README names.
 */
export function parseDatUser(text: string, line: number): UserRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const fields = text.split(SEPARATOR);
  if (fields.length !== 5) return { malformed: fieldCountReason(5, fields.length, "'::'"), raw: text, line };
  const [userId, gender, ageText, occupationCode, zip] = fields as [string, string, string, string, string];
  if (userId.length === 0) return { malformed: 'empty user id', raw: text, line };
  const age = parseNumber(ageText);
  if (age === undefined) return { malformed: `age '${ageText}' is not a number`, raw: text, line };
  const occupation = /^\d+$/.test(occupationCode) ? ML1M_OCCUPATIONS[Number(occupationCode)] : undefined;
  if (occupation === undefined) {
    return { malformed: `occupation code '${occupationCode}' is not one of 0–20`, raw: text, line };
  }
  return { userId, age, occupation, ...(gender ? { gender } : {}), ...(zip ? { zip } : {}) };
}

export function readDatRatings(path: string): AsyncGenerator<RatingRow | MalformedRow> {
  return readRows(path, 'latin1', parseDatRating);
}

export function readDatMovies(path: string, encoding: TextEncoding): AsyncGenerator<ItemRow | MalformedRow> {
  return readRows(path, encoding, parseDatMovie);
}

export function readDatUsers(path: string): AsyncGenerator<UserRow | MalformedRow> {
  return readRows(path, 'latin1', parseDatUser);
}
