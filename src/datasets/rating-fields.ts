/**
 * The checks every MovieLens ratings format shares once a line is split into its four fields:
 * ids present, rating and timestamp numeric, seconds converted to epoch milliseconds. The rating
 * and the timestamp's range are not checked here: `validatedRatings` (rows.ts) checks each row
 * with the events' own validator, against the scale the dataset is read with.
 */
import type { MalformedRow, RatingRow } from './rows.js';

export function ratingFromFields(userId: string, itemId: string, ratingText: string, secondsText: string, raw: string, line: number): RatingRow | MalformedRow {
  if (userId.length === 0) return { malformed: 'empty user id', raw, line };
  if (itemId.length === 0) return { malformed: 'empty item id', raw, line };
  const rating = parseNumber(ratingText);
  if (rating === undefined) return { malformed: `rating '${ratingText}' is not a number`, raw, line };
  const seconds = parseNumber(secondsText);
  if (seconds === undefined) return { malformed: `timestamp '${secondsText}' is not a number`, raw, line };
  return { userId, itemId, rating, ts: Math.round(seconds * 1000), line, raw };
}

/** The finite number `text` spells, or undefined (Number('') and Number(' ') are 0, not a number here). */
export function parseNumber(text: string): number | undefined {
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  if (value === 0 && text.trim().length === 0) return undefined;
  return value;
}

export function fieldCountReason(expected: number, found: number, separator: string): string {
  return `expected ${expected} fields separated by ${separator}, found ${found}`;
}
