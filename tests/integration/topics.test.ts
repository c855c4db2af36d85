/**
 * The topic contract on a real broker: topics are created with their policies, a topic with the
 * wrong policy stops rxrec with an error naming it, and refused credentials or missing ACLs give
 * one clear error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from '../../streams/kafka/kafkajs.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { KafkaAuthenticationError, KafkaAuthorizationError, TopicPolicyError } from '../../streams/kafka/errors.js';
import { ensureTopics } from '../../streams/kafka/topics.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

test('ensureTopics creates the six topics with their policies, then finds them', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 5 });
  const admin = kafkaClient(settings, collectingLog().log).admin();
  t.after(() => admin.disconnect());
  // The catalogue, model-updates and user-state topics are created only for serve --scale-out (catalogue.test.ts).
  const { catalogue: _catalogue, modelUpdates: _modelUpdates, userState: _userState, ...names } = topicNames(settings.topicPrefix);

  const created = await ensureTopics(admin, settings);
  assert.deepEqual(created.sort(), Object.values(names).sort());

  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: Object.values(names).map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
  });
  const policy = Object.fromEntries(resources.map((resource) => [resource.resourceName, resource.configEntries[0]!.configValue]));
  assert.deepEqual(policy, {
    [names.ratings]: 'delete',
    [names.items]: 'compact',
    [names.users]: 'compact',
    [names.recs]: 'compact',
    [names.similarItems]: 'compact',
    [names.dlq]: 'delete',
  });
  const { topics } = await admin.fetchTopicMetadata({ topics: [names.ratings, names.recs, names.items] });
  const partitions = Object.fromEntries(topics.map((topic) => [topic.name, topic.partitions.length]));
  assert.deepEqual(partitions, { [names.ratings]: 5, [names.recs]: 5, [names.items]: 1 });

  assert.deepEqual(await ensureTopics(admin, settings), [], 'a second start creates nothing');
});

test('an existing topic with the wrong cleanup.policy is a clear error naming it', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers);
  const admin = kafkaClient(settings, collectingLog().log).admin();
  t.after(() => admin.disconnect());
  const names = topicNames(settings.topicPrefix);
  await admin.connect();
  // Not kafkajs's waitForLeaders: it gives up when the broker's metadata has not caught up with the controller yet (UNKNOWN_TOPIC_OR_PARTITION).
  await admin.createTopics({
    waitForLeaders: false,
    topics: [
      { topic: names.recs, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] },
      { topic: names.ratings, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] },
    ],
  });
  for (const deadline = Date.now() + 15_000; ; await sleep(200)) {
    const known = await admin.fetchTopicMetadata({ topics: [names.recs, names.ratings] }).catch(() => undefined);
    if (known?.topics.every((topic) => topic.partitions.every((partition) => partition.leader >= 0))) break;
    assert.ok(Date.now() < deadline, 'the topics have leaders within 15 s');
  }

  await assert.rejects(ensureTopics(admin, settings), (error: Error) => {
    assert.ok(error instanceof TopicPolicyError, `${error.name}: ${error.message}`);
    assert.match(error.message, new RegExp(`topic '${names.recs.replace(/\./g, '\\.')}' has cleanup.policy=delete but rxrec needs compact`));
    assert.match(error.message, new RegExp(`topic '${names.ratings.replace(/\./g, '\\.')}' has cleanup.policy=compact,delete but rxrec needs delete`));
    assert.doesNotMatch(error.message, /\n/, 'one line');
    return true;
  });
});

test('SASL: refused credentials and a user without ACLs each give one clear error; a permitted user works', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.sasl, 'a broker started here has a SASL listener');
  const { admin: permitted, unprivileged } = broker.sasl;
  const sasl = (user: { username: string; password: string }) => ({
    saslMechanism: 'plain',
    saslUsername: user.username,
    saslPassword: user.password,
  });

  const wrongPassword = testSettings(broker.sasl.brokers, sasl({ username: unprivileged.username, password: 'not-the-password' }));
  const refusedAdmin = kafkaClient(wrongPassword, collectingLog().log).admin();
  t.after(() => refusedAdmin.disconnect());
  await assert.rejects(ensureTopics(refusedAdmin, wrongPassword), (error: Error) => {
    assert.ok(error instanceof KafkaAuthenticationError, `${error.name}: ${error.message}`);
    assert.match(error.message, /refused the plain login of user 'rxrec'/);
    assert.match(error.message, /KAFKA_SASL_PASSWORD/);
    return true;
  });

  const noAcls = testSettings(broker.sasl.brokers, sasl(unprivileged));
  const deniedAdmin = kafkaClient(noAcls, collectingLog().log).admin();
  t.after(() => deniedAdmin.disconnect());
  await assert.rejects(ensureTopics(deniedAdmin, noAcls), (error: Error) => {
    assert.ok(error instanceof KafkaAuthorizationError, `${error.name}: ${error.message}`);
    assert.match(error.message, /denied user 'rxrec' access to topic\(s\)/);
    assert.match(error.message, new RegExp(topicNames(noAcls.topicPrefix).ratings.replace(/\./g, '\\.')));
    assert.match(error.message, /TOPIC_AUTHORIZATION_FAILED/);
    return true;
  });

  const allowed = testSettings(broker.sasl.brokers, sasl(permitted));
  const allowedAdmin = kafkaClient(allowed, collectingLog().log).admin();
  t.after(() => allowedAdmin.disconnect());
  assert.equal((await ensureTopics(allowedAdmin, allowed)).length, 6);
});
