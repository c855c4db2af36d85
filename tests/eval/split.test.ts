import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitPerUser } from '../../src/eval/split.js';

/** Users 0..sizes.length-1 with sizes[u] ratings each, interleaved as a stream would be. */
function interleaved(sizes: readonly number[]): number[] {
  const users: number[] = [];
  for (let round = 0; round < Math.max(...sizes); round++) sizes.forEach((size, user) => round < size && users.push(user));
  return users;
}

function heldOutByUser(users: readonly number[], isTest: Uint8Array): number[] {
  const held: number[] = [];
  users.forEach((user, position) => (held[user] = (held[user] ?? 0) + isTest[position]!));
  return held;
}

test('each user holds out round(n × share) of their ratings, at least one and never all', () => {
  const sizes = [5, 8, 10, 20, 21, 100];
  const users = interleaved(sizes);
  const split = splitPerUser(users.length, (p) => users[p]!, { testShare: 0.2, minRatings: 5, seed: 42 });
  assert.deepEqual(heldOutByUser(users, split.isTest), [1, 2, 2, 4, 4, 20]);
  assert.equal(split.testCount, 33);
  assert.deepEqual([split.users, split.splitUsers, split.keptWhole], [6, 6, 0]);
  const quarter = splitPerUser(users.length, (p) => users[p]!, { testShare: 0.25, minRatings: 2, seed: 42 });
  assert.deepEqual(heldOutByUser(users, quarter.isTest), [1, 2, 3, 5, 5, 25]);
  const two = splitPerUser(2, () => 0, { testShare: 0.25, minRatings: 2, seed: 1 });
  assert.deepEqual([...two.isTest].sort(), [0, 1]);
});

test('users with fewer than minRatings ratings stay wholly in training', () => {
  const users = interleaved([4, 1, 5, 3, 12]);
  const split = splitPerUser(users.length, (p) => users[p]!, { testShare: 0.2, minRatings: 5, seed: 42 });
  assert.deepEqual(heldOutByUser(users, split.isTest), [0, 0, 1, 0, 2]);
  assert.deepEqual([split.users, split.splitUsers, split.keptWhole, split.testCount], [5, 2, 3, 3]);
  const none = splitPerUser(3, (p) => p, { testShare: 0.2, minRatings: 5, seed: 42 });
  assert.deepEqual([none.testCount, none.keptWhole], [0, 3]);
});

test('the split is determined by the seed', () => {
  const users = interleaved(Array.from({ length: 30 }, (_, u) => 5 + u));
  const split = (seed: number) => [...splitPerUser(users.length, (p) => users[p]!, { testShare: 0.2, minRatings: 5, seed }).isTest];
  assert.deepEqual(split(42), split(42));
  assert.notDeepEqual(split(42), split(43));
});

test('rules that cannot split are refused', () => {
  assert.throws(() => splitPerUser(1, () => 0, { testShare: 1, minRatings: 5, seed: 1 }), /test share must be in \(0, 1\)/);
  assert.throws(() => splitPerUser(1, () => 0, { testShare: 0.2, minRatings: 1, seed: 1 }), /at least 2 ratings/);
});
