/**
 * The changelog of user state on the real broker (streams/kafka/user-changelog.ts): one
 * transaction per batch, restores from a stored offset, a failed transaction retried whole and
 * seen once, a worker dropped by its group before the commit aborting, a fenced worker stopped,
 * and a changelog whose partitions do not match the ratings' refused.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import type { UserRow } from '../../src/sharing/user-rows.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames, type KafkaSettings } from '../../streams/kafka/config.js';
import { endOffsets } from '../../streams/kafka/offsets.js';
import { openProduceTransport } from '../../streams/kafka/open.js';
import { KafkaRatingSource } from '../../streams/kafka/source.js';
import { ensureTopics, scaleOutTopicSpecs, topicSpecs } from '../../streams/kafka/topics.js';
import { UserChangelog } from '../../streams/kafka/user-changelog.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

const history = (user: number, item: number): UserRow => ({ kind: 'history', user, item });

/** The topics of a scaled-out worker; `scaledOut` gives the scale-out ones other settings. */
async function topicsFor(settings: KafkaSettings, kafka: Kafka, scaledOut = settings): Promise<void> {
  const admin = kafka.admin();
  try {
    await ensureTopics(admin, settings, [...topicSpecs(settings), ...scaleOutTopicSpecs(scaledOut)]);
  } finally {
    await admin.disconnect();
  }
}

/** Settings with `partitions` ratings partitions, a client, and the scale-out topics created. */
async function scaledOutTopics(brokers: readonly string[], partitions: number) {
  const settings = testSettings(brokers, { partitions });
  const kafka = kafkaClient(settings, collectingLog().log);
  await topicsFor(settings, kafka);
  return { settings, kafka, topics: topicNames(settings.topicPrefix) };
}

test('each batch is one transaction; a restore reads what others wrote since its offset, the latest row per key, and the position it reaches', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const { settings, kafka, topics } = await scaledOutTopics(broker.brokers, 3);
  const { log } = collectingLog();
  const a = await UserChangelog.open(kafka, settings, topics, 'a', log);
  const b = await UserChangelog.open(kafka, settings, topics, 'b', log);
  t.after(() => Promise.all([a.close(), b.close()]));

  let aAt = 0;
  for (let batch = 0; batch < 3; batch++) {
    const committed = await a.commit({
      totals: [],
      rows: new Map([[1, [history(batch, 7), { kind: 'model', user: batch, model: 'mf', key: `u${batch}`, value: new Uint8Array([batch]) }]]]),
      positions: new Map([[1, 10 * (batch + 1)]]),
    });
    aAt = committed.changelogAt.get(1)!;
  }
  // b takes the partition over: a row of a's user changes, another is deleted, a new user comes.
  await b.commit({
    totals: [],
    rows: new Map([
      [
        1,
        [
          { kind: 'model', user: 0, model: 'mf', key: 'u0', value: new Uint8Array([9]) },
          { kind: 'model', user: 1, model: 'mf', key: 'u1', value: null },
          history(5, 3),
        ],
      ],
    ]),
    positions: new Map([[1, 45]]),
  });

  const since = await a.restore(new Map([[1, aAt]]));
  assert.deepEqual(since.positions, new Map([[1, 45]]));
  assert.deepEqual(
    since.rows.map((row) =>
      row.kind === 'model'
        ? `${row.user} ${row.key} ${row.value === null ? 'deleted' : [...(row.value as Uint8Array)]}`
        : `${row.user} h ${row.kind === 'history' ? row.item : ''}`,
    ),
    ['0 u0 9', '1 u1 deleted', '5 h 3'],
    'only what b wrote after a',
  );
  const whole = await a.restore(new Map([[1, 0]]));
  assert.deepEqual(whole.positions, new Map([[1, 45]]));
  const models = whole.rows
    .filter((row) => row.kind === 'model')
    .map((row) => `${row.user} ${row.value === null ? 'deleted' : [...(row.value as Uint8Array)]}`);
  assert.deepEqual(models.sort(), ['0 9', '1 deleted', '2 2']);
  assert.equal(whole.rows.filter((row) => row.kind === 'history').length, 4);
  const nothing = await a.restore(
    new Map([
      [0, 0],
      [2, 0],
    ]),
  );
  assert.equal(nothing.records, 0, 'partitions nobody wrote');
});

test('a transaction that fails is tried again whole: nothing of it is seen before it commits, and it is seen once', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const { settings, kafka: real, topics } = await scaledOutTopics(broker.brokers, 2);
  let failures = 2;
  // The producer's transactions fail to commit `failures` times, after their records were sent.
  const flaky = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'producer') return Reflect.get(target, property, receiver);
      return (config: Parameters<Kafka['producer']>[0]) => {
        const producer = target.producer(config);
        const transaction = producer.transaction.bind(producer);
        producer.transaction = async () => {
          const opened = await transaction();
          const commit = opened.commit.bind(opened);
          opened.commit = async () => {
            if (failures > 0) {
              failures--;
              throw new Error('injected: the transaction coordinator is not available');
            }
            return commit();
          };
          return opened;
        };
        return producer;
      };
    },
  });
  const { lines, log } = collectingLog();
  const writer = await UserChangelog.open(flaky, settings, topics, 'w', log);
  const reader = await UserChangelog.open(real, settings, topics, 'r', log);
  t.after(() => Promise.all([writer.close(), reader.close()]));

  const committed = await writer.commit({ totals: [], rows: new Map([[0, [history(1, 2), history(1, 3)]]]), positions: new Map([[0, 2]]) });
  assert.equal(failures, 0, 'it was tried until it committed');
  const restored = await reader.restore(new Map([[0, 0]]));
  assert.deepEqual(restored.positions, new Map([[0, 2]]));
  assert.equal(restored.records, 3, 'two rows and the position, once: the aborted attempts are not read');
  assert.ok(committed.changelogAt.get(0)! > 3, 'the aborted attempts took offsets before it');
  assert.ok(
    lines.some((line) => /injected.*trying the same transaction again/.test(line)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((line) => /committed after 2 failed attempts/.test(line)),
    lines.join('\n'),
  );
});

/** Records of partition 0 of `topic` from offset `from`, open transactions' included, once `expected` are there (or after 10 s). */
async function uncommittedSince(kafka: Kafka, topic: string, from: number, expected: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `uncommitted-${randomUUID()}`, readUncommitted: true, maxWaitTimeInMs: 100 });
  let seen = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.filter((message) => Number(message.offset) >= from).length;
          if (seen >= expected) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

test('a worker that stood still past its session timeout after writing a batch aborts it at the confirmation before the commit: no row, position or group offset of it is seen', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const { settings, kafka, topics } = await scaledOutTopics(broker.brokers, 1);
  const produce = await openProduceTransport(settings, collectingLog().log);
  await produce.ratings.publish(Array.from({ length: 20 }, (_, index) => ({ userId: `u${index % 3}`, itemId: `i${index}`, rating: 4, ts: 1_000 + index })));
  await produce.close();
  const sessionTimeoutMs = 3_000;
  const source = new KafkaRatingSource(kafka, settings, { log: collectingLog().log, sessionTimeoutMs, offsetsInTransactions: true });
  const { log } = collectingLog();
  const writer = await UserChangelog.open(kafka, settings, topics, 'w', log);
  const reader = await UserChangelog.open(kafka, settings, topics, 'r', log);
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => Promise.all([source.close(), writer.close(), reader.close(), admin.disconnect()]));
  await source.start(() => undefined);
  const batch = await source.poll(50, 10_000);
  assert.ok(batch && batch.length > 0, 'a batch is held');
  const position = batch.at(-1)!.offset + 1;
  const before = (await endOffsets(admin, topics.userState)).get(0)!;

  let writtenAtConfirm = 0;
  await assert.rejects(
    writer.commit({
      totals: [],
      rows: new Map([[0, [history(1, 2)]]]),
      positions: new Map([[0, position]]),
      confirm: async () => {
        writtenAtConfirm = await uncommittedSince(kafka, topics.userState, before, 2);
        // The process stops here (a pause, a stalled machine): the group drops it meanwhile.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sessionTimeoutMs + 2_000);
        await source.confirmMembership();
      },
    }),
    (error: Error) => error.name === 'GroupMembershipLost' && /the process stood still/.test(error.message),
  );
  assert.equal(
    writtenAtConfirm,
    2,
    "the row and the position were in the changelog partition when it was asked: a later holder's restore waits for the transaction",
  );
  const restored = await reader.restore(new Map([[0, 0]]));
  assert.deepEqual(restored.positions, new Map(), 'the aborted batch left no position');
  assert.equal(restored.rows.length, 0, 'and no row');
  const [group] = await admin.fetchOffsets({ groupId: settings.groupId, topics: [topics.ratings] });
  assert.deepEqual(
    group?.partitions.map(({ offset }) => offset),
    ['-1'],
    "and the group's offset did not move",
  );
});

test('a changelog whose partitions differ from the ratings topic is refused', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  const kafka = kafkaClient(settings, collectingLog().log);
  const topics = topicNames(settings.topicPrefix);
  await topicsFor(settings, kafka, { ...settings, ratingsPartitions: 2 });
  await assert.rejects(
    UserChangelog.open(kafka, settings, topics, 'x', collectingLog().log),
    /user-state has 2 partitions but .*ratings has 3: .*recreate .*user-state with 3 partitions/,
  );
});

test('a worker whose slot another one opened (a copied state directory) is fenced: its next batch stops it, and is not tried forever', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const { settings, kafka, topics } = await scaledOutTopics(broker.brokers, 1);
  const firstLog = collectingLog();
  const first = await UserChangelog.open(kafka, settings, topics, 'same', firstLog.log);
  await first.commit({ totals: [], rows: new Map([[0, [history(1, 2)]]]), positions: new Map([[0, 1]]) });
  const copy = await UserChangelog.open(kafka, settings, topics, 'same', collectingLog().log);
  t.after(() => Promise.all([first.close(), copy.close()]));
  await assert.rejects(
    first.commit({ totals: [], rows: new Map([[0, [history(1, 3)]]]), positions: new Map([[0, 2]]) }),
    /another worker runs with this state's slot .*this one stops/,
    firstLog.lines.join('\n'),
  );
  await copy.commit({ totals: [], rows: new Map([[0, [history(1, 4)]]]), positions: new Map([[0, 2]]) });
  const restored = await copy.restore(new Map([[0, 0]]));
  assert.deepEqual(
    restored.rows.map((row) => (row.kind === 'history' ? row.item : -1)),
    [2, 4],
    "the fenced worker's batch is not in the changelog",
  );
});
