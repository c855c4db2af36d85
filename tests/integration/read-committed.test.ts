/**
 * On the real broker: a topic followed by a worker (the model updates, the catalogue) shows none
 * of an aborted transaction that began before another producer's aborted transaction ended. The
 * broker lists the two in the order they ended, and kafkajs's own filter let the first one
 * through (streams/kafka/read-committed.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { FollowedTopic } from '../../streams/kafka/followed-topic.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

test('interleaved transactions of three producers: a follower reads the committed records only', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers);
  const kafka = kafkaClient(settings, collectingLog().log);
  const topic = `${settings.topicPrefix}interleaved`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producers = ['a', 'b', 'c'].map((id) => kafka.producer({ transactionalId: `${settings.topicPrefix}${id}`, idempotent: true, maxInFlightRequests: 1 }));
  await Promise.all(producers.map((producer) => producer.connect()));
  t.after(() => Promise.all(producers.map((producer) => producer.disconnect())));
  const [a, b, c] = producers as [(typeof producers)[0], (typeof producers)[0], (typeof producers)[0]];
  const send = (transaction: Awaited<ReturnType<typeof a.transaction>>, value: string) => transaction.send({ topic, messages: [{ value }] });

  const first = await a.transaction();
  await send(first, 'a aborted');
  const second = await b.transaction();
  await send(second, 'b aborted');
  await second.abort();
  const third = await c.transaction();
  await send(third, 'c committed');
  await third.commit();
  await first.abort();
  const fourth = await a.transaction();
  await send(fourth, 'a committed');
  await fourth.commit();

  const read: string[] = [];
  const followed = new FollowedTopic(kafka, settings, topic, (messages) => read.push(...messages.map((message) => message.value!.toString())));
  t.after(() => followed.close());
  await followed.open();
  assert.deepEqual(read, ['c committed', 'a committed']);
});
