/**
 * What stays exact when a group of workers splits the stream by user (Kafka partitions): the
 * item-item co-rating statistics are sums over users of links within one user's history, so
 * the workers' statistics add up to one worker's exactly; user-user links run through an item's
 * raters, who are spread over the partitions, so the split loses the pairs across them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../src/events/scale.js';
import type { IndexedRating } from '../../src/models/model.js';
import { SimilarityIndex, type SimilarityKind } from '../../src/similarity/similarity-index.js';
import { randomStream } from './reference.js';

const WORKERS = 3;

function indexes(kind: SimilarityKind, events: readonly IndexedRating[]) {
  const make = () => new SimilarityIndex(WHOLE_STARS, { kind, pruneAfter: Infinity, historyCap: 8 });
  const whole = make();
  const parts = Array.from({ length: WORKERS }, make);
  for (const event of events) {
    whole.learn(event);
    parts[event.user % WORKERS]!.learn(event);
  }
  return { whole, parts };
}

function summed(parts: readonly SimilarityIndex[], a: number, b: number): number[] {
  return parts.map((part) => part.pairSums(a, b)).reduce((total, sums) => total.map((value, f) => value + sums[f]!));
}

test('item-item statistics of a stream split by user add up to the whole stream’s, exactly (re-ratings and the history cap included)', () => {
  const events = randomStream({ events: 3000, users: 40, items: 30, seed: 17, rerate: 0.1 });
  const { whole, parts } = indexes('item', events);
  let pairs = 0;
  for (let a = 0; a < 30; a++) {
    for (let b = a + 1; b < 30; b++) {
      assert.deepEqual(summed(parts, a, b), whole.pairSums(a, b), `pair ${a}, ${b}`);
      if (whole.support(a, b) > 0) pairs++;
    }
  }
  assert.ok(pairs > 100, `${pairs} pairs compared`);
});

test('user-user statistics of a stream split by user do not: the pairs across partitions are lost', () => {
  const events = randomStream({ events: 3000, users: 40, items: 30, seed: 17, rerate: 0.1 });
  const { whole, parts } = indexes('user', events);
  let across = 0;
  for (let a = 0; a < 40; a++) {
    for (let b = a + 1; b < 40; b++) {
      if (a % WORKERS === b % WORKERS || whole.support(a, b) === 0) continue;
      across++;
      assert.deepEqual(summed(parts, a, b), [0, 0, 0, 0, 0, 0], `users ${a} and ${b} are on different workers`);
    }
  }
  assert.ok(across > 50, `${across} linked pairs across workers`);
});
