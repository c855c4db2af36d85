import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadLetterOf, MAX_KEY_BYTES, MAX_RAW_BYTES } from '../../streams/dead-letter.js';

const record = (value: Uint8Array | string, key: string | null = 'u1') => ({ partition: 2, offset: 7, key, value, origin: 'rxrec.ratings' });

test('a dead letter keeps the original bytes and key as they were', () => {
  const letter = deadLetterOf(record(Buffer.from('{"userId":"u1"')), 'rxrec.ratings', 'not JSON: …');
  assert.deepEqual(letter, {
    reason: 'not JSON: …',
    topic: 'rxrec.ratings',
    partition: 2,
    offset: 7,
    origin: 'rxrec.ratings',
    key: 'u1',
    raw: '{"userId":"u1"',
  });
  assert.equal(deadLetterOf(record(Buffer.from([0xff, 0x00])), 't', 'r').raw, 'base64:/wA=');
});

test('a huge value or key is cut so the escaped letter stays under the broker limit, with the full sizes given', () => {
  // 300,000 control characters escape to 1.8 MB: the broker (message.max.bytes 1 MB) would refuse the letter whole.
  const controls = Buffer.alloc(300_000, 0x01);
  const letter = deadLetterOf(record(controls, 'k'.repeat(200_000)), 't', 'oversized message');
  assert.ok(Buffer.byteLength(JSON.stringify(letter.raw)) <= MAX_RAW_BYTES);
  assert.ok(Buffer.byteLength(JSON.stringify(letter.raw)) > MAX_RAW_BYTES - 6, 'as much as fits');
  assert.ok(controls.toString('utf8').startsWith(letter.raw));
  assert.equal(letter.rawBytes, 300_000);
  assert.equal(letter.key!.length, MAX_KEY_BYTES - 2);
  assert.equal(letter.keyBytes, 200_000);
  assert.ok(Buffer.byteLength(JSON.stringify(letter)) < 1_000_000);

  const binary = deadLetterOf(record(Buffer.alloc(900_000, 0xfe)), 't', 'r');
  assert.match(binary.raw, /^base64:[A-Za-z0-9+/]+$/);
  assert.equal((binary.raw.length - 7) % 4, 0, 'whole base64 groups');
  assert.ok(binary.raw.length + 2 <= MAX_RAW_BYTES);
  assert.equal(binary.rawBytes, 900_000);

  // Never half of a surrogate pair.
  const emoji = deadLetterOf(record('😀'.repeat(200_000)), 't', 'r');
  assert.equal(emoji.raw.length % 2, 0);
  assert.equal(Buffer.from(emoji.raw).toString(), emoji.raw, 'well-formed');
  assert.equal(emoji.rawBytes, 800_000);
});
