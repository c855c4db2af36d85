import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRating, encodeRating, validateRating } from '../../src/events/rating.js';
import { HALF_STARS, scaleByName, WHOLE_STARS } from '../../src/events/scale.js';

const reasonOf = (raw: string, scale = WHOLE_STARS, maxBytes?: number) => {
  const result = decodeRating(raw, scale, maxBytes);
  assert.equal(result.ok, false, `expected ${raw} to be rejected`);
  return result.ok ? '' : `${result.kind}: ${result.reason}`;
};

test('a valid event decodes, with string ids and epoch-ms timestamp', () => {
  const result = decodeRating('{"userId":"196","itemId":"242","rating":3,"ts":881250949000}', WHOLE_STARS);
  assert.deepEqual(result, { ok: true, event: { userId: '196', itemId: '242', rating: 3, ts: 881250949000 } });
  assert.equal(encodeRating({ userId: '1', itemId: '2', rating: 4.5, ts: 7 }), '{"userId":"1","itemId":"2","rating":4.5,"ts":7}');
});

test('each problem is named exactly', () => {
  assert.match(reasonOf('{"userId":"1","itemId":"2","ts":1}'), /^schema: missing field 'rating'$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":"five","ts":1}'), /^schema: field 'rating' must be number$/);
  assert.match(reasonOf('{"userId":1,"itemId":"2","rating":3,"ts":1}'), /^schema: field 'userId' must be string$/);
  assert.match(reasonOf('{"userId":"","itemId":"2","rating":3,"ts":1}'), /^schema: field 'userId' is empty$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":6,"ts":1}'), /^scale: rating 6 is outside the 1-5 scale$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":3.5,"ts":1}'), /^scale: rating 3.5 is not a multiple of 1 on the 1-5 scale$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":3,"ts":-5}'), /^timestamp: bad timestamp: field 'ts' must be >= 0$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":3,"ts":1.5}'), /^timestamp: bad timestamp: field 'ts' must be integer$/);
  assert.match(reasonOf('{"userId":"1","itemId":"2","rating":3}'), /missing field 'ts'/);
  assert.match(reasonOf('{"userId":"1",'), /^not_json: not JSON: /);
  assert.match(reasonOf('[1,2]'), /^schema: event is not a JSON object$/);
  assert.match(
    reasonOf('{"userId":"1","itemId":"2","rating":3,"ts":1,"pad":"' + 'x'.repeat(200) + '"}', WHOLE_STARS, 100),
    /^oversized: oversized message: \d+ bytes > 100$/,
  );
});

test('half-star scale accepts 0.5 steps and rejects others', () => {
  assert.equal(validateRating({ userId: 'a', itemId: 'b', rating: 0.5, ts: 0 }, HALF_STARS).ok, true);
  assert.equal(validateRating({ userId: 'a', itemId: 'b', rating: 4.25, ts: 0 }, HALF_STARS).ok, false);
  assert.throws(() => scaleByName('1-10'), /unknown rating scale '1-10': use one of 1-5, 0.5-5/);
});
