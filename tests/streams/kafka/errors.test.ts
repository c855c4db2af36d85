/** Kafka failures as one line each, with what to do: TLS handshakes that fail are told apart from a broker that is down. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainKafkaError, KafkaTlsError, KafkaUnavailableError } from '../../../streams/kafka/errors.js';

const context = { brokers: ['127.0.0.1:9093'], doing: 'creating topics' };
/** kafkajs's shape: retries exceeded, wrapping the connection error. */
const afterRetries = (message: string) => ({ name: 'KafkaJSNumberOfRetriesExceeded', retryCount: 2, cause: { name: 'KafkaJSConnectionError', message } });

test('a certificate that cannot be verified says to give its CA, and is not taken for a broker that is down', () => {
  for (const message of [
    'Connection error: self-signed certificate',
    'Connection error: unable to verify the first certificate',
    'Connection error: certificate has expired',
  ]) {
    const explained = explainKafkaError(afterRetries(message), context);
    assert.ok(explained instanceof KafkaTlsError, `${message}: ${explained.name}`);
    assert.match(
      explained.message,
      /^the TLS certificate of Kafka at 127\.0\.0\.1:9093 cannot be verified while creating topics \(.+\); give the CA that signed it with --ssl-ca \/ KAFKA_SSL_CA$/,
    );
  }
});

test('TLS against a plaintext listener says so', () => {
  const explained = explainKafkaError(
    afterRetries('Connection error: Client network socket disconnected before secure TLS connection was established'),
    context,
  );
  assert.ok(explained instanceof KafkaTlsError);
  assert.match(explained.message, /did not answer the TLS handshake .*Use its TLS port or drop --ssl \/ KAFKA_SSL$/);
});

test('a refused connection is still a broker that cannot be reached', () => {
  const explained = explainKafkaError(afterRetries('Connection error: connect ECONNREFUSED 127.0.0.1:9093'), context);
  assert.ok(explained instanceof KafkaUnavailableError);
  assert.match(explained.message, /^cannot reach Kafka at 127\.0\.0\.1:9093 while creating topics after 3 attempts/);
});
