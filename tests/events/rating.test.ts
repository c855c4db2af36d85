import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRating, encodeRating, validateRating, wrongKeyReason } from '../../src/events/rating.js';
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

test('hostile values: each class is rejected with its kind, and what the contract accepts is accepted', () => {
  const event = (fields: string) => `{"userId":"u1","itemId":"i1","rating":3,"ts":881250949000,${fields}}`.replace(',}', '}');
  const rejected: Array<[string, RegExp]> = [
    ['{"userId":"u1","itemId":"i1","rating":NaN,"ts":1}', /^not_json: /],
    ['{"userId":"u1","itemId":"i1","rating":Infinity,"ts":1}', /^not_json: /],
    // JSON has no infinity, but 1e999 parses to one.
    ['{"userId":"u1","itemId":"i1","rating":1e999,"ts":1}', /^schema: field 'rating' must be number$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":1e999}', /^timestamp: bad timestamp: field 'ts' must be integer$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":-1}', /^timestamp: .* must be >= 0$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":0.25}', /^timestamp: .* must be integer$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":8640000000000001}', /^timestamp: .* must be <= 8640000000000000$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":"881250949000"}', /^timestamp: .* must be integer$/],
    ['{"userId":["u1"],"itemId":"i1","rating":3,"ts":1}', /^schema: field 'userId' must be string$/],
    ['{"userId":"u1","itemId":null,"rating":3,"ts":1}', /^schema: field 'itemId' must be string$/],
    ['{"userId":"u1","itemId":"i1","rating":true,"ts":1}', /^schema: field 'rating' must be number$/],
    [`{"userId":"${'u'.repeat(10_000)}","itemId":"i1","rating":3,"ts":1}`, /^schema: field 'userId' must NOT have more than 256 characters$/],
    ['{"userId":"u\\u0000","itemId":"i1","rating":3,"ts":1}', /^schema: field 'userId' contains a control character or a lone surrogate$/],
    ['{"userId":"u1","itemId":"i\\u001b[2J","rating":3,"ts":1}', /^schema: field 'itemId' contains a control character/],
    ['{"userId":"u\\u0085","itemId":"i1","rating":3,"ts":1}', /^schema: field 'userId' contains a control character/],
    // UTF-8 (LMDB, Kafka keys) cannot hold a lone surrogate: two such ids would become one.
    ['{"userId":"u\\ud800","itemId":"i1","rating":3,"ts":1}', /^schema: field 'userId' contains .* lone surrogate$/],
    ['{"userId":"u1","itemId":"i1","rating":3,"ts":1} trailing', /^not_json: /],
    ['{"userId":"u1","itemId":"i1","rating":3', /^not_json: /],
  ];
  for (const [raw, reason] of rejected) assert.match(reasonOf(raw), reason, raw.slice(0, 80));
  // Accepted: an astral character in an id, extra fields (ignored, not kept), ts 0, a whole number written as 3.0.
  const accepted = decodeRating(event('"note":"' + 'x'.repeat(60_000) + '","userId":"u😀"'), WHOLE_STARS);
  assert.deepEqual(accepted, { ok: true, event: { userId: 'u😀', itemId: 'i1', rating: 3, ts: 881250949000 } });
  assert.equal(decodeRating('{"userId":"u1","itemId":"i1","rating":3.0,"ts":0}', WHOLE_STARS).ok, true);
});

test("a record keyed by another user is named; no key or the user's own key is fine", () => {
  const event = { userId: 'u1', itemId: 'i1', rating: 3, ts: 1 };
  assert.equal(wrongKeyReason('u1', event), undefined);
  assert.equal(wrongKeyReason(null, event), undefined);
  assert.equal(wrongKeyReason('u2', event), "key 'u2' (2 characters) is not the event's userId 'u1': ratings are keyed by their user");
  assert.match(wrongKeyReason('k'.repeat(10_000), event)!, /^key 'k{64}…' \(10000 characters\) is not/);
});
