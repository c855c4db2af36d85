/**
 * The shared catalogue on a real broker: workers that meet the same ids in different orders, at
 * the same time, give every id the same index; a worker that starts later (or restarts from its
 * state) reads the same indices; a state made without the shared catalogue is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from '../../streams/kafka/kafkajs.js';
import { Catalog } from '../../src/catalog.js';
import { CatalogueLog } from '../../streams/kafka/catalogue.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames, type KafkaSettings } from '../../streams/kafka/config.js';
import { TopicPolicyError } from '../../streams/kafka/errors.js';
import { SharedProducer } from '../../streams/kafka/producer.js';
import { ensureTopics, scaleOutTopicSpecs } from '../../streams/kafka/topics.js';
import { StateError } from '../../state/errors.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

function ids(catalog: Catalog): { users: string[]; items: string[] } {
  const list = (index: Catalog['users']) => Array.from({ length: index.size }, (_, i) => index.idAt(i));
  return { users: list(catalog.users), items: list(catalog.items) };
}

async function openWorker(settings: KafkaSettings, catalog = new Catalog()) {
  const kafka = kafkaClient(settings, collectingLog().log);
  const producer = new SharedProducer(kafka, settings, collectingLog().log).retain();
  await producer.connect();
  let log: CatalogueLog;
  try {
    log = await CatalogueLog.open(kafka, settings, topicNames(settings.topicPrefix).catalogue, producer, catalog);
  } catch (error) {
    // A refused state: its producer must not keep the test process alive (with KAFKA_BROKERS nothing else ends it).
    await producer.release();
    throw error;
  }
  return {
    catalog,
    log,
    close: async () => {
      await log.close();
      await producer.release();
    },
  };
}

test('workers that meet the same ids in different orders at the same time give each id the same index', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers);
  const admin = kafkaClient(settings, collectingLog().log).admin();
  t.after(() => admin.disconnect());
  await ensureTopics(admin, settings, scaleOutTopicSpecs(settings));

  const a = await openWorker(settings);
  const b = await openWorker(settings);
  t.after(() => Promise.all([a.close(), b.close()]));
  // Each worker sees its own users (their partitions) and overlapping items, in its own order.
  const events = (worker: string, round: number) =>
    Array.from({ length: 40 }, (_, i) => ({ userId: `${worker}-user-${round}-${i % 7}`, itemId: `item-${(round * 13 + i * (worker === 'a' ? 3 : 5)) % 60}` }));
  for (let round = 0; round < 6; round++) {
    await Promise.all([a.log.admit(events('a', round)), b.log.admit(events('b', round))]);
  }
  // What the other announced after a worker's last admit reaches it with its next announcement
  // (b's comes after all of a's; a's second one after b's, whether or not a had read b's yet).
  await a.log.admit([{ userId: 'a-user-0-0', itemId: 'marker-a' }]);
  await b.log.admit([{ userId: 'b-user-0-0', itemId: 'marker-b' }]);
  await a.log.admit([{ userId: 'a-user-0-0', itemId: 'marker-b' }]);

  const seen = ids(a.catalog);
  assert.deepEqual(ids(b.catalog), seen, 'the same index for every id');
  assert.equal(seen.users.length, 2 * 6 * 7);
  assert.equal(new Set(seen.items).size, seen.items.length);
  for (let round = 0; round < 6; round++) for (const { itemId } of events('a', round)) assert.ok(seen.items.includes(itemId));
  // Indices are dense and in the order the topic gave them, whichever worker met them first.
  assert.ok(a.log.counts().sent > 0 && b.log.counts().sent > 0);

  // A worker that starts later reads the same indices; one restarting from its (shorter) state continues them.
  const late = await openWorker(settings);
  t.after(() => late.close());
  assert.deepEqual(ids(late.catalog), seen);
  const restored = new Catalog();
  restored.users.restore(seen.users.slice(0, 10).map((id, i) => [i, id]));
  restored.items.restore(seen.items.slice(0, 5).map((id, i) => [i, id]));
  const restarted = await openWorker(settings, restored);
  t.after(() => restarted.close());
  assert.deepEqual(ids(restarted.catalog), seen);

  // A state whose indices the topic did not give is refused, with the way out.
  const foreign = new Catalog();
  foreign.items.restore([[0, 'item-never-announced']]);
  await assert.rejects(openWorker(settings, foreign), (error: Error) => {
    assert.ok(error instanceof StateError);
    assert.match(error.message, /not made with this group's shared catalogue.*empty --state/);
    return true;
  });
});

test('a catalogue topic whose records would expire is refused', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers);
  const admin = kafkaClient(settings, collectingLog().log).admin();
  t.after(() => admin.disconnect());
  const spec = scaleOutTopicSpecs(settings)[0]!;
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: false,
    topics: [{ topic: spec.name, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) }] }],
  });
  await assert.rejects(ensureTopics(admin, settings, [spec]), (error: Error) => {
    assert.ok(error instanceof TopicPolicyError);
    assert.match(error.message, new RegExp(`topic '${spec.name.replace('.', '\\.')}' has retention.ms=604800000 but rxrec needs -1`));
    return true;
  });
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: spec.name, configNames: ['retention.ms'] }],
  });
  assert.equal(resources[0]!.configEntries[0]!.configValue, '604800000', 'left as it was');
});
