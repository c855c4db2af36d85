/**
 * The Kafka rating source against a real broker: where each partition resumes (the later of the
 * stored position and the group's committed offset, else the start), nothing handed out twice or
 * before a resume point across restarts and rebalances, offsets committed for lag tools and for
 * the hand-over, backpressure, lag.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Kafka } from 'kafkajs';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames, type KafkaSettings } from '../../streams/kafka/config.js';
import { endOffsets as topicEnds } from '../../streams/kafka/offsets.js';
import { openProduceTransport } from '../../streams/kafka/open.js';
import { KafkaRatingSource } from '../../streams/kafka/source.js';
import type { RawRecord } from '../../streams/transport.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

const quiet = collectingLog().log;

/** Publish `count` ratings of `users` users (numbered from `from`), creating the topics first. */
async function produceRatings(settings: KafkaSettings, count: number, from = 0, users = 30): Promise<void> {
  const produce = await openProduceTransport(settings, quiet);
  try {
    await produce.ratings.publish(
      Array.from({ length: count }, (_, index) => ({
        userId: `u${(from + index) % users}`,
        itemId: `i${from + index}`,
        rating: 1 + ((from + index) % 5),
        ts: 1_000_000 + from + index,
      })),
    );
  } finally {
    await produce.close();
  }
}

async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await topicEnds(admin, topic);
  } finally {
    await admin.disconnect();
  }
}

function openSource(t: TestContext, settings: KafkaSettings): KafkaRatingSource {
  const source = new KafkaRatingSource(kafkaClient(settings, quiet), settings, { log: quiet });
  t.after(() => source.close());
  return source;
}

/** Per partition, the offset after the batch's last record: what the pipeline stores. */
function positionsAfter(records: readonly RawRecord[]): Map<number, number> {
  const positions = new Map<number, number>();
  for (const record of records) positions.set(record.partition, Math.max(record.offset + 1, positions.get(record.partition) ?? 0));
  return positions;
}

/**
 * Poll (acknowledging each batch as the pipeline does after its LMDB commit) until `enough`
 * holds, then check that nothing more comes within `quietMs`.
 */
async function pollAll(source: KafkaRatingSource, enough: (records: RawRecord[]) => boolean, quietMs = 1_500, timeoutMs = 30_000): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!enough(records)) {
    assert.ok(Date.now() < deadline, `polled only ${records.length} records in ${timeoutMs} ms`);
    const batch = await source.poll(50, 200);
    assert.notEqual(batch, null, 'poll ended the stream before close');
    records.push(...batch!);
    await source.committed(positionsAfter(batch!));
  }
  const extra = await source.poll(1_000, quietMs);
  assert.deepEqual(extra?.map(describe), [], 'no records beyond the expected ones');
  return records;
}

const describe = (record: RawRecord) => `${record.partition}:${record.offset}`;

/** Offsets handed out per partition, in the order they were handed out. */
function offsetsByPartition(records: readonly RawRecord[]): Map<number, number[]> {
  const byPartition = new Map<number, number[]>();
  for (const record of records) {
    if (!byPartition.has(record.partition)) byPartition.set(record.partition, []);
    byPartition.get(record.partition)!.push(record.offset);
  }
  return byPartition;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, index) => from + index);

test('each partition resumes at its stored position; nothing before it is handed out', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  await produceRatings(settings, 90);
  const topic = topicNames(settings.topicPrefix).ratings;
  const ends = await endOffsets(kafkaClient(settings, quiet), topic);
  assert.ok(
    [...ends.values()].every((end) => end >= 6),
    `every partition has records: ${[...ends]}`,
  );

  // p0 applied up to 5, p1 never seen, p2 fully applied.
  const stored = new Map([
    [0, 5],
    [2, ends.get(2)!],
  ]);
  const source = openSource(t, settings);
  assert.equal(source.streamId, `kafka:${topic}`);
  await source.start((partition) => stored.get(partition));
  const expected = ends.get(0)! - 5 + ends.get(1)!;
  const records = await pollAll(source, (all) => all.length >= expected);

  const byPartition = offsetsByPartition(records);
  assert.deepEqual(byPartition.get(0), range(5, ends.get(0)!));
  assert.deepEqual(byPartition.get(1), range(0, ends.get(1)!));
  assert.equal(byPartition.get(2), undefined);
  assert.deepEqual(source.assignment(), [0, 1, 2]);
  assert.equal(source.isConnected(), true);

  const first = records[0]!;
  const event = JSON.parse(Buffer.from(first.value as Uint8Array).toString('utf8'));
  assert.equal(first.key, event.userId, 'key = userId');
  assert.equal(first.origin, topic);
  assert.deepEqual(Object.keys(event).sort(), ['itemId', 'rating', 'ts', 'userId']);

  await source.close();
  assert.equal(await source.poll(10, 10), null, 'null only after close');
  assert.equal(source.isConnected(), false);
});

test('committed positions reach the group; a partition with no stored position resumes there, a stored one wins', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  await produceRatings(settings, 60);
  const kafka = kafkaClient(settings, quiet);
  const topic = topicNames(settings.topicPrefix).ratings;
  const ends = await endOffsets(kafka, topic);

  // A worker that applied everything, but whose last Kafka commits say less (they lag its state).
  const first = openSource(t, settings);
  await first.start(() => undefined);
  await pollAll(first, (all) => all.length >= 60, 200);
  await first.committed(
    new Map([
      [0, 4],
      [1, ends.get(1)!],
      [2, 1],
    ]),
  );
  await first.close();

  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const [committed] = await admin.fetchOffsets({ groupId: settings.groupId, topics: [topic] });
  assert.deepEqual(committed!.partitions.map(({ partition, offset }) => [partition, Number(offset)]).sort(), [
    [0, 4],
    [1, ends.get(1)!],
    [2, 1],
  ]);

  // The state store knows p2 up to 3 (Kafka's commit lags behind it); p0 and p1 it never saw.
  const second = openSource(t, settings);
  await second.start((partition) => (partition === 2 ? 3 : undefined));
  const records = await pollAll(second, (all) => all.length >= ends.get(0)! - 4 + ends.get(2)! - 3);
  const byPartition = offsetsByPartition(records);
  assert.deepEqual(byPartition.get(0), range(4, ends.get(0)!));
  assert.equal(byPartition.get(1), undefined);
  assert.deepEqual(byPartition.get(2), range(3, ends.get(2)!));
});

test('a restarted worker hands out exactly what its state has not applied, whatever Kafka committed', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  await produceRatings(settings, 90);
  const applied = new Map<number, number>();
  const apply = (records: RawRecord[]) => {
    for (const record of records) applied.set(record.partition, record.offset + 1);
  };

  const before = openSource(t, settings);
  await before.start((partition) => applied.get(partition));
  const handedOut: RawRecord[] = [];
  while (handedOut.length < 40) {
    const batch = (await before.poll(7, 200))!;
    apply(batch);
    handedOut.push(...batch);
  }
  // A crash: no Kafka commit at all, buffered records lost with the process.
  await before.close();

  const after = openSource(t, settings);
  await after.start((partition) => applied.get(partition));
  const rest = await pollAll(after, (all) => handedOut.length + all.length >= 90);
  const all = [...handedOut, ...rest].map(describe);
  assert.equal(new Set(all).size, 90, 'no record handed out twice');
  assert.equal(all.length, 90);
});

test('two workers in one group: a rebalance hands every record out once and drops revoked partitions', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 4 });
  await produceRatings(settings, 400);
  // One state store shared by the two workers, so their positions can be checked together.
  const applied = new Map<number, number>();
  const handedOut: Array<{ worker: string; record: RawRecord }> = [];

  // Small batches that take a while to apply, so the rebalance lands while records are buffered.
  const run = async (worker: string, source: KafkaRatingSource, until: () => boolean) => {
    while (!until()) {
      const batch = (await source.poll(5, 100))!;
      await new Promise((resolve) => setTimeout(resolve, 30));
      const held = source.assignment();
      for (const record of batch) {
        assert.ok(held.includes(record.partition), `${worker} handed out ${describe(record)} of a partition it does not hold (${held})`);
        applied.set(record.partition, record.offset + 1);
        handedOut.push({ worker, record });
      }
      await source.committed(positionsAfter(batch));
    }
  };

  const a = openSource(t, settings);
  await a.start((partition) => applied.get(partition));
  await run('a', a, () => handedOut.length >= 60);

  const b = openSource(t, settings);
  const bStarted = b.start((partition) => applied.get(partition));
  const finished = () => handedOut.length >= 600;
  const both = Promise.all([run('a', a, finished), bStarted.then(() => run('b', b, finished))]);
  await bStarted;
  await produceRatings(settings, 200, 400);
  await both;

  const ends = await endOffsets(kafkaClient(settings, quiet), topicNames(settings.topicPrefix).ratings);
  const byPartition = offsetsByPartition(handedOut.map(({ record }) => record));
  for (const [partition, end] of ends) {
    assert.deepEqual(
      [...(byPartition.get(partition) ?? [])].sort((x, y) => x - y),
      range(0, end),
      `partition ${partition}: every offset exactly once`,
    );
  }
  assert.ok(
    handedOut.some(({ worker }) => worker === 'b'),
    'the second worker got records',
  );
  const heldByA = a.assignment();
  const heldByB = b.assignment();
  assert.ok(heldByA.length > 0 && heldByB.length > 0, `both hold partitions: a ${heldByA}, b ${heldByB}`);
  assert.deepEqual([...heldByA, ...heldByB].sort(), [0, 1, 2, 3]);
});

test('a partition resumes from the group offset when another worker moved it past the stored position', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 2 });
  await produceRatings(settings, 80);
  const ends = await endOffsets(kafkaClient(settings, quiet), topicNames(settings.topicPrefix).ratings);

  // Another worker of the group applied p0 up to 12 and p1 up to 3, and committed that.
  const other = openSource(t, settings);
  await other.start(() => undefined);
  await pollAll(other, (all) => all.length >= 80, 200);
  await other.committed(
    new Map([
      [0, 12],
      [1, 3],
    ]),
  );
  await other.close();

  // This worker's own state stopped earlier on p0 (5) and later on p1 (7): each resumes at the later.
  const { lines, log } = collectingLog();
  const source = new KafkaRatingSource(kafkaClient(settings, quiet), settings, { log });
  t.after(() => source.close());
  await source.start((partition) => (partition === 0 ? 5 : 7));
  const records = await pollAll(source, (all) => all.length >= ends.get(0)! - 12 + ends.get(1)! - 7);
  const byPartition = offsetsByPartition(records);
  assert.deepEqual(byPartition.get(0), range(12, ends.get(0)!));
  assert.deepEqual(byPartition.get(1), range(7, ends.get(1)!));
  assert.equal(source.lag(), 0, 'caught up');
  // The gap on p0 (5 to 12) is another worker's: said, once (at the partition's first fetch); p1 has none.
  const gapLines = () => lines.filter((line) => line.includes('where another worker left it'));
  for (const deadline = Date.now() + 10_000; gapLines().length === 0 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
  const gaps = gapLines();
  assert.deepEqual(gaps, [
    "kafka warn: partition 0 resumes at offset 12, where another worker left it; its 7 events from offset 5 are in that worker's state, not this one's (its users' histories and lists here lack them)",
  ]);
});

test('fetching waits until the pipeline has committed what it was handed; lag counts what is left', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  await produceRatings(settings, 50);
  const source = openSource(t, settings);
  await source.start(() => undefined);

  const deadline = Date.now() + 20_000;
  while (source.bufferedRecords() < 50 || source.lag() === undefined) {
    assert.ok(Date.now() < deadline, `only ${source.bufferedRecords()} records were fetched`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(source.lag(), 50);
  await produceRatings(settings, 50, 50);
  const first = (await source.poll(1_000, 1_000))!;
  assert.deepEqual(
    first.map((record) => record.offset),
    range(0, 50),
  );
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal(source.bufferedRecords(), 0, 'nothing is fetched while the handed-out records are not committed');

  await source.committed(positionsAfter(first));
  const records = await pollAll(source, (all) => all.length >= 50);
  assert.deepEqual(
    records.map((record) => record.offset),
    range(50, 100),
  );
  assert.equal(source.lag(), 0);
});

test('a failed offset commit is retried, and the partition moves to a new worker only once its offset is committed', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 2 });
  await produceRatings(settings, 100);
  // Worker a's commits fail until `failing` is cleared: its consumer is the real one with commitOffsets wrapped.
  let failing = true;
  let failedCommits = 0;
  const real = kafkaClient(settings, quiet);
  const flaky = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'consumer') return Reflect.get(target, property, receiver);
      return (config: Parameters<Kafka['consumer']>[0]) => {
        const consumer = target.consumer(config);
        const commitOffsets = consumer.commitOffsets.bind(consumer);
        consumer.commitOffsets = async (offsets) => {
          if (failing) {
            failedCommits++;
            throw new Error('injected: the group coordinator is not available');
          }
          return commitOffsets(offsets);
        };
        return consumer;
      };
    },
  });
  const { lines, log } = collectingLog();
  const a = new KafkaRatingSource(flaky, settings, { log });
  t.after(() => a.close());
  const applied = new Map<number, number>();
  await a.start((partition) => applied.get(partition));
  const handedOut: Array<{ worker: string; record: RawRecord }> = [];
  const take = async (worker: string, source: KafkaRatingSource, store: Map<number, number>) => {
    const batch = (await source.poll(1_000, 100))!;
    for (const record of batch) {
      store.set(record.partition, record.offset + 1);
      handedOut.push({ worker, record });
    }
    if (batch.length > 0) await source.committed(positionsAfter(batch));
  };
  while (handedOut.length < 100) await take('a', a, applied);

  // Worker b, with an empty state, joins while a's commits fail: the rebalance must wait for them.
  const bApplied = new Map<number, number>();
  const b = openSource(t, settings);
  const bStarted = b.start((partition) => bApplied.get(partition));
  const deadline = Date.now() + 60_000;
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  assert.ok(failedCommits >= 2, `a's commit was retried (${failedCommits} attempts failed)`);
  assert.deepEqual(b.assignment(), [], 'b holds nothing while a has not committed');
  failing = false;
  await bStarted;
  while (b.assignment().length === 0) {
    assert.ok(Date.now() < deadline, 'b never got a partition');
    await take('a', a, applied);
    await take('b', b, bApplied);
  }
  await produceRatings(settings, 40, 100);
  while (handedOut.length < 140) {
    assert.ok(Date.now() < deadline, `only ${handedOut.length} of 140 records handed out`);
    await Promise.all([take('a', a, applied), take('b', b, bApplied)]);
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await Promise.all([take('a', a, applied), take('b', b, bApplied)]);

  const ends = await endOffsets(real, topicNames(settings.topicPrefix).ratings);
  const byPartition = offsetsByPartition(handedOut.map(({ record }) => record));
  for (const [partition, end] of ends) {
    assert.deepEqual(
      [...(byPartition.get(partition) ?? [])].sort((x, y) => x - y),
      range(0, end),
      `partition ${partition}: every offset handed out exactly once across the two workers`,
    );
  }
  assert.ok(
    handedOut.some(({ worker }) => worker === 'b'),
    'b got records of its own',
  );
  assert.ok(
    lines.some((line) => /injected.*retrying; p\d@\d+.* stay with this worker until committed/.test(line)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) => /committed p\d@\d+.* after \d+ failed attempts/.test(line)),
    lines.join('\n'),
  );
});

test('a consumer that stalls past its session timeout while it holds a batch is told it was dropped; one that does not is still a member', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  await produceRatings(settings, 20);
  const sessionTimeoutMs = 3_000;
  const source = new KafkaRatingSource(kafkaClient(settings, quiet), settings, { log: quiet, sessionTimeoutMs });
  t.after(() => source.close());
  await source.start(() => undefined);
  const batch = await source.poll(50, 10_000);
  assert.ok(batch && batch.length > 0, 'a batch is held');
  await source.confirmMembership();

  // The whole process stops (a long GC pause, a machine that stalls): no heartbeat goes out.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sessionTimeoutMs + 2_000);
  await assert.rejects(source.confirmMembership(), (error: Error) => {
    assert.equal(error.name, 'GroupMembershipLost');
    assert.match(error.message, /dropped this worker while it held a batch \(the process stood still for \d\.\d s, at least its session timeout of 3 s/);
    assert.match(error.message, /it stops without committing the batch/);
    return true;
  });
});
