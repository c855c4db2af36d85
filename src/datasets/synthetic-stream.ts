/**
 * A synthetic set as a pipeline would hold it after a replay: ratings in timestamp order with
 * ids interned in that order, and every user's and item's side features in the catalogue. For
 * benchmarks and tests of models that read side features, without going through files.
 */
import { Catalog } from '../catalog.js';
import type { IndexedRating } from '../models/model.js';
import { createSyntheticMovieLens, type SyntheticSpec } from './synthetic.js';
import { ML100K_GENRES } from './vocabulary.js';

export interface FeaturedStream {
  readonly catalog: Catalog;
  readonly events: IndexedRating[];
}

export function featuredSyntheticStream(spec: SyntheticSpec): FeaturedStream {
  const set = createSyntheticMovieLens(spec);
  const catalog = new Catalog();
  for (const user of set.users()) catalog.features.setUser(String(user.userId), { age: user.age, gender: user.gender, occupation: user.occupation });
  for (const item of set.items()) catalog.features.setItem(String(item.itemId), { genres: item.genreIndices.map((g) => ML100K_GENRES[g]!) });
  const rows: Array<{ user: string; item: string; rating: number; ts: number }> = [];
  for (const ratings of set.ratingsByUser()) {
    ratings.itemIds.forEach((item, k) =>
      rows.push({ user: String(ratings.userId), item: String(item), rating: ratings.ratings[k]!, ts: ratings.seconds[k]! * 1000 }),
    );
  }
  rows.sort((a, b) => a.ts - b.ts);
  const events = rows.map((row) => ({ user: catalog.users.intern(row.user), item: catalog.items.intern(row.item), rating: row.rating, ts: row.ts }));
  return { catalog, events };
}
