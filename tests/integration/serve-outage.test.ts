/**
 * The worker process and a broker that is down at start-up and goes away mid-stream: it retries
 * with backoff, says so in its log and on /health/ready, and resumes without losing or
 * double-applying an event (the producer, idempotent, likewise). And a refused login or a user
 * without ACLs stops it with one line; produce and serve work over TLS with the CA they are given,
 * and a certificate they cannot verify stops them with one line. Its own file and its own broker:
 * it stops that broker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, runCliAsync, runCliOk, sleep, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { freePorts, tempDir } from '../fixtures.js';

async function readiness(port: number): Promise<{ status: number; reason?: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { reason?: string };
    return { status: response.status, reason: body.reason };
  } catch {
    return { status: 0 };
  }
}

async function waitForReadiness(
  port: number,
  what: string,
  accept: (answer: { status: number; reason?: string }) => boolean,
  timeoutMs: number,
  worker: Worker,
) {
  const deadline = Date.now() + timeoutMs;
  let answer = await readiness(port);
  while (!accept(answer)) {
    worker.assertRunning();
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms; last answer ${JSON.stringify(answer)}; worker said:\n${worker.stderr}`);
    await sleep(200);
    answer = await readiness(port);
  }
  return answer;
}

test('broker down at start-up and again mid-stream: the worker retries, reports it, and applies every event once', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.control);
  const settings = testSettings(broker.brokers, { partitions: 2 });
  const ratingsTopic = topicNames(settings.topicPrefix).ratings;
  const group = `${settings.topicPrefix}workers`;
  const dataset = await syntheticDataset({ users: 60, items: 120, ratings: 3000 });
  const [httpPort] = await freePorts(1);

  await broker.control.stop();
  const stateDir = tempDir();
  const worker = Worker.start(settings, group, stateDir, ['--http-port', String(httpPort), '--connect-timeout', '120', '--session-timeout-ms', '6000']);
  t.after(() => worker.child.kill('SIGKILL'));
  await worker.waitFor('a retry line', () => /cannot reach Kafka at .* retrying in \d+ s/.test(worker.stderr));
  const connecting = await waitForReadiness(httpPort, 'readiness to answer', (answer) => answer.status !== 0, 10_000, worker);
  assert.equal(connecting.status, 503);
  assert.match(connecting.reason!, /^connecting to Kafka at 127\.0\.0\.1:\d+ \(last attempt: cannot reach Kafka/);

  await broker.control.start();
  await worker.waitFor('an assignment', () => worker.assignment() !== undefined, 90_000);
  await waitForReadiness(httpPort, 'readiness once connected', (answer) => answer.status === 200, 30_000, worker);

  // 3000 events at 1000/s; the broker goes away once the first events are on the topic (not after
  // a fixed delay: a slow start of the producer would otherwise meet a broker already gone, a
  // different test) and comes back a few seconds later.
  const producing = runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--rate', '1000']);
  const admin = kafkaClient(settings, collectingLog().log).admin();
  await admin.connect();
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    const ends = await admin.fetchTopicOffsets(ratingsTopic).catch(() => []);
    if (ends.reduce((sum, { high }) => sum + Number(high), 0) > 0) break;
    assert.ok(Date.now() < deadline, 'the producer sent its first events within 30 s');
  }
  await admin.disconnect();
  await broker.control.stop();
  const down = await waitForReadiness(httpPort, 'readiness to report the outage', (answer) => answer.status === 503, 45_000, worker);
  await broker.control.start();
  await producing;
  const kafka = kafkaClient(settings, collectingLog().log);
  const ends = await waitForGroupCaughtUp(kafka, group, ratingsTopic, [worker], 120_000);
  await waitForReadiness(httpPort, 'readiness after the outage', (answer) => answer.status === 200, 30_000, worker);
  const stopped = await worker.stop();

  assert.equal(
    [...ends.values()].reduce((sum, end) => sum + end, 0),
    3000,
    'the idempotent producer wrote each event once',
  );
  const state = await stateSummary(stateDir);
  assert.equal(state.applied, 3000, 'the worker applied each event once');
  assert.deepEqual(state.positions, ends);
  assert.match(stopped.stderr, /stopped: applied 3000 events, rejected 0/);
  console.log(`outage: readiness while down ${JSON.stringify(down)}`);
});

test('a refused SASL login and a user without ACLs each stop the worker with one line', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.sasl);
  const settings = testSettings(broker.sasl.brokers);
  const sasl = ['--sasl-mechanism', 'plain', '--sasl-username', broker.sasl.unprivileged.username];
  const [refused, denied] = await Promise.all([
    runCliAsync(['serve', ...kafkaArgs(settings), ...sasl, '--state', tempDir()], { KAFKA_SASL_PASSWORD: 'not-the-password' }),
    runCliAsync(['serve', ...kafkaArgs(settings), ...sasl, '--state', tempDir()], { KAFKA_SASL_PASSWORD: broker.sasl.unprivileged.password }),
  ]);
  for (const result of [refused, denied]) {
    assert.equal(result.code, 1, result.stderr);
    // No secret in what the worker prints, the wrong one or the right one.
    for (const secret of ['not-the-password', broker.sasl.unprivileged.password])
      assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), 'a password in the output');
    assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('rxrec:')).length, 1, result.stderr);
  }
  assert.match(refused.stderr, /^rxrec: Kafka at \S+ refused the plain login of user 'rxrec' .*KAFKA_SASL_PASSWORD/m);
  assert.match(denied.stderr, /^rxrec: Kafka denied user 'rxrec' access to topic\(s\) .*TOPIC_AUTHORIZATION_FAILED/m);
});

test('produce and serve over TLS trust the CA they are given; an unverifiable certificate stops them with one line', async (t) => {
  const broker = await kafkaBroker(t, { own: true });
  if (!broker) return;
  assert.ok(broker.tls);
  const settings = testSettings(broker.tls.brokers);
  const tls = ['--ssl-ca', broker.tls.caFile];
  const dataset = await syntheticDataset({ users: 20, items: 60, ratings: 600 });
  await runCliOk(['produce', ...kafkaArgs(settings), ...tls, '--dataset', dataset]);
  const state = tempDir();
  const worker = Worker.start(settings, settings.groupId, state, [...tls, '--batch-size', '50']);
  t.after(() => worker.child.kill('SIGKILL'));
  // The group's progress is read over the plaintext listener of the same broker.
  const plaintext = kafkaClient({ ...settings, brokers: broker.brokers }, collectingLog().log);
  await waitForGroupCaughtUp(plaintext, settings.groupId, topicNames(settings.topicPrefix).ratings, [worker]);
  await worker.stop();
  assert.equal((await stateSummary(state)).applied, 600, 'every event came over TLS');

  // With --ssl alone the system's CAs are trusted, and they do not know the self-signed certificate.
  const untrusted = await runCliAsync(['serve', ...kafkaArgs(settings), '--ssl', '--state', tempDir(), '--connect-timeout', '5']);
  assert.notEqual(untrusted.code, 0, untrusted.stderr);
  const lines = untrusted.stderr.split('\n').filter((line) => line.startsWith('rxrec:'));
  assert.equal(lines.length, 1, untrusted.stderr);
  assert.match(lines[0]!, /^rxrec: the TLS certificate of Kafka at \S+ cannot be verified .*self-signed certificate.*--ssl-ca/);
  console.log(`untrusted TLS (${untrusted.ms} ms): ${lines[0]}`);
});
