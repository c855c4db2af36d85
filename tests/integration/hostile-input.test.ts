/**
 * Hostile input on a real broker: 10,000 seeded hostile records (bench/hostile-records.ts: not
 * JSON, wrong types, huge values, NaN and Infinity, bad timestamps, ids with control characters
 * or 10 kB long, duplicates, re-orderings, wrong keys) among 10,000 valid ratings, produced to the
 * ratings topic while an `rxrec serve` worker (a child process) consumes them. Every valid event
 * is applied, every invalid one is on the dlq topic with its reason and original bytes, counted
 * by class, the worker's memory stays bounded while it reads about 150 MB of hostile values, and
 * it never stops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REJECTION_KINDS } from '../../src/events/rating.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { SharedProducer } from '../../streams/kafka/producer.js';
import { ensureTopics } from '../../streams/kafka/topics.js';
import { expectedCounts, HostileRecords, type Expected } from '../../bench/hostile-records.js';
import { scrape } from '../../bench/worker-metrics.js';
import { freePorts, tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { sleep, stateSummary, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { readTopic } from './read-topic.js';

const RECORDS = 20_000;
const HOSTILE = 10_000;
const MB = 1024 * 1024;

/** The class of a dead letter's reason, as the worker words them (src/events/rating.ts). */
function kindOf(reason: string): Expected {
  if (reason.startsWith('not JSON: ')) return 'not_json';
  if (reason.startsWith('oversized message: ')) return 'oversized';
  if (reason.startsWith('bad timestamp: ')) return 'timestamp';
  if (/^rating \S+ is (outside|not a multiple|not a finite)/.test(reason)) return 'scale';
  if (/^key '.*' \(\d+ characters\) is not the event's userId/s.test(reason)) return 'wrong_key';
  if (/^(missing field|field '|event is not a JSON object)/.test(reason)) return 'schema';
  return 'valid';
}

/** What identifies a record in its dead letter: class, key, and the start and size of the original bytes. */
function identity(kind: Expected, key: string | null, raw: string, bytes: number): string {
  return JSON.stringify([kind, key, raw.slice(0, 300), bytes]);
}

function rawOf(value: Buffer): string {
  const text = value.toString('utf8');
  return Buffer.from(text, 'utf8').equals(value) ? text : `base64:${value.toString('base64')}`;
}

test('10,000 hostile records among valid ones: every valid event applied, every invalid one on the dlq with its reason, memory bounded, no crash', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  const names = topicNames(settings.topicPrefix);
  const kafka = kafkaClient(settings, collectingLog().log);
  const records = new HostileRecords(12, { users: 200, items: 300 }).mixed(RECORDS, HOSTILE);
  const expected = expectedCounts(records);
  const hostileBytes = records.filter((record) => record.expected !== 'valid').reduce((sum, record) => sum + record.value.length, 0);
  assert.ok(hostileBytes > 100 * MB, `the hostile values total ${Math.round(hostileBytes / MB)} MB`);
  for (const kind of REJECTION_KINDS.filter((kind) => kind !== 'malformed_line')) assert.ok(expected[kind] > 100, `${kind}: ${expected[kind]}`);

  const admin = kafka.admin();
  await ensureTopics(admin, settings);
  await admin.disconnect();
  const [httpPort] = await freePorts(1);
  const base = `http://127.0.0.1:${httpPort}`;
  const group = `${settings.topicPrefix}g`;
  const stateDir = tempDir();
  const worker = Worker.start(settings, group, stateDir, ['--http-port', String(httpPort)]);
  t.after(() => worker.child.kill('SIGKILL'));
  await worker.waitFor('partition assignment', () => (worker.assignment()?.length ?? 0) > 0);

  // The worker's memory, every half second while it reads.
  const rss: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const samples = await scrape(base).catch(() => undefined);
      const bytes = samples?.get('process_resident_memory_bytes');
      if (bytes !== undefined) rss.push(bytes);
      await sleep(500);
    }
  })();

  const producer = new SharedProducer(kafka, settings, collectingLog().log).retain();
  for (let start = 0; start < records.length; start += 1000) {
    await producer.send(
      names.ratings,
      records.slice(start, start + 1000).map(({ key, value }) => ({ key, value })),
    );
  }
  await producer.release();
  // A worker that stops fails the test at once, with what it said.
  const crashed = worker.exited.then((finished) => Promise.reject(new Error(`the worker exited ${finished.code ?? finished.signal}:\n${finished.stderr}`)));
  await Promise.race([waitForGroupCaughtUp(kafka, group, names.ratings, [worker], 300_000), crashed]);
  const metrics = await scrape(base);
  sampling = false;
  await sampler;
  worker.assertRunning();

  // Applied and rejected, by class, as the worker counts them.
  assert.equal(metrics.get('rxrec_events_consumed_total'), RECORDS);
  assert.equal(metrics.get('rxrec_events_applied_total'), expected.valid, 'every valid event applied');
  for (const kind of REJECTION_KINDS) assert.equal(metrics.get(`rxrec_events_rejected_total{reason="${kind}"}`), expected[kind], kind);

  // Memory: bounded while about 150 MB of hostile values went through, not proportional to them.
  const peakRss = Math.max(...rss);
  const heapUsed = metrics.get('nodejs_heap_size_used_bytes')!;
  t.diagnostic(`worker RSS peak ${Math.round(peakRss / MB)} MB over ${rss.length} samples, heap used at the end ${Math.round(heapUsed / MB)} MB`);
  assert.ok(rss.length >= 5, `${rss.length} memory samples`);
  assert.ok(peakRss < 1024 * MB, `peak RSS ${Math.round(peakRss / MB)} MB`);
  assert.ok(heapUsed < hostileBytes, `heap used ${Math.round(heapUsed / MB)} MB after ${Math.round(hostileBytes / MB)} MB of hostile values`);

  const stopped = await worker.stop();
  const invalid = RECORDS - expected.valid;
  assert.match(stopped.stderr, new RegExp(`stopped: applied ${expected.valid} events, rejected ${invalid} \\(`));
  assert.doesNotMatch(stopped.stderr, /^rxrec: /m, 'no error line');
  assert.equal((await stateSummary(stateDir)).applied, expected.valid, 'the state holds every valid event');

  // Every invalid record on the dlq: its class of reason, its key, its original bytes.
  const letters = (await readTopic(kafka, settings, names.dlq, invalid, 120_000)).map((record) => ({ messageKey: record.key, ...JSON.parse(record.value!) }));
  assert.equal(letters.length, invalid);
  const missing = new Map<string, number>();
  const count = (id: string, by: number) => missing.set(id, (missing.get(id) ?? 0) + by);
  // A key travels as UTF-8: a lone surrogate in it arrives as U+FFFD.
  const onTheWire = (key: string | null) => (key === null ? null : Buffer.from(key).toString());
  for (const { key, value, expected: kind } of records) if (kind !== 'valid') count(identity(kind, onTheWire(key), rawOf(value), value.length), 1);
  for (const letter of letters) {
    assert.equal(letter.topic, names.ratings);
    assert.equal(letter.messageKey, letter.key, 'the dlq message is keyed by the original key');
    const bytes = letter.rawBytes ?? (letter.raw.startsWith('base64:') ? Buffer.from(letter.raw.slice(7), 'base64').length : Buffer.byteLength(letter.raw));
    count(identity(kindOf(letter.reason), letter.key, letter.raw, bytes), -1);
  }
  const unmatched = [...missing].filter(([, left]) => left !== 0);
  assert.deepEqual(unmatched.slice(0, 5), [], 'each invalid record has its dead letter, with the reason of its class');
  const cut = letters.filter((letter) => letter.rawBytes !== undefined);
  assert.ok(cut.length > 0, 'some values were too long to keep whole');
  for (const letter of cut) assert.ok(Buffer.byteLength(JSON.stringify(letter)) < 1_000_000);
});
