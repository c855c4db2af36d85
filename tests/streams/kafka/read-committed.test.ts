/**
 * Records of aborted transactions stay hidden from read_committed consumers when transactions of
 * several producers interleave (streams/kafka/read-committed.ts replaces kafkajs's filter).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import '../../../streams/kafka/kafkajs.js';
import { withoutAborted } from '../../../streams/kafka/read-committed.js';

const record = (offset: number, producerId: string, value: string) => ({
  offset: String(offset),
  key: Buffer.from(value),
  value,
  batchContext: { producerId, inTransaction: true },
});
const abortMarker = (offset: number, producerId: string) => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  value: 'abort',
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});
const commitMarker = (offset: number, producerId: string) => ({ ...abortMarker(offset, producerId), key: Buffer.from([0, 0, 0, 1]), value: 'commit' });

/**
 * A's transaction starts first and is aborted last; B's starts after it and is aborted first;
 * C commits between them. The broker lists aborted transactions in the order they ended: B, then A.
 */
const interleaved = {
  messages: [
    record(10, '1', 'a1'),
    record(11, '2', 'b1'),
    record(12, '3', 'c1'),
    abortMarker(13, '2'),
    commitMarker(14, '3'),
    record(15, '1', 'a2'),
    abortMarker(16, '1'),
    record(17, '1', 'a3'),
    commitMarker(18, '1'),
  ],
  abortedTransactions: [
    { producerId: '2', firstOffset: '11' },
    { producerId: '1', firstOffset: '10' },
  ],
};
const values = (messages: ReadonlyArray<{ value: string; isControlRecord?: boolean }>) => messages.filter((m) => !m.isControlRecord).map((m) => m.value);

test("an aborted transaction that began before another one ended is skipped, whatever the order of the broker's list", () => {
  assert.deepEqual(values(withoutAborted(interleaved)), ['c1', 'a3']);
  assert.deepEqual(values(withoutAborted({ ...interleaved, abortedTransactions: [...interleaved.abortedTransactions].reverse() })), ['c1', 'a3']);
  assert.deepEqual(values(withoutAborted({ messages: interleaved.messages })), ['a1', 'b1', 'c1', 'a2', 'a3'], 'nothing aborted: all');
});

test("kafkajs's consumer batches use the filter: kafkajs is loaded through streams/kafka/kafkajs.js", () => {
  const Batch = createRequire(import.meta.url)('kafkajs/src/consumer/batch.js') as new (
    topic: string,
    fetchedOffset: string,
    partitionData: object,
  ) => { messages: Array<{ value: string }> };
  const batch = new Batch('t', '10', { partition: 0, highWatermark: '19', ...interleaved });
  assert.deepEqual(
    batch.messages.map((m) => m.value),
    ['c1', 'a3'],
  );
});
