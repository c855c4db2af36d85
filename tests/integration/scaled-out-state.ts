/** What a `serve --scale-out` worker's state holds, for the scale-out tests: per user and shared. */
import assert from 'node:assert/strict';
import type { StateValue } from '../../src/models/model.js';
import { unpackFloat64 } from '../../src/models/packed.js';
import { StateStore } from '../../state/store.js';

export interface UserView {
  readonly partition: number;
  readonly history: Set<string>;
  readonly list: string[];
}

export interface WorkerView {
  readonly positions: Map<number, number>;
  /** Baseline's and MF's item rows, `model i<index>` → values. */
  readonly itemRows: Map<string, number[]>;
  readonly clock: number | undefined;
  readonly mfCount: number | undefined;
  readonly users: Map<string, UserView>;
}

/** A worker's state: positions, popularity's shared clock, MF's shared count, and every user with events here. */
export async function scaledOutView(dir: string): Promise<WorkerView> {
  const store = StateStore.open(dir, { readOnly: true });
  try {
    const snapshot = store.snapshot(['popularity', 'mf', 'baseline']);
    const userIds = new Map([...snapshot.users]);
    const itemIds = new Map([...snapshot.items]);
    const histories = new Map<number, Set<string>>();
    for (const [user, item] of snapshot.history) {
      if (!histories.has(user)) histories.set(user, new Set());
      histories.get(user)!.add(itemIds.get(item)!);
    }
    const lists = new Map([...snapshot.lists].map(([user, items]) => [user, [...items].map((item) => itemIds.get(item)!)]));
    const users = new Map<string, UserView>();
    for (const [index, id] of userIds) {
      const activity = store.userActivity(index);
      if (activity) users.set(id, { partition: activity.partition, history: histories.get(index) ?? new Set(), list: lists.get(index) ?? [] });
    }
    let clock: number | undefined;
    let mfCount: number | undefined;
    const itemRows = new Map<string, number[]>();
    for (const [model, entries] of snapshot.models) {
      for (const [key, value] of entries) {
        if (model !== 'popularity' && /^i\d+$/.test(key)) itemRows.set(`${model} ${key}`, numbers(value));
        if (model === 'popularity' && key === 'clock') clock = numbers(value)[0];
        if (model === 'mf' && key === 'mean') mfCount = numbers(value)[1];
      }
    }
    return { positions: store.positions(), itemRows, clock, mfCount, users };
  } finally {
    await store.close();
  }
}

export function numbers(value: StateValue): number[] {
  return value instanceof Uint8Array ? [...unpackFloat64(value)] : Array.isArray(value) ? (value as number[]) : [value as number];
}

/**
 * Asserts that every user of the stream (`rated`: their items) is, at the final holder of their
 * partition, whole: their history is every item they rated, and their list holds none of them.
 * `states`: every worker's, so that each user's partition is known. Returns the users' partitions.
 */
export function usersWhole(
  rated: ReadonlyMap<string, ReadonlySet<string>>,
  states: readonly WorkerView[],
  holderOf: (partition: number) => WorkerView,
): Map<string, number> {
  const partitionOf = new Map<string, number>();
  for (const state of states) for (const [user, { partition }] of state.users) partitionOf.set(user, partition);
  assert.equal(partitionOf.size, rated.size, 'every user of the stream is in some partition');
  for (const [user, items] of rated) {
    const partition = partitionOf.get(user)!;
    const state = holderOf(partition).users.get(user);
    assert.ok(state, `user ${user} (partition ${partition}) is in its holder's state`);
    assert.deepEqual([...state.history].sort(), [...items].sort(), `user ${user}: the whole history at the holder of partition ${partition}`);
    assert.ok(state.list.length > 0, `user ${user} has a list`);
    assert.deepEqual(
      state.list.filter((item) => items.has(item)),
      [],
      `user ${user}'s list holds nothing they rated`,
    );
  }
  return partitionOf;
}

/** The worst relative gap between two workers' item rows (a row only one has counts as 1). */
export function itemRowGap(a: WorkerView, b: WorkerView): { readonly worst: number; readonly key: string } {
  let worst = 0;
  let worstKey = '';
  for (const key of new Set([...a.itemRows.keys(), ...b.itemRows.keys()])) {
    const [x, y] = [a.itemRows.get(key), b.itemRows.get(key)];
    const gap = !x || !y ? 1 : Math.max(...x.map((value, f) => Math.abs(value - y[f]!) / Math.max(1, Math.abs(value))));
    if (gap > worst) [worst, worstKey] = [gap, key];
  }
  return { worst, key: worstKey };
}
