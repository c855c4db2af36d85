/**
 * MovieLens 100K (folder `ml-100k/`): `u.data` tab-separated ratings (unsorted, Unix seconds),
 * `u.item` `|`-separated latin-1 movies with 19 genre flags, `u.user` `|`-separated demographics.
 */
import { readRows } from './lines.js';
import { fieldCountReason, parseNumber, ratingFromFields } from './rating-fields.js';
import type { ItemRow, MalformedRow, RatingRow, UserRow } from './rows.js';
import { ML100K_GENRES } from './vocabulary.js';

const ITEM_FIELDS = 5 + ML100K_GENRES.length;
const USER_FIELDS = 5;

/** `user id \t item id \t rating \t timestamp`. */
export function parseMl100kRating(text: string, line: number): RatingRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const fields = text.split('\t');
  if (fields.length !== 4) return { malformed: fieldCountReason(4, fields.length, 'tabs'), raw: text, line };
  return ratingFromFields(fields[0]!, fields[1]!, fields[2]!, fields[3]!, text, line);
}

/** `id|title|release date|video release date|IMDb URL|` then the 19 genre flags of u.genre. */
export function parseMl100kItem(text: string, line: number): ItemRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const fields = text.split('|');
  if (fields.length !== ITEM_FIELDS) {
    return { malformed: fieldCountReason(ITEM_FIELDS, fields.length, "'|'"), raw: text, line };
  }
  const itemId = fields[0]!;
  if (itemId.length === 0) return { malformed: 'empty item id', raw: text, line };
  const genres: string[] = [];
  for (let genre = 0; genre < ML100K_GENRES.length; genre++) {
    const flag = fields[5 + genre]!;
    if (flag === '1') genres.push(ML100K_GENRES[genre]!);
    else if (flag !== '0') {
      return { malformed: `genre flag '${flag}' for ${ML100K_GENRES[genre]} is not 0 or 1`, raw: text, line };
    }
  }
  const year = yearFromReleaseDate(fields[2]!);
  return year === undefined ? { itemId, title: fields[1]!, genres } : { itemId, title: fields[1]!, genres, year };
}

/** `user id|age|gender|occupation|zip code`. */
export function parseMl100kUser(text: string, line: number): UserRow | MalformedRow {
  if (text.length === 0) return { malformed: 'empty line', raw: text, line };
  const fields = text.split('|');
  if (fields.length !== USER_FIELDS) {
    return { malformed: fieldCountReason(USER_FIELDS, fields.length, "'|'"), raw: text, line };
  }
  const [userId, ageText, gender, occupation, zip] = fields as [string, string, string, string, string];
  if (userId.length === 0) return { malformed: 'empty user id', raw: text, line };
  const age = parseNumber(ageText);
  if (age === undefined) return { malformed: `age '${ageText}' is not a number`, raw: text, line };
  return {
    userId,
    age,
    ...(gender ? { gender } : {}),
    ...(occupation ? { occupation } : {}),
    ...(zip ? { zip } : {}),
  };
}

export function readMl100kRatings(path: string): AsyncGenerator<RatingRow | MalformedRow> {
  return readRows(path, 'latin1', parseMl100kRating);
}

export function readMl100kItems(path: string): AsyncGenerator<ItemRow | MalformedRow> {
  return readRows(path, 'latin1', parseMl100kItem);
}

export function readMl100kUsers(path: string): AsyncGenerator<UserRow | MalformedRow> {
  return readRows(path, 'latin1', parseMl100kUser);
}

/** `01-Jan-1995` → 1995; empty (a few items have no date) or unreadable → undefined. */
function yearFromReleaseDate(date: string): number | undefined {
  if (date.length === 0) return undefined;
  const year = Number(date.slice(date.lastIndexOf('-') + 1));
  return Number.isInteger(year) && year > 0 ? year : undefined;
}
