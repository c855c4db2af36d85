/**
 * A "zombie" in a --scale-out group: a worker stopped (SIGSTOP, as a long pause or a stalled
 * machine would) past its session timeout while it consumes, so that the group gives its
 * partitions to the other worker, and then continued (SIGCONT). A batch it held when it was
 * stopped has been applied by its partitions' new holder; the worker must not commit it too
 * (kafkajs cannot fence it through the group generation, KIP-447). It asks the group first, is
 * told it was dropped, and stops with one line. At the end every event is applied once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { groupProgress, kafkaArgs, runCliOk, sleep, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { scaledOutView } from './scaled-out-state.js';

const RATINGS = 4000;
const SESSION_MS = 3000;

test('a --scale-out worker stopped past its session timeout and continued does not commit the batch it held: it stops with one line; every event applied once', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 4 });
  const topics = topicNames(settings.topicPrefix);
  const kafka = kafkaClient(settings, collectingLog().log);
  const dataset = await syntheticDataset({ users: 120, items: 150, ratings: RATINGS });
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--no-metadata']);
  const group = `${settings.topicPrefix}workers`;
  const flags = ['--scale-out', '--batch-size', '20', '--batch-wait-ms', '5', '--session-timeout-ms', String(SESSION_MS)];
  const dirs = [tempDir(), tempDir()];
  const start = (dir: string) => {
    const worker = Worker.start(settings, group, dir, flags);
    t.after(() => worker.child.kill('SIGKILL'));
    return worker;
  };
  const other = start(dirs[1]!);
  let zombie = start(dirs[0]!);
  const committed = async () =>
    [...(await groupProgress(kafka, group, topics.ratings)).committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
  for (const deadline = Date.now() + 120_000; (await committed().catch(() => 0)) < 600; await sleep(20)) {
    assert.ok(Date.now() < deadline, 'the group applied 600 events within 120 s');
  }
  await zombie.waitFor('an assignment', () => (zombie.assignment()?.length ?? 0) > 0);
  // Longer than the session (the group drops it) and shorter than the transaction timeout (10 s).
  zombie.child.kill('SIGSTOP');
  await sleep(SESSION_MS + 5000);
  zombie.child.kill('SIGCONT');
  const woke = await Promise.race([zombie.exited, sleep(15_000).then(() => undefined)]);
  if (woke) {
    assert.notEqual(woke.code, 0, woke.stderr);
    assert.match(
      woke.stderr,
      /rxrec: the group \S+ dropped this worker while it held a batch \((the process stood still|UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION)[^\n]*it stops without committing the batch/,
    );
    zombie = start(dirs[0]!);
  }
  await waitForGroupCaughtUp(kafka, group, topics.ratings, [zombie, other], 180_000);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
    const clocks = await Promise.all(dirs.map(async (dir) => (await scaledOutView(dir)).clock));
    if (clocks.every((clock) => clock === RATINGS)) break;
  }
  await Promise.all([zombie.stop(), other.stop()]);
  console.log(
    `zombie: ${woke ? `stopped on waking: ${/dropped this worker[^(]*\([^,;)]*/.exec(woke.stderr)?.[0]}` : 'held no batch when stopped, and went on'}`,
  );
  for (const [index, dir] of dirs.entries()) {
    const state = await scaledOutView(dir);
    assert.equal(state.clock, RATINGS, `popularity's clock on worker ${index}`);
    assert.equal(state.mfCount, RATINGS, `MF's shared count on worker ${index}`);
  }
});
