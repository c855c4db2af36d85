/** A list's entries as the recommendations contract writes them: ids, rounded scores, and a readable `why`. */
import type { ListEntry, Recommender } from '../src/recommender.js';

export interface ListItem {
  readonly itemId: string;
  readonly score: number;
  readonly why: string;
}

/** An item's title, when the item file gave one. */
export type TitleOf = (itemId: string) => string | undefined;

export function listItems(recommender: Recommender, entries: readonly ListEntry[], titleOf: TitleOf = () => undefined): ListItem[] {
  const { items } = recommender.catalog;
  return entries.map(({ index, score, why }) => {
    let reason = why.reason;
    if (why.becauseOf !== undefined) {
      const related = items.idAt(why.becauseOf);
      reason += ` "${titleOf(related) ?? `item ${related}`}"`;
    }
    return { itemId: items.idAt(index), score: Math.round(score * 1e4) / 1e4, why: reason };
  });
}
