/**
 * serve and the items and users topics against a real broker: before its first batch the worker
 * has read both topics to their end into the catalogue and the state (the latest value per key,
 * bad records on the dlq topic), and it applies what is published to them while it runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';
import type { Recommender } from '../../src/recommender.js';
import { StateStore } from '../../state/store.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { openProduceTransport } from '../../streams/kafka/open.js';
import { serve } from '../../streams/serve-job.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { readToEnd, sleep } from './cli-process.js';

async function eventually(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

test('serve reads the items and users topics into the catalogue and the state before its first batch, then follows them', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 2 });
  const names = topicNames(settings.topicPrefix);
  const quiet = collectingLog().log;
  const produce = await openProduceTransport(settings, quiet);
  t.after(() => produce.close());
  await produce.items.publish([
    { itemId: 'i1', title: 'One (1995)', genres: ['Drama'], year: 1995 },
    { itemId: 'i2', title: 'Two', genres: ['Comedy', 'Romance'] },
  ]);
  await produce.users.publish([
    { userId: 'u1', age: 20, gender: 'F', occupation: 'student', zip: '10001' },
    { userId: 'u2', gender: 'M' },
    // The same key again: the latest value wins.
    { userId: 'u1', age: 21, gender: 'F', occupation: 'writer' },
  ]);
  await produce.ratings.publish([
    { userId: 'u1', itemId: 'i1', rating: 4, ts: 1_000 },
    { userId: 'u2', itemId: 'i2', rating: 2, ts: 2_000 },
  ]);
  const kafka = kafkaClient(settings, quiet);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.after(() => producer.disconnect());
  await producer.send({ topic: names.items, messages: [{ key: 'i3', value: '{"itemId":"i3",' }] });
  await producer.send({ topic: names.users, messages: [{ key: 'u3', value: '{"userId":"u3","age":"old"}' }] });

  const stateDir = tempDir();
  const stop = new AbortController();
  const { lines, log } = collectingLog();
  let recommender: Recommender | undefined;
  let atStart: { users: number; u1: unknown; u2: unknown; i2: unknown; items: number } | undefined;
  const serving = serve({
    settings,
    stateDir,
    models: { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'popularity'] },
    rankModel: 'popularity',
    k: 10,
    scale: WHOLE_STARS,
    batchSize: 100,
    batchWaitMs: 20,
    readyLag: 0,
    connectTimeoutMs: 20_000,
    log,
    stop: stop.signal,
    onStart: (info) => {
      recommender = info.recommender;
      const { features, users } = info.recommender.catalog;
      atStart = { users: users.size, u1: features.userById('u1'), u2: features.userById('u2'), i2: features.itemById('i2'), items: features.itemCount };
    },
  });
  t.after(() => stop.abort());
  await Promise.race([
    eventually('start', () => recommender !== undefined),
    serving.then(() => assert.fail(`serve stopped before it started:\n${lines.join('\n')}`)),
  ]);
  assert.deepEqual(atStart, {
    users: 0,
    u1: { age: 21, gender: 'F', occupation: 'writer' },
    u2: { gender: 'M' },
    i2: { genres: ['Comedy', 'Romance'] },
    items: 2,
  });
  assert.ok(
    lines.some((line) => /^side features: read 2 items from \S+items and 3 users from \S+users \(2 bad records sent to \S+dlq\)/.test(line)),
    lines.join('\n'),
  );

  // Published while serve runs: an update of a known user and item, and a new user.
  await produce.users.publish([
    { userId: 'u2', age: 40, gender: 'M', occupation: 'engineer' },
    { userId: 'u4', age: 33 },
  ]);
  await produce.items.publish([{ itemId: 'i1', title: 'One (director’s cut)', genres: ['Drama', 'War'] }]);
  const { features } = recommender!.catalog;
  await eventually('the updates in the catalogue', () => features.userById('u4') !== undefined && features.itemById('i1')?.genres.length === 2);
  assert.deepEqual(features.userById('u2'), { age: 40, gender: 'M', occupation: 'engineer' });
  await eventually('both ratings applied', () => recommender!.histories.itemsOf(recommender!.catalog.users.lookup('u2')).size === 1);
  assert.deepEqual(features.user(recommender!.catalog.users.lookup('u2')), { age: 40, gender: 'M', occupation: 'engineer' });

  stop.abort();
  const summary = await serving;
  assert.equal(summary.applied, 2);
  const store = StateStore.open(stateDir);
  try {
    assert.deepEqual(
      [...store.userFeatures()],
      [
        ['u1', { age: 21, gender: 'F', occupation: 'writer' }],
        ['u2', { age: 40, gender: 'M', occupation: 'engineer' }],
        ['u4', { age: 33 }],
      ],
    );
    assert.deepEqual(
      [...store.itemLabels()],
      [
        ['i1', { title: 'One (director’s cut)', genres: ['Drama', 'War'] }],
        ['i2', { title: 'Two', genres: ['Comedy', 'Romance'] }],
      ],
    );
  } finally {
    await store.close();
  }

  const letters = (await readToEnd(kafka, settings, names.dlq)).map((record) => ({ key: record.key, ...JSON.parse(record.value!) }));
  assert.deepEqual(
    letters.map(({ key, topic, reason, raw }) => ({ key, topic, reason: reason.replace(/:.*/, ''), raw })).sort((a, b) => a.key.localeCompare(b.key)),
    [
      { key: 'i3', topic: names.items, reason: 'not JSON', raw: '{"itemId":"i3",' },
      { key: 'u3', topic: names.users, reason: "field 'age' must be integer", raw: '{"userId":"u3","age":"old"}' },
    ],
  );
});
