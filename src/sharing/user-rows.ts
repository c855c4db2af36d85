/**
 * The rows of a state that belong to one user (serve --scale-out's changelog of user state):
 * the user's history entries, their keys of every model (`OnlineModel.userOfKey`), their
 * current list and their activity record. A user belongs to the ratings partition of their
 * events, so their rows are carried by that partition of the changelog, and a worker that is
 * given the partition takes them in before it consumes it (streams/kafka/user-changelog.ts).
 *
 * A row's key names its user first, then what it is:
 *   `<user> h <item>`          history entry (value 1)
 *   `<user> m <model> <key>`   a model's key (value as drained; null deletes it)
 *   `<user> l`                 current list (packed Int32 item indices)
 *   `<user> a`                 activity {eventTs, partition}
 * Pure: the streams layer carries the rows, the state store applies them.
 */
import type { OnlineModel, StateValue } from '../models/model.js';
import type { StateDelta } from '../recommender.js';

export interface UserActivityRow {
  readonly eventTs: number;
  readonly partition: number;
}

export type UserRow =
  | { readonly kind: 'history'; readonly user: number; readonly item: number }
  | { readonly kind: 'model'; readonly user: number; readonly model: string; readonly key: string; readonly value: StateValue | null }
  | { readonly kind: 'list'; readonly user: number; readonly items: Int32Array }
  | { readonly kind: 'activity'; readonly user: number; readonly activity: UserActivityRow };

/**
 * The user rows of a batch's delta and activity, by the partition of their user. A delta's
 * user keys are taken out of `delta.models` (the shared rest stays); `partitionOf` says where a
 * user without activity in this batch belongs (a list refreshed in the background), undefined
 * for a user this worker has no events of (their rows stay local).
 */
export function userRowsOf(
  delta: StateDelta,
  activity: ReadonlyMap<number, UserActivityRow>,
  models: readonly OnlineModel[],
  partitionOf: (user: number) => number | undefined,
): Map<number, UserRow[]> {
  const byName = new Map(models.map((model) => [model.name as string, model]));
  const rows = new Map<number, UserRow[]>();
  const add = (row: UserRow) => {
    const partition = activity.get(row.user)?.partition ?? partitionOf(row.user);
    if (partition === undefined) return;
    let inPartition = rows.get(partition);
    if (!inPartition) rows.set(partition, (inPartition = []));
    inPartition.push(row);
  };
  for (const [user, item] of delta.history) add({ kind: 'history', user, item });
  for (const [model, key, value] of delta.models) {
    const user = byName.get(model)?.userOfKey(key);
    if (user !== undefined) add({ kind: 'model', user, model, key, value });
  }
  for (const [user, items] of delta.lists) add({ kind: 'list', user, items });
  for (const [user, row] of activity) add({ kind: 'activity', user, activity: row });
  return rows;
}

/** The changelog key of a row. */
export function userRowKey(row: UserRow): string {
  switch (row.kind) {
    case 'history':
      return `${row.user} h ${row.item}`;
    case 'model':
      return `${row.user} m ${row.model} ${row.key}`;
    case 'list':
      return `${row.user} l`;
    case 'activity':
      return `${row.user} a`;
  }
}

/** The value a row carries (null: the key is deleted). */
export function userRowValue(row: UserRow): StateValue | null {
  switch (row.kind) {
    case 'history':
      return 1;
    case 'model':
      return row.value;
    case 'list':
      return new Uint8Array(row.items.buffer, row.items.byteOffset, row.items.byteLength);
    case 'activity':
      return { eventTs: row.activity.eventTs, partition: row.activity.partition };
  }
}

/** A row back from its key and value; throws on a key that is not a user row's. */
export function userRowFrom(key: string, value: StateValue | null): UserRow {
  const match = /^(\d+) (h|m|l|a)(?: (.*))?$/s.exec(key);
  if (!match) throw new Error(`'${key}' is not a user-state key`);
  const user = Number(match[1]);
  const rest = match[3];
  switch (match[2]) {
    case 'h':
      return { kind: 'history', user, item: Number(rest) };
    case 'm': {
      const space = rest?.indexOf(' ') ?? -1;
      if (space <= 0) throw new Error(`'${key}' names no model key`);
      return { kind: 'model', user, model: rest!.slice(0, space), key: rest!.slice(space + 1), value };
    }
    case 'l': {
      const bytes = value as Uint8Array;
      return { kind: 'list', user, items: new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
    }
    default: {
      const { eventTs, partition } = value as { eventTs: number; partition: number };
      return { kind: 'activity', user, activity: { eventTs, partition } };
    }
  }
}
