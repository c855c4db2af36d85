import { syntheticRatingRows, type SyntheticSpec } from '../src/datasets/synthetic.js';
import type { IndexedRating } from '../src/models/model.js';

/** A synthetic set as the pipeline hands it to models: timestamp order, ids interned densely in that order. */
export function indexedStream(spec: SyntheticSpec): IndexedRating[] {
  const users = new Map<string, number>();
  const items = new Map<string, number>();
  const intern = (map: Map<string, number>, id: string) => map.get(id) ?? (map.set(id, map.size), map.size - 1);
  return [...syntheticRatingRows(spec)]
    .sort((a, b) => a.ts - b.ts || a.line - b.line)
    .map((row) => ({ user: intern(users, row.userId), item: intern(items, row.itemId), rating: row.rating, ts: row.ts }));
}
