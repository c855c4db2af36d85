/**
 * A wrong broker address is one clear error within a bounded time, from every entry point
 * (topic check, producer, consumer), not a hang or a stream of retry logs. Needs no broker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { kafkaSettings } from '../../streams/kafka/config.js';
import { KafkaUnavailableError } from '../../streams/kafka/errors.js';
import { openProduceTransport } from '../../streams/kafka/open.js';
import { KafkaRatingSource } from '../../streams/kafka/source.js';
import { ensureTopics } from '../../streams/kafka/topics.js';
import { collectingLog } from './broker.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI } from '../cli/cli-run.js';
import { freePorts, tempDir } from '../fixtures.js';

const BOUND_MS = 30_000;

async function assertUnavailable(attempt: () => Promise<unknown>, address: string): Promise<number> {
  const started = Date.now();
  await assert.rejects(attempt(), (error: Error) => {
    assert.ok(error instanceof KafkaUnavailableError, `${error.name}: ${error.message}`);
    assert.match(error.message, new RegExp(`cannot reach Kafka at ${address.replace(/\./g, '\\.')}`));
    assert.match(error.message, /KAFKA_BROKERS/);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    return true;
  });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < BOUND_MS, `gave up after ${elapsed} ms`);
  return elapsed;
}

test('a wrong broker address: the topic check, the producer and the consumer each fail clearly in bounded time', async () => {
  const address = `127.0.0.1:${(await freePorts(1))[0]!}`;
  const settings = kafkaSettings({ brokers: address, topicPrefix: 'it-unreachable.' }, {});
  const { lines, log } = collectingLog();

  const admin = kafkaClient(settings, log).admin();
  const source = new KafkaRatingSource(kafkaClient(settings, log), settings, { log });
  await Promise.all([
    assertUnavailable(() => ensureTopics(admin, settings), address),
    assertUnavailable(() => openProduceTransport(settings, log), address),
    assertUnavailable(() => source.start(() => undefined), address),
  ]);
  await assert.rejects(source.poll(10, 10), KafkaUnavailableError, 'a source that failed to start does not pretend to be empty');
  await source.close();

  assert.deepEqual(lines, [], 'the retries are not logged one by one');
});

test('an unknown host name fails the same way', async () => {
  const settings = kafkaSettings({ brokers: 'no-such-broker.invalid:9092' }, {});
  const admin = kafkaClient(settings, collectingLog().log).admin();
  await assertUnavailable(() => ensureTopics(admin, settings), 'no-such-broker.invalid:9092');
});

test('serve --connect-timeout 5 gives up about 5 s after it starts connecting, not after a whole default retry cycle', async () => {
  const address = `127.0.0.1:${(await freePorts(1))[0]!}`;
  const child = spawn(process.execPath, [CLI, 'serve', '--brokers', address, '--connect-timeout', '5', '--state', tempDir()], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let connectingAt: number | undefined;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (connectingAt === undefined && /^serving /m.test(stderr)) connectingAt = Date.now();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const ms = Date.now() - connectingAt!;
  assert.equal(code, 1, stderr);
  assert.match(stderr, new RegExp(`^rxrec: cannot reach Kafka at ${address.replace(/\./g, '\\.')} `, 'm'));
  assert.ok(ms >= 4_000 && ms <= 7_000, `gave up ${ms} ms after it started connecting`);
});
