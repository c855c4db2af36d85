/**
 * Repeated crashes in a group (serve --scale-out): three workers on 6 partitions, and at 20
 * random points of the stream (seeded: RXREC_CRASH_SEED replays a run) one of them, chosen at
 * random, is SIGKILLed and started again on its state directory. At the end:
 * - applied events equal produced events: popularity's shared event clock and MF's shared count
 *   are the stream's length on every worker (an event lost or applied twice anywhere moves both),
 *   and each partition's final holder stored its end offset;
 * - the shared item side agrees across the workers to rounding (the per-worker parts of the
 *   models are approximate by design: README, Scale-out);
 * - every user's whole history, and a list without a rated item, are at their partition's holder;
 * - no list on the recs topic holds an item its user had rated before the user's newest event
 *   that list includes (its eventTs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRng } from '../../src/random.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { groupProgress, kafkaArgs, ratedItems, readToEnd, runCliOk, sleep, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';
import { itemRowGap, scaledOutView as view, usersWhole } from './scaled-out-state.js';

const RATINGS = 3000;
const CRASHES = 20;
const WORKERS = 3;
const SEED = Number(process.env.RXREC_CRASH_SEED ?? 20261202);

test('workers of a --scale-out group killed at 20 random points and restarted: every event applied once, users whole, no list with a rated item', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 6 });
  const topics = topicNames(settings.topicPrefix);
  const kafka = kafkaClient(settings, collectingLog().log);
  const dataset = await syntheticDataset({ users: 120, items: 150, ratings: RATINGS });
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--no-metadata']);
  const group = `${settings.topicPrefix}workers`;
  // Small batches (many commit points to be killed between) and short sessions, though not so short that a worker
  // stalled by this shared machine is dropped while it lives on (it would then stop: README, Scale-out, a worker that stalls).
  const flags = ['--scale-out', '--batch-size', '20', '--batch-wait-ms', '5', '--session-timeout-ms', '3000'];
  const dirs = Array.from({ length: WORKERS }, () => tempDir());
  const incarnations: Array<{ readonly slot: number; readonly worker: Worker }> = [];
  const start = (slot: number) => {
    const worker = Worker.start(settings, group, dirs[slot]!, flags);
    t.after(() => worker.child.kill('SIGKILL'));
    incarnations.push({ slot, worker });
    return worker;
  };
  const workers = dirs.map((_, slot) => start(slot));
  const committed = async () =>
    [...(await groupProgress(kafka, group, topics.ratings).catch(() => ({ committed: new Map<number, number>() }))).committed.values()].reduce(
      (sum, offset) => sum + Math.max(0, offset),
      0,
    );

  const rng = createRng(SEED);
  const gap = Math.floor((RATINGS - 400) / CRASHES);
  const kills: string[] = [];
  for (let crash = 0; crash < CRASHES; crash++) {
    const after = 100 + crash * gap + Math.floor(rng.next() * (gap - 20));
    const slot = Math.floor(rng.next() * WORKERS);
    const jitterMs = Math.floor(rng.next() * 30);
    for (const deadline = Date.now() + 120_000; (await committed()) < after; await sleep(10)) {
      assert.ok(Date.now() < deadline, `the group reached ${after} within 120 s (crash ${crash + 1})`);
    }
    await sleep(jitterMs);
    await workers[slot]!.kill();
    kills.push(`w${slot}@${await committed()}`);
    workers[slot] = start(slot);
  }
  await waitForGroupCaughtUp(kafka, group, topics.ratings, workers, 180_000);
  const { ends } = await groupProgress(kafka, group, topics.ratings);
  assert.equal(
    [...ends.values()].reduce((sum, end) => sum + end, 0),
    RATINGS,
  );
  // Until each partition's holder (a worker restarted last may join after the group caught up, and restore) stored its end, and every clock is whole.
  let holders = new Map<number, number>();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
    const assignments = workers.map((worker) => worker.assignment());
    holders = new Map(assignments.flatMap((partitions, slot) => (partitions ?? []).map((partition) => [partition, slot] as const)));
    const states = await Promise.all(dirs.map((dir) => view(dir)));
    const settled =
      assignments.every((partitions) => partitions !== undefined) &&
      holders.size === ends.size &&
      [...holders].every(([partition, slot]) => states[slot]!.positions.get(partition) === ends.get(partition)) &&
      states.every((state) => state.clock === RATINGS);
    if (settled) break;
  }
  await Promise.all(workers.map((worker) => worker.stop()));
  const views = await Promise.all(dirs.map((dir) => view(dir)));
  if (process.env.RXREC_DEBUG_SCALE_OUT) for (const { slot, worker } of incarnations) console.log(`--- worker ${slot}\n${worker.stderr}`);

  for (const [slot, state] of views.entries()) {
    assert.equal(state.clock, RATINGS, `popularity's clock on worker ${slot}`);
    assert.equal(state.mfCount, RATINGS, `MF's shared count on worker ${slot}`);
  }
  assert.deepEqual([...holders.keys()].sort(), [0, 1, 2, 3, 4, 5]);
  for (const [partition, slot] of holders)
    assert.equal(views[slot]!.positions.get(partition), ends.get(partition), `partition ${partition}'s holder stored its end`);
  for (const other of views.slice(1)) {
    const { worst, key } = itemRowGap(views[0]!, other);
    assert.ok(worst < 1e-9, `the shared item rows agree: worst relative gap ${worst} at ${key}`);
  }
  usersWhole(ratedItems(dataset), views, (partition) => views[holders.get(partition)!]!);

  // Published lists: none holds an item its user rated before the newest event it includes.
  const ratedAt = new Map<string, Map<string, number>>();
  for (const line of readFileSync(join(dataset, 'u.data'), 'utf8').split('\n')) {
    const [user, item, , ts] = line.split('\t');
    if (ts === undefined) continue;
    if (!ratedAt.has(user!)) ratedAt.set(user!, new Map());
    // MovieLens seconds; events and lists carry milliseconds.
    ratedAt.get(user!)!.set(item!, Math.min(Number(ts) * 1000, ratedAt.get(user!)!.get(item!) ?? Infinity));
  }
  const lists = await readToEnd(kafka, settings, topics.recs);
  assert.ok(lists.length > 200, `${lists.length} lists published`);
  for (const record of lists) {
    const list = JSON.parse(record.value!) as { userId: string; items: Array<{ itemId: string }>; eventTs: number };
    const rated = ratedAt.get(list.userId) ?? new Map<string, number>();
    const stale = list.items.filter(({ itemId }) => (rated.get(itemId) ?? Infinity) < list.eventTs).map(({ itemId }) => itemId);
    assert.deepEqual(
      stale,
      [],
      `the list of ${list.userId} at eventTs ${list.eventTs} (recs offset ${record.partition}:${record.offset}) holds items they had rated`,
    );
  }
  console.log(`seed ${SEED}: killed ${kills.join(', ')} of ${RATINGS}; ${lists.length} lists checked`);
});
