/**
 * Leader changes on a three-broker cluster (replication factor 3, min.insync.replicas 2): while
 * a synthetic stream is produced, the broker leading a ratings partition (one that is not the
 * group's coordinator) is stopped (a controlled shutdown: its leaderships move to the other
 * replicas) and kept down until the worker has moved on without it; it is started again, and a
 * preferred-leader election moves leadership back to it. Then the group's coordinator is stopped
 * and started again. The worker, a separate process, applies every produced event exactly once and keeps
 * publishing lists. Its own file and its own cluster: it stops a broker.
 *
 * It caught kafkajs losing a partition's records when that partition's leader moved to a broker
 * that had acknowledged the same send's other partitions (streams/kafka/producer.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { freePorts, tempDir } from '../fixtures.js';
import { collectingLog, kafkaCluster, testSettings } from './broker.js';
import {
  groupProgress,
  kafkaArgs,
  ratedItems,
  readToEnd,
  runCliOk,
  sleep,
  stateSummary,
  syntheticDataset,
  waitForGroupCaughtUp,
  Worker,
} from './cli-process.js';

const PER_RUN = 1000;

interface PartitionLeadership {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** Leader, replicas and in-sync replicas of each partition, from a fresh admin (retried while the cluster moves). */
async function leadership(kafka: Kafka, topic: string): Promise<PartitionLeadership[]> {
  for (let attempt = 0; ; attempt++) {
    const admin: Admin = kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0]!.partitions
        .map(({ partitionId, leader, replicas, isr }) => ({ partition: partitionId, leader, replicas, isr }))
        .sort((a, b) => a.partition - b.partition);
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(500);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * The node coordinating `group`: the leader of its __consumer_offsets partition, which Kafka picks
 * as abs(Java String.hashCode(groupId)) mod the partition count.
 */
async function groupCoordinator(kafka: Kafka, group: string): Promise<number> {
  let hash = 0;
  for (const char of group) hash = (Math.imul(31, hash) + char.charCodeAt(0)) | 0;
  const offsets = await leadership(kafka, '__consumer_offsets');
  const partition = (hash === -2147483648 ? 0 : Math.abs(hash)) % offsets.length;
  return offsets.find((entry) => entry.partition === partition)!.leader;
}

async function committedSum(kafka: Kafka, group: string, topic: string): Promise<number> {
  const progress = await groupProgress(kafka, group, topic).catch(() => undefined);
  return [...(progress?.committed.values() ?? [])].reduce((sum, offset) => sum + Math.max(0, offset), 0);
}

/** rxrec_events_applied_total of the worker's /metrics: what it applied, committed to Kafka or not. */
async function appliedTotal(port: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  return Number(/^rxrec_events_applied_total (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs: number, worker: Worker): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    worker.assertRunning();
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms; worker said:\n${worker.stderr}`);
    await sleep(250);
  }
}

test('three brokers: the leader of a ratings partition stops mid-stream and leadership moves back; every event is applied once and lists continue', async (t) => {
  const cluster = await kafkaCluster(t);
  if (!cluster) return;
  const settings = testSettings(cluster.brokers, { partitions: 3, replicationFactor: 3 });
  const names = topicNames(settings.topicPrefix);
  const group = `${settings.topicPrefix}workers`;
  const kafka = kafkaClient(settings, collectingLog().log);
  const dataset = await syntheticDataset({ users: 40, items: 100, ratings: PER_RUN });
  const [httpPort] = await freePorts(1);
  const stateDir = tempDir();

  const worker = Worker.start(settings, group, stateDir, ['--http-port', String(httpPort), '--batch-size', '100', '--session-timeout-ms', '6000']);
  t.after(() => worker.child.kill('SIGKILL'));
  await worker.waitFor('an assignment', () => worker.assignment()?.length === 3, 90_000);
  const initial = await leadership(kafka, names.ratings);
  for (const partition of initial) assert.equal(partition.replicas.length, 3, `partition ${partition.partition} has 3 replicas: ${JSON.stringify(partition)}`);

  // The stream runs until the faults are over: runs of the dataset, paced, one after another.
  let faultsOver = false;
  let runs = 0;
  let reported = 0;
  const produceRun = async () => {
    const run = await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--rate', '250', '--json', ...(runs > 0 ? ['--no-metadata'] : [])]);
    reported += (JSON.parse(run.stdout.trim().split('\n').pop()!) as { ratings: number }).ratings;
    runs++;
  };
  const producing = (async () => {
    while (!faultsOver) await produceRun();
  })();
  // Awaited below; a failure after another assertion failed must not surface as an unhandled rejection.
  producing.catch(() => undefined);
  await until('the first events applied', async () => (await committedSum(kafka, group, names.ratings)) > 0, 60_000, worker);

  // Fault 1: the leader of a ratings partition goes away; the worker must go on with the other two
  // brokers. Not the group's coordinator: kafkajs keeps committing to a coordinator that is gone
  // (see the README's limitations).
  const coordinator = await groupCoordinator(kafka, group);
  const moved = initial.find((partition) => partition.leader !== coordinator);
  assert.ok(moved, `a ratings partition led by another broker than the coordinator ${coordinator}: ${JSON.stringify(initial)}`);
  const stoppedId = moved.leader;
  const stopped = cluster.nodes.find((node) => node.id === stoppedId)!;
  await stopped.stop();
  const appliedWhenStopped = await committedSum(kafka, group, names.ratings);
  const withoutIt = await leadership(kafka, names.ratings);
  for (const partition of withoutIt) assert.notEqual(partition.leader, stoppedId, `partition ${partition.partition} has a new leader`);
  await until('progress while a broker is down', async () => (await committedSum(kafka, group, names.ratings)) >= appliedWhenStopped + 200, 60_000, worker);
  await sleep(3000);

  // Fault 2: it comes back, catches up, and a preferred-leader election makes it the leader again.
  await stopped.start();
  await until('the restarted broker back in sync', async () => (await leadership(kafka, names.ratings)).every((p) => p.isr.length === 3), 60_000, worker);
  const election = await cluster.tool('kafka-leader-election', [
    '--bootstrap-server',
    cluster.brokers.join(','),
    '--election-type',
    'PREFERRED',
    '--all-topic-partitions',
  ]);
  assert.equal(election.code, 0, election.text);
  // The metadata a client reads may lag the election by a moment.
  await until(
    `the preferred leader ${stoppedId} leading partition ${moved.partition} again (${election.text.trim()})`,
    async () => (await leadership(kafka, names.ratings)).find((partition) => partition.partition === moved.partition)?.leader === stoppedId,
    15_000,
    worker,
  );
  const after = await leadership(kafka, names.ratings);

  // Fault 3: the group's coordinator goes away. kafkajs keeps committing to the coordinator it
  // knew until that broker is back, so the group's offsets stall; the worker keeps applying
  // events from its stored positions meanwhile.
  const coordinatorNow = await groupCoordinator(kafka, group);
  const coordinatorNode = cluster.nodes.find((node) => node.id === coordinatorNow)!;
  await coordinatorNode.stop();
  const appliedWithoutCoordinator = await appliedTotal(httpPort!);
  await until('events applied while the coordinator is down', async () => (await appliedTotal(httpPort!)) >= appliedWithoutCoordinator + 200, 60_000, worker);
  await coordinatorNode.start();
  await until('the coordinator back in sync', async () => (await leadership(kafka, names.ratings)).every((p) => p.isr.length === 3), 60_000, worker);
  faultsOver = true;
  await producing;
  // One run after both faults: the worker's lists must continue past them.
  const faultsOverAt = Date.now();
  await produceRun();

  const ends = await waitForGroupCaughtUp(kafka, group, names.ratings, [worker], 120_000);
  const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
  assert.equal(ready.status, 200, await ready.text());
  const finished = await worker.stop();

  const produced = runs * PER_RUN;
  assert.equal(reported, produced, 'each run reported the whole dataset sent');
  const onTopic = [...ends.values()].reduce((sum, end) => sum + end, 0);
  assert.equal(onTopic, produced, 'the idempotent producer wrote each event once through both leader changes');
  const state = await stateSummary(stateDir);
  assert.equal(state.applied, produced, 'the worker applied each event once');
  assert.deepEqual(state.positions, ends);
  assert.match(finished.stderr, new RegExp(`stopped: applied ${produced} events, rejected 0`));

  const rated = ratedItems(dataset);
  const lists = await readToEnd(kafka, settings, names.recs);
  const latest = new Map<string, { items: Array<{ itemId: string }> }>();
  for (const record of lists) latest.set(record.key!, JSON.parse(record.value!));
  assert.deepEqual([...latest.keys()].sort(), [...rated.keys()].sort(), 'a list for every user who rated');
  for (const [user, list] of latest)
    assert.deepEqual(
      list.items.filter(({ itemId }) => rated.get(user)!.has(itemId)),
      [],
      `user ${user}'s list`,
    );
  const afterFaults = lists.filter((record) => (JSON.parse(record.value!) as { publishedAt: number }).publishedAt >= faultsOverAt);
  assert.deepEqual([...new Set(afterFaults.map((record) => record.partition))].sort(), [0, 1, 2], 'lists published on every partition after the faults');
  console.log(
    `cluster: broker ${stoppedId} (leader of p${moved.partition}; coordinator ${coordinator}) stopped at ${appliedWhenStopped} events applied and restarted; leaders ${initial.map((p) => p.leader)} → ${withoutIt.map((p) => p.leader)} → ${after.map((p) => p.leader)}; ` +
      `coordinator ${coordinatorNow} stopped at ${appliedWithoutCoordinator} applied and restarted; ` +
      `produced ${produced} in ${runs} runs, applied ${state.applied}, ${afterFaults.length} lists published after the faults`,
  );
});
