import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeItem, decodeUser } from '../../src/events/metadata.js';

const reasonOf = (result: ReturnType<typeof decodeItem> | ReturnType<typeof decodeUser>) => {
  assert.equal(result.ok, false, 'expected a rejection');
  return result.ok ? '' : `${result.kind}: ${result.reason}`;
};

test('item and user records decode to the contract fields only', () => {
  assert.deepEqual(decodeItem('{"itemId":"7","title":"Seven (1995)","genres":["Crime"],"year":1995,"extra":1}'), {
    ok: true,
    value: { itemId: '7', title: 'Seven (1995)', genres: ['Crime'], year: 1995 },
  });
  assert.deepEqual(decodeItem(Buffer.from('{"itemId":"8","title":"Eight","genres":[]}')), { ok: true, value: { itemId: '8', title: 'Eight', genres: [] } });
  assert.deepEqual(decodeUser('{"userId":"3","age":25,"gender":"F","occupation":"writer","zip":"55105","note":"x"}'), {
    ok: true,
    value: { userId: '3', age: 25, gender: 'F', occupation: 'writer', zip: '55105' },
  });
  assert.deepEqual(decodeUser('{"userId":"4"}'), { ok: true, value: { userId: '4' } });
});

test('each problem of an item or user record is named', () => {
  assert.match(reasonOf(decodeItem('{"itemId":"7","genres":[]}')), /^schema: missing field 'title'$/);
  assert.match(reasonOf(decodeItem('{"itemId":"7","title":"T","genres":"Crime"}')), /^schema: field 'genres' must be array$/);
  assert.match(reasonOf(decodeItem('{"itemId":"","title":"T","genres":[]}')), /^schema: field 'itemId' is empty$/);
  assert.match(reasonOf(decodeItem('[1]')), /^schema: item is not a JSON object$/);
  assert.match(reasonOf(decodeUser('{"userId":"3","age":"old"}')), /^schema: field 'age' must be integer$/);
  assert.match(reasonOf(decodeUser('{"age":3}')), /^schema: missing field 'userId'$/);
  assert.match(reasonOf(decodeUser('{"userId":')), /^not_json: not JSON: /);
  assert.match(reasonOf(decodeUser(`{"userId":"3","zip":"${'9'.repeat(200)}"}`, 100)), /^oversized: oversized message: \d+ bytes > 100$/);
});

test('item and user ids follow the rating ids: no control characters, no lone surrogates', () => {
  assert.equal(
    reasonOf(decodeItem('{"itemId":"i\\u001b[2J","title":"T","genres":[]}')),
    "schema: field 'itemId' contains a control character or a lone surrogate",
  );
  assert.equal(reasonOf(decodeUser('{"userId":"u\\ud800"}')), "schema: field 'userId' contains a control character or a lone surrogate");
  assert.equal(
    decodeItem('{"itemId":"i😀","title":"T\\u001b","genres":[]}').ok,
    true,
    'an astral id, and a title with a control character (escaped where shown)',
  );
});
