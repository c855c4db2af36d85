import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listFigures, meanListFigures, ratingErrors } from '../../src/eval/offline-metrics.js';
import { HALF_STARS, WHOLE_STARS } from '../../src/events/scale.js';

const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

test('precision, recall and NDCG at k with binary relevance, by hand', () => {
  // Hits at ranks 1 and 3 of 4 listed; 3 relevant, one of them not listed.
  const figures = listFigures(['a', 'x', 'b', 'y'], new Set(['a', 'b', 'c']), 4);
  close(figures.precision, 2 / 4);
  close(figures.recall, 2 / 3);
  close(figures.ndcg, (1 + 1 / Math.log2(4)) / (1 + 1 / Math.log2(3) + 1 / Math.log2(4)));
  // The ideal DCG covers min(k, |relevant|) ranks; a list shorter than k still divides precision by k.
  const short = listFigures([7], new Set([7]), 10);
  assert.deepEqual(short, { precision: 0.1, recall: 1, ndcg: 1 });
  // Hits beyond k do not count.
  assert.deepEqual(listFigures([1, 2, 3], new Set([3]), 2), { precision: 0, recall: 0, ndcg: 0 });
  assert.throws(() => listFigures([1], new Set(), 10), /at least one relevant item/);
});

test('figures are averaged over users', () => {
  const mean = meanListFigures([
    { precision: 0.2, recall: 1, ndcg: 0.5 },
    { precision: 0, recall: 0, ndcg: 0 },
  ]);
  close(mean.precision, 0.1);
  close(mean.recall, 0.5);
  close(mean.ndcg, 0.25);
});

test('RMSE and MAE clip each prediction to the scale first', () => {
  // 5.6 → 5 (error 0), 0.2 → 1 (error −1), 3.5 against 3 (error 0.5).
  const errors = ratingErrors([5.6, 0.2, 3.5], [5, 2, 3], WHOLE_STARS);
  close(errors.rmse, Math.sqrt((0 + 1 + 0.25) / 3));
  close(errors.mae, 1.5 / 3);
  assert.equal(errors.count, 3);
  close(ratingErrors([0.1], [1], HALF_STARS).mae, 0.5);
  assert.throws(() => ratingErrors([1, 2], [1], WHOLE_STARS), /2 predictions for 1 ratings/);
});
