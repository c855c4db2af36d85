/** Offsets requests wait for a partition's leader: kafkajs's own error for broker code 6 is taken for "no leader yet", others are not. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { untilLed } from '../../../streams/kafka/offsets.js';

/** The error kafkajs throws for a broker's error code, made by kafkajs itself, so its type names are the ones tested. */
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };

test('an offsets request answered "not the leader" (code 6) or "leader not available" (code 5) is asked again until it is answered', async () => {
  for (const code of [6, 5, 3]) {
    let calls = 0;
    const offsets = await untilLed(async () => {
      if (++calls < 3) throw createErrorFromCode(code);
      return 'offsets';
    }, 5_000);
    assert.equal(offsets, 'offsets', `code ${code}`);
    assert.equal(calls, 3, `code ${code}`);
  }
});

test('other errors are thrown at once, and a partition that stays leaderless is thrown after the wait', async () => {
  let calls = 0;
  await assert.rejects(
    untilLed(() => {
      calls++;
      return Promise.reject(createErrorFromCode(29)); // TOPIC_AUTHORIZATION_FAILED
    }, 5_000),
    /Not authorized to access topics/,
  );
  assert.equal(calls, 1);
  await assert.rejects(
    untilLed(() => Promise.reject(createErrorFromCode(6)), 600),
    /not the leader for that topic-partition/,
  );
});
