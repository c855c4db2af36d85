/**
 * Three `rxrec serve --scale-out` workers in one group (separate state directories) over a
 * synthetic stream on 6 partitions, beside one worker alone on the same stream: the group gives
 * every id the same index, its item-side parameters agree across the workers once the stream
 * drains, and its prequential figures are within a stated tolerance of the lone worker's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StateValue } from '../../src/models/model.js';
import { unpackFloat64 } from '../../src/models/packed.js';
import type { PrequentialState } from '../../src/eval/prequential.js';
import { StateStore } from '../../state/store.js';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { kafkaArgs, runCliOk, sleep, syntheticDataset, waitForGroupCaughtUp, Worker } from './cli-process.js';

const SHARED = ['baseline', 'mf', 'popularity', 'ensemble'];
/**
 * Sums of contributions agree to rounding. Popularity (decayed, the default) shares its event
 * clock only: its picks stay per worker (README: Scale-out).
 */
const AGREEMENT = { exact: { models: ['baseline', 'mf', 'ensemble'], within: 1e-9 } };
const agree = (a: StateView, b: StateView) => Object.values(AGREEMENT).every(({ models, within }) => disagreement(a, b, models).worst < within);
/** Measured on this stream: see the README (Scale-out). */
const RMSE_TOLERANCE = 0.02;
const HIT_TOLERANCE = 0.03;

interface StateView {
  readonly users: string[];
  readonly items: string[];
  readonly shared: Map<string, number[]>;
  readonly evaluation: PrequentialState | undefined;
}

async function view(dir: string): Promise<StateView> {
  const store = StateStore.open(dir, { readOnly: true });
  try {
    const snapshot = store.snapshot(SHARED);
    const shared = new Map<string, number[]>();
    for (const [model, entries] of snapshot.models) {
      for (const [key, value] of entries)
        if (/^i\d+$/.test(key) || key === 'mean' || key === 'ranking' || key === 'clock') shared.set(`${model} ${key}`, numbers(value));
    }
    return {
      users: [...snapshot.users].map(([, id]) => id),
      items: [...snapshot.items].map(([, id]) => id),
      shared,
      evaluation: snapshot.evaluation,
    };
  } finally {
    await store.close();
  }
}

function numbers(value: StateValue): number[] {
  return value instanceof Uint8Array ? [...unpackFloat64(value)] : Array.isArray(value) ? (value as number[]) : [value as number];
}

/**
 * How far apart two workers' shared parameters of `models` are at worst, relative to the value's
 * size (keys only one has count as 1).
 */
function disagreement(a: StateView, b: StateView, models: readonly string[]): { worst: number; key: string } {
  let worst = 0;
  let worstKey = '';
  for (const key of new Set([...a.shared.keys(), ...b.shared.keys()])) {
    if (!models.includes(key.split(' ')[0]!)) continue;
    const [x, y] = [a.shared.get(key), b.shared.get(key)];
    const gap = !x || !y ? 1 : Math.max(...x.map((value, f) => Math.abs(value - y[f]!) / Math.max(1, Math.abs(value))));
    if (gap > worst) [worst, worstKey] = [gap, key];
  }
  return { worst, key: worstKey };
}

/** RMSE per model and published hit@10 over the events of all the given states. */
function figures(states: readonly StateView[]): { rmse: Record<string, number>; hit: number; events: number } {
  const totals: Record<string, { count: number; squared: number }> = {};
  let relevant = 0;
  let hits = 0;
  for (const { evaluation } of states) {
    for (const [model, { count, squaredError }] of Object.entries(evaluation?.errors ?? {})) {
      totals[model] ??= { count: 0, squared: 0 };
      totals[model].count += count;
      totals[model].squared += squaredError;
    }
    relevant += evaluation?.published.relevant ?? 0;
    hits += evaluation?.published.hits ?? 0;
  }
  const rmse = Object.fromEntries(Object.entries(totals).map(([model, { count, squared }]) => [model, Math.sqrt(squared / count)]));
  return { rmse, hit: hits / relevant, events: totals.mf?.count ?? 0 };
}

test('three --scale-out workers share indices and item-side parameters, and score like one worker alone', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 6 });
  const kafka = kafkaClient(settings, collectingLog().log);
  const ratingsTopic = topicNames(settings.topicPrefix).ratings;
  const dataset = await syntheticDataset({ users: 300, items: 200, ratings: 9000 });
  const flags = ['--batch-size', '100', '--session-timeout-ms', '6000'];
  const stateDirs = new Map<Worker, string>();
  const stateDirOf = (worker: Worker) => stateDirs.get(worker)!;
  const start = (group: string, extra: readonly string[]) => {
    const dir = tempDir();
    const worker = Worker.start(settings, group, dir, [...flags, ...extra]);
    stateDirs.set(worker, dir);
    t.after(() => worker.child.kill('SIGKILL'));
    return worker;
  };

  const loneGroup = `${settings.topicPrefix}lone`;
  const lone = start(loneGroup, []);
  const group = `${settings.topicPrefix}workers`;
  const members = [0, 1, 2].map(() => start(group, ['--scale-out']));
  // The stream starts once the three hold two partitions each (else the first to join would take it all).
  await Promise.all(members.map((worker) => worker.waitFor('two of the six partitions', () => worker.assignment()?.length === 2)));
  await lone.waitFor('all six partitions', () => lone.assignment()?.length === 6);
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--no-metadata']);
  await waitForGroupCaughtUp(kafka, group, ratingsTopic, members);
  await waitForGroupCaughtUp(kafka, loneGroup, ratingsTopic, [lone]);
  const assignments = members.map((worker) => worker.assignment()!);
  assert.deepEqual(assignments.flat().sort(), [0, 1, 2, 3, 4, 5], `the three split the partitions: ${JSON.stringify(assignments)}`);

  // Once the stream has drained, every worker adds in the others' last totals at its idle polls.
  const states = () => Promise.all(members.map((worker) => view(stateDirOf(worker))));
  let views = await states();
  for (let deadline = Date.now() + 30_000; Date.now() < deadline; views = await states()) {
    if (agree(views[0]!, views[1]!) && agree(views[0]!, views[2]!)) break;
    await sleep(250);
  }
  const stopped = await Promise.all([lone, ...members].map((worker) => worker.stop()));
  if (process.env.RXREC_DEBUG_SCALE_OUT) for (const { stderr } of stopped) console.log(`--- worker\n${stderr}`);
  views = await Promise.all(members.map((worker) => view(stateDirOf(worker))));
  const alone = await view(stateDirOf(lone));

  // The same index for every id on every worker: each has the whole catalogue, in the same order.
  for (const other of views.slice(1)) {
    const differ = (a: string[], b: string[]) => `${a.length} vs ${b.length} ids, first difference at index ${a.findIndex((id, i) => id !== b[i])}`;
    assert.deepEqual(other.items, views[0]!.items, `items: ${differ(other.items, views[0]!.items)}`);
    assert.deepEqual(other.users, views[0]!.users, `users: ${differ(other.users, views[0]!.users)}`);
  }
  assert.equal(views[0]!.items.length, alone.items.length);
  // Item-side parameters agree (to rounding: each worker sums the same contributions in its own order).
  for (const other of views.slice(1)) {
    for (const { models, within } of Object.values(AGREEMENT)) {
      const { worst, key } = disagreement(views[0]!, other, models);
      assert.ok(worst < within, `shared parameters agree within ${within}: worst relative gap ${worst} at ${key}`);
    }
  }
  for (const model of ['baseline', 'mf']) {
    assert.ok(
      [...views[0]!.shared.keys()].some((key) => key.startsWith(`${model} i`)),
      `${model} has shared item rows`,
    );
  }
  // Popularity's clock counts every worker's events: the whole stream on each (its picks decay as on one worker).
  for (const other of views) assert.equal(other.shared.get('popularity clock')?.[0], 9000);
  // Counts add up exactly: the mean's [sum, count] on every worker is the whole stream's.
  assert.deepEqual(views[0]!.shared.get('mf mean'), alone.shared.get('mf mean'));

  // Every event applied once across the group, and its figures within tolerance of the lone worker's.
  const [group3, single] = [figures(views), figures([alone])];
  assert.equal(group3.events, 9000);
  assert.equal(single.events, 9000);
  for (const model of ['baseline', 'mf', 'ensemble']) {
    assert.ok(
      Math.abs(group3.rmse[model]! - single.rmse[model]!) < RMSE_TOLERANCE,
      `${model} RMSE: group ${group3.rmse[model]!.toFixed(4)}, alone ${single.rmse[model]!.toFixed(4)}`,
    );
  }
  assert.ok(Math.abs(group3.hit - single.hit) < HIT_TOLERANCE, `published hit@10: group ${group3.hit.toFixed(4)}, alone ${single.hit.toFixed(4)}`);
  console.log(
    `group of 3 vs alone: ${['baseline', 'mf', 'ensemble'].map((m) => `${m} RMSE ${group3.rmse[m]!.toFixed(4)} vs ${single.rmse[m]!.toFixed(4)}`).join(', ')}; ` +
      `published hit@10 ${group3.hit.toFixed(4)} vs ${single.hit.toFixed(4)}; split ${JSON.stringify(assignments)}`,
  );
});
