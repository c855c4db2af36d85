/**
 * Two workers in one consumer group, each with its own state directory: they split the ratings
 * topic's partitions and together cover every user; when one stops, the other takes its
 * partitions over; when the first comes back and takes them again, it resumes from where the
 * other left them, not from its own older stored positions. Every rebalance happens while events
 * are being produced, and across the group every produced event is applied exactly once; a last
 * phase after the final handover gives the last holder events of its own on every partition.
 *
 * Model parameters are not compared: with several partitions and two workers the interleaving
 * differs run to run, and user-side parameters do not move with a partition (see the README's
 * Kafka section). The checks are counts, positions and users.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, ratedItems, readToEnd, runCliOk, sleep, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';

const PER_PHASE = 1000;
const ALL = [0, 1, 2, 3];

test('two workers split the partitions, hand them over when one stops and back when it returns, applying every event once', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 4 });
  const ratingsTopic = topicNames(settings.topicPrefix).ratings;
  const kafka = kafkaClient(settings, collectingLog().log);
  const group = `${settings.topicPrefix}workers`;
  const dataset = await syntheticDataset({ users: 40, items: 80, ratings: PER_PHASE });
  // Each phase publishes the dataset again, paced, so each rebalance lands mid-stream.
  const producePhase = () => runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--no-metadata', '--rate', '500']);
  const flags = ['--batch-size', '50', '--session-timeout-ms', '6000'];
  const stateA = tempDir();
  const stateB = tempDir();
  const workers: Worker[] = [];
  const start = (state: string) => {
    const worker = Worker.start(settings, group, state, flags);
    workers.push(worker);
    t.after(() => worker.child.kill('SIGKILL'));
    return worker;
  };
  const caughtUp = () => waitForGroupCaughtUp(kafka, group, ratingsTopic, workers);

  // 1. A alone holds every partition.
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset]);
  const a = start(stateA);
  await caughtUp();
  assert.deepEqual(a.assignment(), ALL);

  // 2. B joins while events arrive: the two split the partitions.
  const phase2 = producePhase();
  await sleep(500);
  const b = start(stateB);
  await b.waitFor('a share of the partitions', () => (b.assignment()?.length ?? 0) > 0);
  await a.waitFor('the rebalance', () => (a.assignment()?.length ?? 0) < ALL.length);
  await phase2;
  await caughtUp();
  const [heldByA, heldByB] = [a.assignment()!, b.assignment()!];
  assert.ok(heldByA.length > 0 && heldByB.length > 0, `both hold partitions: a ${heldByA}, b ${heldByB}`);
  assert.deepEqual([...heldByA, ...heldByB].sort(), ALL);

  // 3. A stops cleanly mid-stream: B takes its partitions over from where A committed them.
  const phase3 = producePhase();
  await sleep(700);
  await a.stop();
  await b.waitFor('all partitions', () => b.assignment()?.length === ALL.length);
  await phase3;
  await caughtUp();

  // 4. A returns and B stops: A holds all again; its stored positions are older than the group's.
  const phase4 = producePhase();
  await sleep(500);
  const again = start(stateA);
  await again.waitFor('a share of the partitions', () => (again.assignment()?.length ?? 0) > 0);
  await b.stop();
  await again.waitFor('all partitions', () => again.assignment()?.length === ALL.length);
  await phase4;
  // 5. Events that arrive after the handover: phase 4 may have ended before B stopped, and then
  //    A, resuming at the group's offsets, would have nothing of its own to store.
  await producePhase();
  const ends = await caughtUp();
  await again.stop();

  const [summaryA, summaryB] = [await stateSummary(stateA), await stateSummary(stateB)];
  const produced = [...ends.values()].reduce((sum, end) => sum + end, 0);
  assert.equal(produced, 5 * PER_PHASE);
  assert.ok(summaryA.applied > 0 && summaryB.applied > 0, `both applied events: a ${summaryA.applied}, b ${summaryB.applied}`);
  assert.equal(summaryA.applied + summaryB.applied, produced, `a ${summaryA.applied} + b ${summaryB.applied} = every event once`);
  assert.deepEqual(summaryA.positions, ends, "the last holder's state ends at the topic's end");

  const users = [...ratedItems(dataset).keys()].sort();
  assert.deepEqual([...new Set([...summaryA.users, ...summaryB.users])].sort(), users, 'together they cover every user');
  const listed = new Set((await readToEnd(kafka, settings, topicNames(settings.topicPrefix).recs)).map((record) => record.key));
  assert.deepEqual([...listed].sort(), users, 'every user has a list on the recs topic');
  console.log(`applied: a ${summaryA.applied}, b ${summaryB.applied}; split a [${heldByA}] b [${heldByB}]`);
});
