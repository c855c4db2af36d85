/**
 * User state follows its partition (serve --scale-out). Three workers in one group over a paced
 * synthetic stream on 6 partitions; one is SIGKILLed mid-stream and the others take its
 * partitions, restoring their users' state from the changelog; then a fourth worker with an
 * empty state directory joins, says on /health/ready that it restores, and restores what it is
 * given. At the end:
 * - every event was applied once in the group: popularity's shared event clock and MF's shared
 *   count on every live worker equal the stream's length (an event lost or applied twice would
 *   move both), and each partition's final holder stored its end offset;
 * - every user's history at their partition's final holder is every item they rated in the
 *   stream, and their current list holds none of them;
 * - lists of the killed worker's users were published after the kill.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { freePorts, tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { groupProgress, kafkaArgs, ratedItems, readToEnd, runCliOk, sleep, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { scaledOutView as view, usersWhole } from './scaled-out-state.js';

const RATINGS = 9000;

test("a --scale-out worker killed mid-stream hands its users' state over through the changelog; a fourth with an empty state restores its partitions; every event applied once", async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 6 });
  const kafka = kafkaClient(settings, collectingLog().log);
  const topics = topicNames(settings.topicPrefix);
  const dataset = await syntheticDataset({ users: 300, items: 200, ratings: RATINGS });
  const rated = ratedItems(dataset);
  const group = `${settings.topicPrefix}workers`;
  const dirs = new Map<Worker, string>();
  const start = (extra: readonly string[] = []) => {
    const dir = tempDir();
    const worker = Worker.start(settings, group, dir, ['--scale-out', '--batch-size', '100', '--session-timeout-ms', '3000', ...extra]);
    dirs.set(worker, dir);
    t.after(() => worker.child.kill('SIGKILL'));
    return worker;
  };

  const [victim, ...others] = [start(), start(), start()] as [Worker, Worker, Worker];
  await Promise.all([victim, ...others].map((worker) => worker.waitFor('two of the six partitions', () => worker.assignment()?.length === 2)));
  const producing = runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--no-metadata', '--rate', '900']);
  producing.catch(() => undefined);
  const committed = async () =>
    [...(await groupProgress(kafka, group, topics.ratings)).committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
  for (const deadline = Date.now() + 60_000; (await committed()) < RATINGS / 4; await sleep(50)) {
    assert.ok(Date.now() < deadline, 'a quarter of the stream applied within 60 s');
  }
  const handedOver = victim.assignment()!;
  await victim.kill();
  const killedAt = Date.now();

  // Its partitions go to the other two, which restore them before consuming them.
  await Promise.all(
    others.map((worker) =>
      worker.waitFor('an assignment of three partitions', () => worker.assignment()?.length === 3 && /restored partitions/.test(worker.stderr), 60_000),
    ),
  );
  const [httpPort] = await freePorts(1);
  const fourth = start(['--http-port', String(httpPort!)]);
  const reasons = new Set<string>();
  for (const deadline = Date.now() + 60_000; ; await sleep(20)) {
    assert.ok(Date.now() < deadline, `the fourth worker ready within 60 s; it said:\n${fourth.stderr}`);
    const answer = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).catch(() => undefined);
    if (!answer) continue;
    const body = (await answer.json()) as { reason?: string };
    if (body.reason) reasons.add(body.reason.replace(/\d+ records behind/, 'N records behind'));
    if (answer.status === 200 && fourth.assignment() !== undefined) break;
  }
  await producing;
  const live = [...others, fourth];
  await waitForGroupCaughtUp(kafka, group, topics.ratings, live, 120_000);
  const holders = new Map(live.flatMap((worker) => worker.assignment()!.map((partition) => [partition, worker] as const)));
  assert.deepEqual([...holders.keys()].sort(), [0, 1, 2, 3, 4, 5], 'the three live workers hold every partition');
  const fourthGot = fourth.assignment()!;
  assert.ok(fourthGot.length > 0, 'the fourth worker was given partitions');
  const { ends } = await groupProgress(kafka, group, topics.ratings);
  // What the fourth serves over HTTP, for every user (those of its partitions are checked below).
  type Served = { known: boolean; items: Array<{ itemId: string }> };
  const served = new Map<string, Served>();
  for (const user of rated.keys())
    served.set(user, (await (await fetch(`http://127.0.0.1:${httpPort}/recommendations/${encodeURIComponent(user)}`)).json()) as Served);
  // Once the stream has drained, each worker adds in the others' last totals at its idle polls.
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(250)) {
    const clocks = await Promise.all(live.map(async (worker) => (await view(dirs.get(worker)!)).clock));
    if (clocks.every((clock) => clock === RATINGS)) break;
  }
  const stopped = await Promise.all(live.map((worker) => worker.stop()));
  const views = new Map(await Promise.all(live.map(async (worker) => [worker, await view(dirs.get(worker)!)] as const)));
  const victimView = await view(dirs.get(victim)!);
  if (process.env.RXREC_DEBUG_SCALE_OUT) for (const worker of [victim, ...live]) console.log(`--- worker ${dirs.get(worker)}\n${worker.stderr}`);

  // Once across the group: the shared event clock and MF's count are the stream's length everywhere.
  for (const [worker, state] of views) {
    assert.equal(state.clock, RATINGS, `popularity's clock on ${dirs.get(worker)}`);
    assert.equal(state.mfCount, RATINGS, `MF's shared count on ${dirs.get(worker)}`);
  }
  for (const [partition, worker] of holders)
    assert.equal(views.get(worker)!.positions.get(partition), ends.get(partition), `partition ${partition}'s holder stored its end`);
  assert.equal(
    [...ends.values()].reduce((sum, end) => sum + end, 0),
    RATINGS,
  );

  // Every user's whole history (and a list without any of it) at their partition's final holder.
  const partitionOf = usersWhole(rated, [victimView, ...views.values()], (partition) => views.get(holders.get(partition)!)!);

  // The fourth serves the users of the partitions it restored: known, and nothing they rated.
  const fourthUsers = [...partitionOf].filter(([, partition]) => fourthGot.includes(partition)).map(([user]) => user);
  assert.ok(fourthUsers.length > 0);
  for (const user of fourthUsers) {
    const list = served.get(user)!;
    assert.ok(list.known && list.items.length > 0, `the fourth serves user ${user} a list of their own`);
    assert.deepEqual(
      list.items.map(({ itemId }) => itemId).filter((item) => rated.get(user)!.has(item)),
      [],
      `the fourth's list for user ${user} holds nothing they rated`,
    );
  }

  // The killed worker's users kept getting lists, from their new holders.
  const victimUsers = new Set([...partitionOf].filter(([, partition]) => handedOver.includes(partition)).map(([user]) => user));
  const recs = await readToEnd(kafka, settings, topics.recs);
  const after = new Set(
    recs
      .map((record) => JSON.parse(String(record.value)) as { userId: string; publishedAt: number })
      .filter((list) => list.publishedAt > killedAt && victimUsers.has(list.userId))
      .map((list) => list.userId),
  );
  assert.ok(after.size > victimUsers.size / 2, `${after.size} of the killed worker's ${victimUsers.size} users got lists after the kill`);

  // Restores were logged with the users they brought, and the fourth said so while it restored.
  const restoredLines = stopped.flatMap(({ stderr }) => [...stderr.matchAll(/restored partitions \[([\d, ]*)\] from [^:]+: (\d+) records, (\d+) users/g)]);
  const restoredUsers = (worker: Worker) =>
    [...worker.stderr.matchAll(/restored partitions \[[\d, ]*\] from [^:]+: \d+ records, (\d+) users/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  assert.ok(restoredUsers(others[0]) + restoredUsers(others[1]) > 0, 'the killed worker’s users were restored by the others');
  assert.ok(restoredUsers(fourth) > 0, `the fourth worker restored users; it said:\n${fourth.stderr}`);
  assert.ok(
    [...reasons].some((reason) => /^restoring partitions \[[\d, ]+\] of .*ratings: their users' state from .*user-state$/.test(reason)),
    `/health/ready said it was restoring: ${[...reasons].join(' | ')}`,
  );
  console.log(
    `hand-over: killed a worker holding [${handedOver}]; the fourth got [${fourthGot}]; ` +
      `${restoredLines.length} restores (${restoredLines.map((m) => `[${m[1]}] ${m[3]} users`).join('; ')}); ${partitionOf.size} users checked, ${fourthUsers.length} served by the fourth; ` +
      `${after.size}/${victimUsers.size} of the killed worker's users listed after the kill; readiness said: ${[...reasons].join(' | ')}`,
  );
});
