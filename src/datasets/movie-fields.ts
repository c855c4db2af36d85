/**
 * Movie fields shared by the `.dat` and `.csv` formats: the release year that ends a title,
 * `Toy Story (1995)` (ml-latest also has ranges like `(2006–2007)`, first year taken, and titles
 * with no year), and the `|`-separated genre list.
 */
import { NO_GENRES_LISTED } from './vocabulary.js';

const TRAILING_YEAR = /\((\d{4})(?:[-–]\d{0,4})?\)\s*$/;

export function yearFromTitle(title: string): number | undefined {
  const match = TRAILING_YEAR.exec(title);
  return match ? Number(match[1]) : undefined;
}

/** `Action|Comedy` → ['Action', 'Comedy']; empty or `(no genres listed)` → []. */
export function splitGenres(field: string): string[] {
  if (field.length === 0 || field === NO_GENRES_LISTED) return [];
  return field.split('|');
}
