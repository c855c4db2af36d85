import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OnlineModel } from '../../src/models/model.js';
import type { StateDelta } from '../../src/recommender.js';
import { userRowFrom, userRowKey, userRowsOf, userRowValue, type UserRow } from '../../src/sharing/user-rows.js';

/** A model whose keys `u<user>` are the user's and the rest shared. */
const model = { name: 'mf', userOfKey: (key: string) => (/^u\d+$/.test(key) ? Number(key.slice(1)) : undefined) } as unknown as OnlineModel;

test("a delta's user rows go to their user's partition; shared keys, and users of no known partition, stay out", () => {
  const delta: StateDelta = {
    users: [[0, 'alice']],
    items: [[0, 'x']],
    history: [
      [1, 4],
      [2, 5],
    ],
    models: [
      ['mf', 'u1', new Uint8Array([1])],
      ['mf', 'i4', new Uint8Array([2])],
      ['mf', 'u3', null],
    ],
    evaluation: undefined as unknown as StateDelta['evaluation'],
    lists: [
      [3, Int32Array.from([7, 8])],
      [9, Int32Array.from([1])],
    ],
  };
  const activity = new Map([
    [1, { eventTs: 10, partition: 0 }],
    [2, { eventTs: 11, partition: 2 }],
  ]);
  // User 3 had no event in this batch: the state says where they belong; user 9 is nobody's here.
  const rows = userRowsOf(delta, activity, [model], (user) => (user === 3 ? 2 : undefined));
  const keys = (partition: number) => rows.get(partition)?.map(userRowKey);
  assert.deepEqual(keys(0), ['1 h 4', '1 m mf u1', '1 a']);
  assert.deepEqual(keys(2), ['2 h 5', '3 m mf u3', '3 l', '2 a']);
  assert.deepEqual([...rows.keys()].sort(), [0, 2]);
});

test('a row comes back from its key and value', () => {
  const rows: UserRow[] = [
    { kind: 'history', user: 4, item: 12 },
    { kind: 'model', user: 4, model: 'implicit-als', key: 'h4.0', value: new Uint8Array([3, 4]) },
    { kind: 'model', user: 4, model: 'knn-item', key: 's.u 4 with spaces', value: null },
    { kind: 'list', user: 4, items: Int32Array.from([5, 6, 7]) },
    { kind: 'activity', user: 4, activity: { eventTs: 99, partition: 3 } },
  ];
  for (const row of rows) assert.deepEqual(userRowFrom(userRowKey(row), userRowValue(row)), row);
  assert.throws(() => userRowFrom('~position', 1), /not a user-state key/);
});
