/**
 * Exactly-once effect on state across crashes: a worker killed with SIGKILL at 20 random points
 * of the stream (seeded: RXREC_CRASH_SEED replays a failing run) and restarted each time ends with
 * the same model parameters, ids and histories as a worker that ran uninterrupted, and as the
 * embedded replay of the same dataset; it applied each produced event once; and no list it
 * published, before or after a crash, holds an item the user had rated in an event the list's
 * state included.
 *
 * The ratings topic has ONE partition here. Online MF parameters depend on the order events are
 * applied in; with several partitions the interleaving across partitions differs from run to run
 * (it follows fetch timing), so whole-model equality would not hold even without crashes. With
 * one partition the order is the topic's, which is the replay's timestamp order; the
 * several-partition, several-worker case is covered by serve-group.test.ts with quantities that
 * do not depend on the interleaving (counts, positions, users, histories).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin } from 'kafkajs';
import kafkajs from '../../streams/kafka/kafkajs.js';
import { createRng } from '../../src/random.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { tempDir } from '../fixtures.js';
import { storedParameters } from '../streams/stored-parameters.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, readToEnd, runCliOk, sleep, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';

const { ConfigResourceTypes } = kafkajs;
const RATINGS = 3000;
const CRASHES = 20;
const SEED = Number(process.env.RXREC_CRASH_SEED ?? 20261201);

/** CRASHES distinct points of the stream, ascending, at least 40 events apart, with a jitter of 0–30 ms each. */
function crashPoints(seed: number): Array<{ readonly after: number; readonly jitterMs: number }> {
  const rng = createRng(seed);
  const gap = Math.floor((RATINGS - 200) / CRASHES);
  return Array.from({ length: CRASHES }, (_, index) => ({
    after: 100 + index * gap + Math.floor(rng.next() * (gap - 40)),
    jitterMs: Math.floor(rng.next() * 30),
  }));
}

/** The broker's group.min.session.timeout.ms. */
async function minSessionTimeoutMs(admin: Admin): Promise<number> {
  const { brokers } = await admin.describeCluster();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: String(brokers[0]!.nodeId), configNames: ['group.min.session.timeout.ms'] }],
  });
  return Number(resources[0]?.configEntries.find((entry) => entry.configName === 'group.min.session.timeout.ms')?.configValue ?? 6_000);
}

test('a worker killed with SIGKILL at 20 random points and restarted ends with the parameters of an uninterrupted run', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  const ratingsTopic = topicNames(settings.topicPrefix).ratings;
  const kafka = kafkaClient(settings, collectingLog().log);
  const dataset = await syntheticDataset({ users: 60, items: 120, ratings: RATINGS });
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset]);
  // Small batches: many commit points to be killed between, and a run long enough to interrupt.
  // The killed member stays in the group until its session times out: keep that short, as short
  // as the broker allows (deploy/kafka/broker.sh allows 1 s; a stock broker 6 s).
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const sessionTimeoutMs = Math.max(2_000, await minSessionTimeoutMs(admin));
  const workerFlags = ['--batch-size', '5', '--batch-wait-ms', '5', '--session-timeout-ms', String(sessionTimeoutMs)];
  const points = crashPoints(SEED);

  const crashed = tempDir();
  const crashGroup = `${settings.topicPrefix}crashing`;
  const killedAt: number[] = [];
  for (const { after: killAfter, jitterMs } of points) {
    const worker = Worker.start(settings, crashGroup, crashed, workerFlags);
    t.after(() => worker.child.kill('SIGKILL'));
    // Kill once the group has seen this far, a little later each time: between batches, inside
    // one, between its LMDB commit and its Kafka commit.
    for (;;) {
      // The group coordinator may move while workers join and die: a retriable answer means "ask again".
      const offsets = await admin.fetchOffsets({ groupId: crashGroup, topics: [ratingsTopic] }).catch((error: { retriable?: boolean }) => {
        if (error.retriable) return [];
        throw error;
      });
      const [group] = offsets;
      if (Number(group?.partitions[0]?.offset ?? -1) >= killAfter) break;
      worker.assertRunning();
      await sleep(10);
    }
    await sleep(jitterMs);
    await worker.kill();
    killedAt.push((await stateSummary(crashed)).positions.get(0) ?? 0);
  }
  assert.deepEqual(
    [...killedAt].sort((a, b) => a - b),
    killedAt,
    `positions only move forward: ${killedAt}`,
  );
  assert.ok(killedAt[killedAt.length - 1]! < RATINGS, `the last kill was mid-stream (at ${killedAt})`);
  const last = Worker.start(settings, crashGroup, crashed, workerFlags);
  t.after(() => last.child.kill('SIGKILL'));
  await waitForGroupCaughtUp(kafka, crashGroup, ratingsTopic, [last]);
  await last.stop();

  const whole = tempDir();
  const wholeGroup = `${settings.topicPrefix}whole`;
  const uninterrupted = Worker.start(settings, wholeGroup, whole, ['--batch-size', '300']);
  t.after(() => uninterrupted.child.kill('SIGKILL'));
  await waitForGroupCaughtUp(kafka, wholeGroup, ratingsTopic, [uninterrupted]);
  await uninterrupted.stop();

  const replayed = tempDir();
  await runCliOk(['replay', '--dataset', dataset, '--state', replayed, '--json']);

  const expected = await storedParameters(whole);
  assert.ok(expected.size > 1000, `${expected.size} stored entries`);
  assert.equal(expected.get('position'), String(RATINGS));
  assert.deepEqual(await storedParameters(crashed), expected, 'killed and restarted = uninterrupted');
  assert.deepEqual(await storedParameters(replayed), expected, 'Kafka worker = embedded replay');
  assert.equal((await stateSummary(crashed)).applied, RATINGS, 'each produced event applied once');
  assert.equal((await stateSummary(whole)).applied, RATINGS);

  // No list holds an item its user rated at or before the list's sourceOffset (one partition: `0:offset`).
  const ratedAt = new Map<string, Array<{ offset: number; itemId: string }>>();
  for (const record of await readToEnd(kafka, settings, ratingsTopic)) {
    const { userId, itemId } = JSON.parse(record.value!) as { userId: string; itemId: string };
    if (!ratedAt.has(userId)) ratedAt.set(userId, []);
    ratedAt.get(userId)!.push({ offset: record.offset, itemId });
  }
  const lists = await readToEnd(kafka, settings, topicNames(settings.topicPrefix).recs);
  assert.ok(lists.length > 100, `${lists.length} lists published`);
  for (const record of lists) {
    const list = JSON.parse(record.value!) as { userId: string; items: Array<{ itemId: string }>; sourceOffset: string };
    const upTo = Number(list.sourceOffset.split(':')[1]);
    const rated = new Set((ratedAt.get(list.userId) ?? []).filter(({ offset }) => offset <= upTo).map(({ itemId }) => itemId));
    const stale = list.items.filter(({ itemId }) => rated.has(itemId)).map(({ itemId }) => itemId);
    assert.deepEqual(stale, [], `the list of ${list.userId} at ${list.sourceOffset} (recs offset ${record.offset}) holds items they had rated`);
  }
  console.log(`seed ${SEED}: killed at positions ${killedAt.join(', ')} of ${RATINGS}; ${lists.length} lists checked`);
});
