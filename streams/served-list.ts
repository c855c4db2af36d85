/**
 * A user's list computed on request (`GET /recommendations/:userId`, `rxrec recommend --json`),
 * in the recommendations contract (src/schemas/recommendations.schema.json) plus `known` and
 * the items' titles.
 *
 * A user with ratings gets their own list: `eventTs` is their newest event's ts and
 * `sourceOffset` the stored position of the partition their events come from (the list is
 * computed from the state after it). A user without ratings gets the newcomer list (placed from
 * side features, else the cold-start list), which follows from no event of theirs: `eventTs` 0
 * and `sourceOffset` ''. A user whose state predates the user-activity record reads the same
 * until their next event. `publishedAt` is the time of the request.
 */
import type { Recommender } from '../src/recommender.js';
import type { ItemLabel, UserActivity } from '../state/store.js';
import { listItems, type ListItem } from './list-entries.js';
import type { RecommendationList } from './transport.js';

/** What a served list reads from the state store (StateStore has it). */
export interface ServedState {
  itemLabel(itemId: string): ItemLabel | undefined;
  userActivity(user: number): UserActivity | undefined;
  position(partition: number): number | undefined;
}

export interface ServedItem extends ListItem {
  /** From the item file or the items topic, when known. */
  readonly title?: string;
}

export interface ServedList extends RecommendationList {
  readonly items: readonly ServedItem[];
  /** False for a user without ratings: the list is the newcomer (or cold-start) list. */
  readonly known: boolean;
}

export interface ServedListResult {
  readonly list: ServedList;
  /** A user without ratings placed from their side features (not the cold-start list). */
  readonly fromFeatures: boolean;
}

export function servedList(recommender: Recommender, state: ServedState, userId: string, k: number, now = Date.now()): ServedListResult {
  const titleOf = (itemId: string) => state.itemLabel(itemId)?.title;
  const user = recommender.catalog.users.lookup(userId);
  const known = user >= 0 && recommender.histories.itemsOf(user).size > 0;
  const newcomer = known ? undefined : recommender.newcomerList(userId, k);
  // The list as last refreshed (touched users after their batch, the rest by the background
  // refresh) at the published length; another length is computed for the request.
  const entries = newcomer?.items ?? (k === recommender.options.k ? recommender.servedEntries(user) : recommender.rankFor(user, k));
  const items = listItems(recommender, entries, titleOf).map((item) => {
    const title = titleOf(item.itemId);
    return title === undefined ? item : { ...item, title };
  });
  const activity = known ? state.userActivity(user) : undefined;
  const position = activity && state.position(activity.partition);
  const list: ServedList = {
    userId,
    items,
    model: (newcomer?.model ?? recommender.ranker).name,
    sourceOffset: activity && position !== undefined ? `${activity.partition}:${position - 1}` : '',
    eventTs: activity?.eventTs ?? 0,
    publishedAt: now,
    known,
  };
  return { list, fromFeatures: newcomer?.fromFeatures ?? false };
}
