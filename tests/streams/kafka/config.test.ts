import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaSettings, topicNames } from '../../../streams/kafka/config.js';
import { tempDir } from '../../fixtures.js';

test('defaults, then the environment, then command-line options win', () => {
  const defaults = kafkaSettings({}, {});
  assert.deepEqual(defaults.brokers, ['127.0.0.1:9092']);
  assert.equal(defaults.clientId, 'rxrec');
  assert.equal(defaults.topicPrefix, 'rxrec.');
  assert.equal(defaults.ratingsPartitions, 6);
  assert.equal(defaults.replicationFactor, undefined, "the cluster's default.replication.factor");
  assert.equal(defaults.ssl, false);
  assert.equal(defaults.sasl, undefined);

  const env = { KAFKA_BROKERS: 'a:1, b:2', KAFKA_CLIENT_ID: 'from-env', RXREC_TOPIC_PREFIX: 'env.' };
  const fromEnv = kafkaSettings({}, { ...env, KAFKA_REPLICATION_FACTOR: '3' });
  assert.equal(fromEnv.replicationFactor, 3);
  assert.deepEqual(fromEnv.brokers, ['a:1', 'b:2']);
  assert.equal(fromEnv.clientId, 'from-env');
  assert.equal(fromEnv.topicPrefix, 'env.');

  const fromFlags = kafkaSettings({ brokers: 'c:3', clientId: 'flag', partitions: '12', replicationFactor: '2' }, { ...env, KAFKA_REPLICATION_FACTOR: '3' });
  assert.equal(fromFlags.replicationFactor, 2);
  assert.deepEqual(fromFlags.brokers, ['c:3']);
  assert.equal(fromFlags.clientId, 'flag');
  assert.equal(fromFlags.ratingsPartitions, 12);
});

test('SASL and SSL settings', () => {
  const sasl = kafkaSettings({ saslMechanism: 'SCRAM-SHA-512', saslUsername: 'svc' }, { KAFKA_SASL_PASSWORD: 'secret' });
  assert.deepEqual(sasl.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: 'secret' });
  const ca = join(tempDir(), 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  const ssl = kafkaSettings({ ssl: 'true', sslCa: ca }, {});
  assert.equal(ssl.ssl, true);
  assert.match(ssl.sslCa ?? '', /BEGIN CERTIFICATE/);
});

test('bad settings are one clear message each', () => {
  assert.throws(() => kafkaSettings({ brokers: 'localhost' }, {}), /--brokers: 'localhost' is not host:port/);
  assert.throws(() => kafkaSettings({ brokers: ' , ' }, {}), /--brokers: /);
  assert.throws(() => kafkaSettings({ partitions: 'many' }, {}), /--partitions: 'many' is not a positive integer/);
  assert.throws(() => kafkaSettings({}, { KAFKA_REPLICATION_FACTOR: '0' }), /--replication-factor: '0' is not a positive integer/);
  assert.throws(() => kafkaSettings({ ssl: 'maybe' }, {}), /--ssl \/ KAFKA_SSL: 'maybe' is not on\/off/);
  assert.throws(() => kafkaSettings({ sslCa: '/nonexistent/ca.pem' }, {}), /--ssl-ca: cannot read CA file '\/nonexistent\/ca.pem'/);
  assert.throws(() => kafkaSettings({ saslMechanism: 'kerberos' }, {}), /--sasl-mechanism: 'kerberos' is not one of plain, scram-sha-256, scram-sha-512/);
  assert.throws(() => kafkaSettings({ saslUsername: 'svc' }, {}), /--sasl-username given without --sasl-mechanism/);
  assert.throws(
    () => kafkaSettings({ saslMechanism: 'plain', saslUsername: 'svc' }, {}),
    /SASL plain needs a username and a password \(--sasl-username, KAFKA_SASL_PASSWORD\)/,
  );
});

test('topic names follow the contract under a prefix', () => {
  assert.deepEqual(topicNames('rxrec.'), {
    ratings: 'rxrec.ratings',
    items: 'rxrec.items',
    users: 'rxrec.users',
    recs: 'rxrec.recs',
    similarItems: 'rxrec.similar-items',
    dlq: 'rxrec.dlq',
    catalogue: 'rxrec.catalogue',
    modelUpdates: 'rxrec.model-updates',
    userState: 'rxrec.user-state',
  });
});
