/**
 * The Kafka sinks and publishers write what the topic contract says: the right topic, the key it
 * names, and values that match the JSON Schemas a subscriber reads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import deadLetterSchema from '../../src/schemas/dead-letter.schema.json' with { type: 'json' };
import itemSchema from '../../src/schemas/item.schema.json' with { type: 'json' };
import ratingSchema from '../../src/schemas/rating.schema.json' with { type: 'json' };
import recommendationsSchema from '../../src/schemas/recommendations.schema.json' with { type: 'json' };
import similarItemsSchema from '../../src/schemas/similar-items.schema.json' with { type: 'json' };
import userSchema from '../../src/schemas/user.schema.json' with { type: 'json' };
import { openProduceTransport, openServeTransport } from '../../streams/kafka/open.js';
import type { DeadLetter, RecommendationList, SimilarItems } from '../../streams/transport.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { readTopic } from './read-topic.js';

const ajv = new Ajv2020({ strict: false });
function assertMatches(schema: { $id: string }, value: unknown): void {
  const validate = ajv.getSchema(schema.$id) ?? ajv.compile(schema);
  assert.ok(validate(value), `${JSON.stringify(value)} does not match ${schema.$id}: ${ajv.errorsText(validate.errors)}`);
}

test('recommendation, similar-items and dead-letter sinks write the contract', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers);
  const { log } = collectingLog();
  const transport = await openServeTransport(settings, { log });
  t.after(() => transport.source.close());

  const lists: RecommendationList[] = [
    {
      userId: '7',
      items: [
        { itemId: '50', score: 4.61, why: 'mf score' },
        { itemId: '181', score: 4.4, why: 'similar to 50' },
      ],
      model: 'mf',
      sourceOffset: '2:41',
      eventTs: 881250949000,
      publishedAt: 1_700_000_000_123,
    },
    { userId: 'u-42', items: [], model: 'baseline', sourceOffset: '0:0', eventTs: 1, publishedAt: 2 },
  ];
  const extra = { ...lists[0]!, internalScratch: [1, 2, 3] } as RecommendationList;
  const neighbours: SimilarItems[] = [{ itemId: '50', neighbours: [{ itemId: '181', sim: 0.83, support: 112 }] }];
  const letters: DeadLetter[] = [
    { reason: 'not JSON: Unexpected token', topic: settings.topicPrefix + 'ratings', partition: 1, offset: 17, key: '7', raw: '{"userId":' },
    { reason: 'rating 9 is off the 1..5 scale', topic: 'u.data', partition: 0, offset: 3, origin: 'u.data:4', key: null, raw: '1\t2\t9\t88' },
  ];

  await transport.recommendations.publish([...lists, extra]);
  await transport.similarItems.publish(neighbours);
  await transport.deadLetters.send(letters);
  await Promise.all([transport.recommendations.close(), transport.similarItems.close(), transport.deadLetters.close()]);

  const recs = await readTopic(transport.kafka, settings, transport.topics.recs, 3);
  for (const record of recs) assertMatches(recommendationsSchema, JSON.parse(record.value!));
  const byOffset = recs.filter((record) => record.key === '7').sort((a, b) => a.offset - b.offset);
  assert.equal(byOffset.length, 2);
  assert.deepEqual(JSON.parse(byOffset[0]!.value!), lists[0]);
  assert.deepEqual(JSON.parse(byOffset[1]!.value!), lists[0], 'fields outside the contract are not published');
  assert.deepEqual(JSON.parse(recs.find((record) => record.key === 'u-42')!.value!), lists[1]);

  const similar = await readTopic(transport.kafka, settings, transport.topics.similarItems, 1);
  assert.equal(similar[0]!.key, '50');
  assertMatches(similarItemsSchema, JSON.parse(similar[0]!.value!));
  assert.deepEqual(JSON.parse(similar[0]!.value!), neighbours[0]);

  const dead = await readTopic(transport.kafka, settings, transport.topics.dlq, 2);
  assert.deepEqual(dead.map((record) => record.key).sort(), [null, '7'].sort());
  const firstLetter = JSON.parse(dead.find((record) => record.key === '7')!.value!);
  assertMatches(deadLetterSchema, firstLetter);
  assert.deepEqual(firstLetter, { reason: letters[0]!.reason, topic: letters[0]!.topic, partition: 1, offset: 17, key: '7', raw: '{"userId":' });
  const secondLetter = JSON.parse(dead.find((record) => record.key === null)!.value!);
  assertMatches(deadLetterSchema, secondLetter);
  assert.equal(secondLetter.origin, 'u.data:4');
  assert.equal(secondLetter.key, null, 'the contract has the key, null for none');
});

test('the ratings publisher keys by user, keeps a user on one partition in order, and writes metadata', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 4 });
  const { log } = collectingLog();
  const produce = await openProduceTransport(settings, log);
  t.after(() => produce.close());

  const events = Array.from({ length: 120 }, (_, index) => ({
    userId: String(index % 12),
    itemId: String(1000 + index),
    rating: 1 + (index % 5),
    ts: 880_000_000_000 + index,
  }));
  await produce.ratings.publish(events.slice(0, 60));
  await produce.ratings.publish(events.slice(60));
  await produce.items.publish([
    { itemId: '1', title: 'Toy Story (1995)', genres: ['Animation', "Children's", 'Comedy'], year: 1995 },
    { itemId: '2', title: 'Untitled', genres: [] },
  ]);
  await produce.users.publish([{ userId: '1', age: 24, gender: 'M', occupation: 'technician', zip: '85711' }, { userId: '2' }]);

  const ratings = await readTopic(produce.kafka, settings, produce.topics.ratings, events.length);
  const partitionsPerUser = new Map<string, Set<number>>();
  for (const record of ratings) {
    const value = JSON.parse(record.value!);
    assertMatches(ratingSchema, value);
    assert.equal(record.key, value.userId);
    if (!partitionsPerUser.has(record.key!)) partitionsPerUser.set(record.key!, new Set());
    partitionsPerUser.get(record.key!)!.add(record.partition);
  }
  for (const [user, partitions] of partitionsPerUser) assert.equal(partitions.size, 1, `user ${user} is on one partition`);
  assert.ok(new Set(ratings.map((record) => record.partition)).size > 1, 'users are spread over partitions');
  for (const user of partitionsPerUser.keys()) {
    const timestamps = ratings.filter((record) => record.key === user).map((record) => JSON.parse(record.value!).ts);
    assert.deepEqual(
      timestamps,
      [...timestamps].sort((a, b) => a - b),
      `user ${user}'s events are in publish order`,
    );
  }
  assert.deepEqual(
    ratings.map((record) => JSON.parse(record.value!)).sort((a, b) => a.ts - b.ts),
    events,
  );

  const items = await readTopic(produce.kafka, settings, produce.topics.items, 2);
  for (const record of items) assertMatches(itemSchema, JSON.parse(record.value!));
  assert.deepEqual(JSON.parse(items.find((record) => record.key === '2')!.value!), { itemId: '2', title: 'Untitled', genres: [] });
  const users = await readTopic(produce.kafka, settings, produce.topics.users, 2);
  for (const record of users) assertMatches(userSchema, JSON.parse(record.value!));
  assert.deepEqual(JSON.parse(users.find((record) => record.key === '1')!.value!), {
    userId: '1',
    age: 24,
    gender: 'M',
    occupation: 'technician',
    zip: '85711',
  });
  assert.deepEqual(JSON.parse(users.find((record) => record.key === '2')!.value!), { userId: '2' });
});

test('a publish larger than the broker takes in one batch is split into requests it accepts', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  const transport = await openServeTransport(settings, { log: collectingLog().log });
  t.after(() => transport.close());
  // 2 000 lists of about 1 KB, all on one partition: twice the broker's 1 MB batch limit.
  const lists: RecommendationList[] = Array.from({ length: 2_000 }, (_, user) => ({
    userId: String(user),
    items: Array.from({ length: 20 }, (_, rank) => ({ itemId: String(rank), score: 5 - rank / 10, why: 'similar to a film you rated' })),
    model: 'mf',
    sourceOffset: `0:${user}`,
    eventTs: user,
    publishedAt: user,
  }));
  assert.ok(Buffer.byteLength(JSON.stringify(lists)) > 2 * 1024 * 1024);
  await transport.recommendations.publish(lists);
  const records = await readTopic(transport.kafka, settings, transport.topics.recs, lists.length);
  assert.deepEqual(
    records.map((record) => record.key),
    lists.map((list) => list.userId),
  );
});
