/**
 * `rxrec produce` and `rxrec serve` as separate processes against a real broker: a synthetic
 * stream ends as a list on the recs topic for every user who rated, none holding an item the user
 * rated; bad messages of every kind go to the dlq topic with their reason and original bytes
 * while every valid one is applied; `rxrec subscribe` prints the lists; the worker's health and
 * metrics say where it is.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import recommendationsSchema from '../../src/schemas/recommendations.schema.json' with { type: 'json' };
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, ratedItems, readToEnd, runCliAsync, runCliOk, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { BROKER_SCRIPT } from '../../deploy/kafka/local-broker.js';
import { freePorts, tempDir } from '../fixtures.js';

const SPEC = { users: 60, items: 120, ratings: 3000 };

test('a produced stream ends with a list on the recs topic for every user who rated, of items they have not rated', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  const names = topicNames(settings.topicPrefix);
  const kafka = kafkaClient(settings, collectingLog().log);
  const dataset = await syntheticDataset(SPEC);

  const produced = await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--batch-size', '700', '--json']);
  const summary = JSON.parse(produced.stdout.trim().split('\n').pop()!);
  assert.deepEqual(
    { items: summary.items, users: summary.users, ratings: summary.ratings, malformed: summary.malformed },
    { items: 120, users: 60, ratings: 3000, malformed: 0 },
  );
  assert.match(produced.stderr, /created topics .*ratings/);

  const [httpPort] = await freePorts(1);
  const stateDir = tempDir();
  const worker = Worker.start(settings, `${settings.topicPrefix}g`, stateDir, [
    '--http-port',
    String(httpPort),
    '--batch-size',
    '500',
    '--models',
    'baseline,mf,knn-item,popularity,cooccurrence,ensemble',
  ]);
  t.after(() => worker.child.kill('SIGKILL'));
  await waitForGroupCaughtUp(kafka, `${settings.topicPrefix}g`, names.ratings, [worker]);

  const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
  assert.equal(ready.status, 200, await ready.text());
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  assert.match(metrics, /^rxrec_consumer_lag_records 0$/m);
  assert.match(metrics, /^rxrec_events_applied_total 3000$/m);
  assert.match(metrics, /^rxrec_consumer_assigned_partitions 3$/m);
  // Readiness, the group joins, and labelled series at 0 from the start.
  assert.match(metrics, /^rxrec_ready 1$/m);
  assert.match(metrics, /^rxrec_kafka_rebalances_total [1-9]\d*$/m);
  for (const kind of ['consumer_crash', 'consumer_request_timeout', 'producer_request_timeout']) {
    assert.match(metrics, new RegExp(`^rxrec_kafka_errors_total\\{kind="${kind}"\\} 0$`, 'm'));
  }
  for (const reason of ['not_json', 'oversized', 'schema', 'timestamp', 'scale', 'malformed_line']) {
    assert.match(metrics, new RegExp(`^rxrec_events_rejected_total\\{reason="${reason}"\\} 0$`, 'm'));
  }
  // Kafka's own tools on the broker's jars (npm run kafka:tool) see the group's committed offsets.
  const described = spawnSync(
    'bash',
    [BROKER_SCRIPT, 'tool', 'kafka-consumer-groups', '--bootstrap-server', broker.brokers.join(','), '--describe', '--group', `${settings.topicPrefix}g`],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(described.status, 0, described.stderr);
  const partitionLines = described.stdout.split('\n').filter((line) => line.includes(` ${names.ratings} `));
  assert.equal(partitionLines.length, 3, described.stdout);
  for (const line of partitionLines) assert.match(line, new RegExp(`${names.ratings.replaceAll('.', '\\.')}\\s+\\d\\s+(\\d+)\\s+\\1\\s+0\\s`), line);
  const known = (await (await fetch(`http://127.0.0.1:${httpPort}/recommendations/1`)).json()) as { known: boolean };
  assert.equal(known.known, true);

  const stopped = await worker.stop();
  assert.match(stopped.stderr, /stopped: applied 3000 events, rejected 0 in \d+\.\d s, \d+ events\/s; lag 0; stored positions p0@/);
  const state = await stateSummary(stateDir);
  assert.equal(state.applied, 3000);

  const rated = ratedItems(dataset);
  const latest = new Map<string, { items: Array<{ itemId: string }> }>();
  for (const record of await readToEnd(kafka, settings, names.recs)) latest.set(record.key!, JSON.parse(record.value!));
  assert.deepEqual([...latest.keys()].sort(), [...rated.keys()].sort(), 'a list for every user who rated');
  for (const [user, list] of latest) {
    assert.equal(list.items.length, 10, `user ${user} has a full list`);
    const seen = list.items.filter(({ itemId }) => rated.get(user)!.has(itemId));
    assert.deepEqual(seen, [], `user ${user}'s latest list holds no item they rated`);
  }

  // With knn-item running, the changed neighbour lists of items go to the similar-items topic.
  const neighbourLists = await readToEnd(kafka, settings, names.similarItems);
  assert.ok(neighbourLists.length > 0, 'neighbour lists were published');
  for (const record of neighbourLists.slice(0, 20)) {
    const value = JSON.parse(record.value!);
    assert.equal(value.itemId, record.key);
    assert.ok(Array.isArray(value.neighbours));
  }

  const subscribed = await runCliOk(['subscribe', ...kafkaArgs(settings, false), '--from-beginning', '--user', '7', '--json', '--count', '1']);
  const first = JSON.parse(subscribed.stdout.trim());
  const validate = new Ajv2020({ strict: true }).compile(recommendationsSchema);
  assert.ok(validate(JSON.parse(subscribed.stdout.trim())), `subscribe --json prints the contract's object: ${JSON.stringify(validate.errors)}`);
  assert.equal(first.userId, '7');
  assert.equal(first.items.length, 10);
  const readable = await runCliOk(['subscribe', ...kafkaArgs(settings, false), '--from-beginning', '--count', '2']);
  assert.match(readable.stdout, /^\d\d:\d\d:\d\d\.\d{3} user \S+ by ensemble after ratings \d+:\d+: \S+ \(-?\d+\.\d\d\)/m);
  assert.equal(readable.stdout.trim().split('\n').length, 2);
});

test('bad messages go to the dlq topic with their reason and original bytes; every valid one is applied', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 2 });
  const names = topicNames(settings.topicPrefix);
  const kafka = kafkaClient(settings, collectingLog().log);
  // A line of the dataset that is no rating: produce publishes it as-is.
  const dataset = await syntheticDataset({ users: 30, items: 60, ratings: 800 }, ['7\tnot-a-line']);
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset]);

  const oversized = JSON.stringify({ userId: '1', itemId: '2', rating: 3, ts: 5, padding: 'x'.repeat(70_000) });
  const bad: Array<{ key: string | null; value: Buffer; reason: RegExp }> = [
    { key: '3', value: Buffer.from('{"userId": "3", "itemId":'), reason: /^not JSON: / },
    { key: '3', value: Buffer.from('{"userId":"3","itemId":"9","ts":881250949000}'), reason: /^missing field 'rating'$/ },
    { key: '4', value: Buffer.from('{"userId":"4","itemId":"9","rating":9,"ts":881250949000}'), reason: /^rating 9 is outside the 1-5 scale$/ },
    {
      key: '4',
      value: Buffer.from('{"userId":"4","itemId":"9","rating":3.5,"ts":881250949000}'),
      reason: /^rating 3\.5 is not a multiple of 1 on the 1-5 scale$/,
    },
    { key: '5', value: Buffer.from('{"userId":"5","itemId":"9","rating":3,"ts":"yesterday"}'), reason: /^bad timestamp: / },
    { key: '5', value: Buffer.from(oversized), reason: /^oversized message: \d+ bytes > 65536$/ },
    { key: null, value: Buffer.from([0xff, 0xfe, 0x00, 0x7b]), reason: /^not JSON: / },
  ];
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({ topic: names.ratings, messages: bad.map(({ key, value }) => ({ key, value })) });
  await producer.disconnect();

  const stateDir = tempDir();
  const group = `${settings.topicPrefix}g`;
  const worker = Worker.start(settings, group, stateDir);
  t.after(() => worker.child.kill('SIGKILL'));
  await waitForGroupCaughtUp(kafka, group, names.ratings, [worker]);
  const stopped = await worker.stop();
  assert.match(stopped.stderr, /stopped: applied 800 events, rejected 8 \(not_json 3, oversized 1, schema 1, timestamp 1, scale 2\) in /);
  assert.equal((await stateSummary(stateDir)).applied, 800, 'every valid event applied');

  const letters = (await readToEnd(kafka, settings, names.dlq)).map((record) => ({ key: record.key, ...JSON.parse(record.value!) }));
  assert.equal(letters.length, bad.length + 1);
  for (const letter of letters) {
    assert.equal(letter.topic, names.ratings);
    assert.ok(Number.isInteger(letter.partition) && Number.isInteger(letter.offset));
  }
  const line = letters.find((letter) => letter.raw === '7\tnot-a-line');
  assert.ok(line, 'the malformed dataset line reached the dlq as it was');
  assert.match(line.reason, /^not JSON: /);
  for (const { key, value, reason } of bad) {
    const text = value.toString('utf8');
    const raw = Buffer.from(text, 'utf8').equals(value) ? text : `base64:${value.toString('base64')}`;
    const letter = letters.find((candidate) => candidate.raw === raw);
    assert.ok(letter, `a dead letter with the original bytes of ${raw.slice(0, 60)}`);
    assert.match(letter.reason, reason);
    assert.equal(letter.key, key);
  }

  const readable = await runCliOk(['subscribe', ...kafkaArgs(settings, false), '--topic', 'dlq', '--from-beginning', '--user', '4', '--count', '2']);
  assert.match(readable.stdout, /rejected \S+ \d+:\d+ key 4: rating 9 is outside the 1-5 scale \| raw \{"userId":"4"/);
});

test('serve, produce and subscribe: a wrong address, a topic with the wrong policy, an unknown topic each give one line and a non-zero exit', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const [closedPort] = await freePorts(1);
  const nowhere = ['--brokers', `127.0.0.1:${closedPort}`, '--topic-prefix', 'it-nowhere.'];
  const results = await Promise.all([
    runCliAsync(['serve', ...nowhere, '--state', tempDir(), '--connect-timeout', '0']),
    runCliAsync(['produce', ...nowhere, '--dataset', await syntheticDataset({ users: 20, items: 30, ratings: 400 })]),
    runCliAsync(['subscribe', ...nowhere]),
  ]);
  for (const result of results) {
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1]!, new RegExp(`^rxrec: cannot reach Kafka at 127\\.0\\.0\\.1:${closedPort} while .*KAFKA_BROKERS`));
    assert.ok(result.ms < 30_000, `gave up after ${result.ms} ms`);
  }

  const settings = testSettings(broker.brokers, { partitions: 1 });
  const admin = kafkaClient(settings, collectingLog().log).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: topicNames(settings.topicPrefix).recs, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
  });
  await admin.disconnect();
  const policy = await runCliAsync(['serve', ...kafkaArgs(settings), '--state', tempDir()]);
  assert.equal(policy.code, 1);
  assert.match(policy.stderr, /^rxrec: topic '\S+recs' has cleanup\.policy=delete but rxrec needs compact; change it/m);
  assert.equal(
    policy.stderr
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('rxrec:')).length,
    1,
  );

  const unknown = await runCliAsync(['subscribe', '--brokers', broker.brokers.join(','), '--topic-prefix', 'it-no-such-prefix.']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^rxrec: topic\(s\) it-no-such-prefix\.recs do not exist/m);

  const usage = await runCliAsync(['serve', '--brokers', 'not an address', '--state', tempDir()]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^rxrec: --brokers: 'not an address' is not host:port/m);
  const scale = await runCliAsync(['serve', ...nowhere, '--scale', '0-10', '--state', tempDir()]);
  assert.equal(scale.code, 2);
  assert.match(scale.stderr, /^rxrec: option '--scale <scale>' argument '0-10' is invalid\. unknown rating scale '0-10': use one of 1-5, 0\.5-5$/m);
});

test('a state is bound to its ratings topic and settings: another stream or other settings are refused before connecting', async () => {
  const [closedPort] = await freePorts(1);
  const nowhere = ['--brokers', `127.0.0.1:${closedPort}`, '--topic-prefix', 'it-bound.', '--connect-timeout', '0'];

  const replayed = tempDir();
  await runCliOk(['replay', '--dataset', await syntheticDataset({ users: 20, items: 30, ratings: 400 }), '--state', replayed]);
  const replayState = await runCliAsync(['serve', ...nowhere, '--state', replayed]);
  assert.equal(replayState.code, 1);
  assert.match(replayState.stderr, /^rxrec: the state in '.*' belongs to stream 'replay:ml-100k:.*', not 'kafka:it-bound\.ratings'/m);

  // The first start binds the state (it then fails to reach Kafka); a start with another scale is refused.
  const bound = tempDir();
  const first = await runCliAsync(['serve', ...nowhere, '--state', bound]);
  assert.match(first.stderr, /^rxrec: cannot reach Kafka/m);
  const otherScale = await runCliAsync(['serve', ...nowhere, '--state', bound, '--scale', '0.5-5']);
  assert.equal(otherScale.code, 1);
  assert.match(otherScale.stderr, /^rxrec: the state in '.*' was made with model settings \{"scale":"1-5".*not \{"scale":"0.5-5"/m);
  const otherTopic = await runCliAsync(['serve', ...nowhere, '--state', bound, '--topic-prefix', 'it-other.']);
  assert.match(otherTopic.stderr, /^rxrec: the state in '.*' belongs to stream 'kafka:it-bound\.ratings', not 'kafka:it-other\.ratings'/m);
});
