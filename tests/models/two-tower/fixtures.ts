/** Small towers and a synthetic stream whose side features matter, for the two-tower tests. */
import { Catalog } from '../../../src/catalog.js';
import { createSyntheticMovieLens, type SyntheticSpec } from '../../../src/datasets/synthetic.js';
import { ML100K_GENRES } from '../../../src/datasets/vocabulary.js';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import type { IndexedRating, ModelContext } from '../../../src/models/model.js';
import type { TwoTowerOptions } from '../../../src/models/two-tower/options.js';

export const SMALL: Partial<TwoTowerOptions> = {
  embedding: 8,
  userDense: 16,
  genreDense: 8,
  movieDense: 8,
  final: 16,
  batchSize: 64,
  replayPerEvent: 1,
  reservoir: 500,
  checkpointEvery: 300,
  trainIn: 'inline',
  backend: 'wasm',
};

export interface FeaturedStream {
  readonly catalog: Catalog;
  readonly context: ModelContext;
  /** Timestamp order, ids interned in that order. */
  readonly events: IndexedRating[];
}

/** A synthetic set replayed in timestamp order, its users' and items' side features in the catalogue. */
export function featuredStream(spec: SyntheticSpec): FeaturedStream {
  const set = createSyntheticMovieLens(spec);
  const catalog = new Catalog();
  for (const user of set.users()) catalog.features.setUser(String(user.userId), { age: user.age, gender: user.gender, occupation: user.occupation });
  for (const item of set.items()) catalog.features.setItem(String(item.itemId), { genres: item.genreIndices.map((g) => ML100K_GENRES[g]!) });
  const rows: Array<{ user: string; item: string; rating: number; ts: number }> = [];
  for (const ratings of set.ratingsByUser()) {
    ratings.itemIds.forEach((item, k) => rows.push({ user: String(ratings.userId), item: String(item), rating: ratings.ratings[k]!, ts: ratings.seconds[k]! * 1000 }));
  }
  rows.sort((a, b) => a.ts - b.ts);
  const events = rows.map((row) => ({ user: catalog.users.intern(row.user), item: catalog.items.intern(row.item), rating: row.rating, ts: row.ts }));
  return { catalog, context: { scale: WHOLE_STARS, seed: 42, features: catalog.features }, events };
}
