/**
 * The broker goes away mid-stream and comes back: the source reports it in its health, keeps
 * answering poll (empty batches, no crash), and resumes without losing or repeating a record.
 * Its own file, so stopping the broker disturbs no other test.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { openProduceTransport } from '../../streams/kafka/open.js';
import { KafkaRatingSource } from '../../streams/kafka/source.js';
import type { RawRecord } from '../../streams/transport.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';

const ratings = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) => ({ userId: `u${(from + index) % 7}`, itemId: `i${from + index}`, rating: 3, ts: from + index }));

async function waitFor(what: string, condition: () => boolean, timeoutMs: number, whileWaiting: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await whileWaiting();
  }
}

test('a broker outage mid-stream: health says so, poll keeps answering, nothing is lost or repeated', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.control, 'a broker started here can be stopped');
  const settings = testSettings(broker.brokers, { partitions: 2 });
  const { lines, log } = collectingLog();
  const produce = await openProduceTransport(settings, log);
  await produce.ratings.publish(ratings(0, 20));
  await produce.close();

  const applied = new Map<number, number>();
  const handedOut: RawRecord[] = [];
  const source = new KafkaRatingSource(kafkaClient(settings, log), settings, { log });
  t.after(() => source.close());
  await source.start((partition) => applied.get(partition));
  const pollOnce = async () => {
    const batch = await source.poll(50, 200);
    assert.notEqual(batch, null);
    const positions = new Map<number, number>();
    for (const record of batch!) positions.set(record.partition, record.offset + 1);
    for (const [partition, offset] of positions) applied.set(partition, offset);
    handedOut.push(...batch!);
    await source.committed(positions);
  };
  await waitFor('the first 20 records', () => handedOut.length >= 20, 20_000, pollOnce);
  assert.equal(source.health().connected, true);

  await broker.control.stop();
  await waitFor('health to report the outage', () => !source.health().connected, 60_000, pollOnce);
  const down = source.health();
  assert.equal(down.connected, false);

  await broker.control.start();
  const again = await openProduceTransport(settings, log);
  await again.ratings.publish(ratings(20, 20));
  await again.close();
  await waitFor('the 20 records published after the outage', () => handedOut.length >= 40, 90_000, pollOnce);
  await waitFor('health to recover', () => source.health().connected, 30_000, pollOnce);

  const positions = handedOut.map((record) => `${record.partition}:${record.offset}`);
  assert.equal(new Set(positions).size, positions.length, 'no record handed out twice');
  assert.equal(positions.length, 40);
  assert.ok(
    lines.some((line) => /no exchange with the cluster/.test(line)) && lines.some((line) => /in touch with the cluster again/.test(line)),
    `the outage was logged:\n${lines.join('\n')}`,
  );
  console.log(`outage: health while down ${JSON.stringify(down)}; ${lines.length} log lines`);
});
