/** The shared producer's connect: tried again while the cluster cannot be reached, for a bounded time, and never left half open. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { kafkaSettings } from '../../../streams/kafka/config.js';
import { KafkaAuthenticationError, KafkaUnavailableError } from '../../../streams/kafka/errors.js';
import { SharedProducer } from '../../../streams/kafka/producer.js';

const refused = () => ({
  name: 'KafkaJSNumberOfRetriesExceeded',
  retryCount: 5,
  cause: { name: 'KafkaJSConnectionError', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9094' },
});

/** A kafkajs client whose producer's connects fail with `failures` in turn, then succeed. */
function fakeKafka(failures: unknown[]) {
  const calls = { connects: 0, disconnects: 0 };
  const producer = {
    events: { REQUEST_TIMEOUT: 'producer.network.request_timeout' },
    on: () => undefined,
    connect: async () => {
      calls.connects++;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
    },
    disconnect: async () => {
      calls.disconnects++;
    },
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, calls };
}

const settings = kafkaSettings({}, { KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.1:9094' });

test('a connect refused by a broker that is down is tried again, and connects once a live broker answers', async () => {
  const { kafka, calls } = fakeKafka([refused(), refused()]);
  const lines: string[] = [];
  await new SharedProducer(kafka, settings, (line) => lines.push(line)).connect();
  assert.equal(calls.connects, 3);
  assert.equal(calls.disconnects, 2, 'each failed attempt is closed before the next');
  assert.match(lines[0]!, /^kafka warn: cannot reach Kafka at .* while connecting the producer .*ECONNREFUSED.*; trying again in 1 s$/);
  assert.equal(lines.at(-1), 'kafka info: the producer connected after 2 failed attempts');
});

test('a cluster that stays unreachable is given up after the budget, with nothing left open; other errors are thrown at once', async () => {
  const unreachable = fakeKafka(Array.from({ length: 10 }, refused));
  const producer = new SharedProducer(unreachable.kafka, settings, () => undefined, 1_500);
  await assert.rejects(producer.connect(), KafkaUnavailableError);
  assert.equal(unreachable.calls.connects, 2, 'the second pause (2 s) would pass the budget');
  assert.equal(unreachable.calls.disconnects, 2, 'the last failed attempt is closed too: a command that reports it can exit');

  const login = fakeKafka([{ name: 'KafkaJSSASLAuthenticationError', message: 'SASL PLAIN authentication failed' }]);
  await assert.rejects(new SharedProducer(login.kafka, settings, () => undefined).connect(), KafkaAuthenticationError);
  assert.equal(login.calls.connects, 1);
  assert.equal(login.calls.disconnects, 1);
});
