/**
 * Graceful shutdown of `rxrec serve`, a separate process, mid-stream. SIGTERM and SIGINT each:
 * the batch in flight is finished and stored with its offsets (the positions in the state equal
 * the group's committed offsets), the group is left at once (empty right after the exit, though
 * the session timeout is 30 s), the HTTP server is closed even with a live-page stream open, and
 * the process exits 0 within SHUTDOWN_BOUND_MS. A second signal exits at once with 143 or 130.
 * After all of them a restarted worker ends with every produced event applied exactly once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { freePorts, tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { groupProgress, kafkaArgs, runCliOk, sleep, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker, type Finished } from './cli-process.js';

/** The README's bound: a worker exits within 10 s of SIGTERM or SIGINT while the cluster answers. */
const SHUTDOWN_BOUND_MS = 10_000;
/** "At once", generously: the second signal's exit does not wait for Kafka or the state. */
const SECOND_SIGNAL_BOUND_MS = 3_000;
const PER_RUN = 1000;

async function committedSum(kafka: Kafka, group: string, topic: string): Promise<number> {
  const progress = await groupProgress(kafka, group, topic).catch(() => undefined);
  return [...(progress?.committed.values() ?? [])].reduce((sum, offset) => sum + Math.max(0, offset), 0);
}

/** Open a live-page event stream and keep it open (a browser tab on the live page). */
async function openLiveStream(port: number): Promise<AbortController> {
  const abort = new AbortController();
  const response = await fetch(`http://127.0.0.1:${port}/events`, { signal: abort.signal });
  assert.equal(response.status, 200);
  void response.body?.pipeTo(new WritableStream()).catch(() => undefined);
  return abort;
}

async function portRefuses(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

test('SIGTERM and SIGINT finish the batch, store state and offsets, leave the group, close HTTP and exit 0 in time; a second signal exits at once; nothing is lost', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 3 });
  const ratingsTopic = topicNames(settings.topicPrefix).ratings;
  const group = `${settings.topicPrefix}workers`;
  const kafka = kafkaClient(settings, collectingLog().log);
  const admin = kafka.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const dataset = await syntheticDataset({ users: 40, items: 100, ratings: PER_RUN });
  const stateDir = tempDir();

  // The stream runs until every stop is done: runs of the dataset, paced, one after another.
  let stopsDone = false;
  let runs = 0;
  const produceRun = async () => {
    await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--rate', '400', ...(runs > 0 ? ['--no-metadata'] : [])]);
    runs++;
  };
  await produceRun();
  const producing = (async () => {
    while (!stopsDone) await produceRun();
  })();
  // Awaited below; a failure after another assertion failed must not surface as an unhandled rejection.
  producing.catch(() => undefined);
  t.after(() => (stopsDone = true));

  const workers: Worker[] = [];
  /** A worker that has applied at least `more` events beyond what the group had committed when it started. */
  const startMidStream = async (extra: readonly string[] = []) => {
    const [httpPort] = await freePorts(1);
    const before = await committedSum(kafka, group, ratingsTopic);
    const worker = Worker.start(settings, group, stateDir, ['--http-port', String(httpPort!), '--batch-size', '50', '--batch-wait-ms', '20', ...extra]);
    workers.push(worker);
    t.after(() => worker.child.kill('SIGKILL'));
    await worker.waitFor('an assignment', () => worker.assignment()?.length === 3, 60_000);
    for (const deadline = Date.now() + 60_000; (await committedSum(kafka, group, ratingsTopic)) < before + 200; await sleep(50)) {
      worker.assertRunning();
      assert.ok(Date.now() < deadline, `200 events applied within 60 s; worker said:\n${worker.stderr}`);
    }
    return { worker, httpPort: httpPort! };
  };
  const signalled = async (worker: Worker, signal: NodeJS.Signals, twice: boolean): Promise<Finished & { afterSignalMs: number; afterSecondMs?: number }> => {
    const at = performance.now();
    worker.child.kill(signal);
    let secondAt: number | undefined;
    if (twice) {
      // Once the first is handled (two pending signals of one kind would merge into one), and at
      // once: a poll's 50 ms could outlast the whole stop (a batch of 50, a commit, leaving the
      // group), which then exits 0 before the second signal lands.
      await new Promise<void>((resolve) => {
        const stopping = () => worker.stderr.includes('stopping: finishing the batch in flight');
        const onData = () => {
          if (!stopping()) return;
          worker.child.stderr!.off('data', onData);
          resolve();
        };
        // Registered after Worker's own listener, so worker.stderr already holds the chunk.
        worker.child.stderr!.on('data', onData);
        worker.child.once('close', () => resolve());
        onData();
      });
      secondAt = performance.now();
      worker.child.kill(signal);
    }
    const finished = await worker.exited;
    const end = performance.now();
    return { ...finished, afterSignalMs: end - at, afterSecondMs: secondAt === undefined ? undefined : end - secondAt };
  };
  let appliedSoFar = 0;
  const figures: string[] = [];

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // The default session timeout (30 s): a member that did not leave would still be listed below.
    const { worker, httpPort } = await startMidStream();
    const live = await openLiveStream(httpPort);
    t.after(() => live.abort());
    const finished = await signalled(worker, signal, false);
    live.abort();

    assert.equal(finished.code, 0, `${signal}: exit code; worker said:\n${finished.stderr}`);
    assert.ok(finished.afterSignalMs < SHUTDOWN_BOUND_MS, `${signal}: exited ${Math.round(finished.afterSignalMs)} ms after the signal`);
    assert.match(finished.stderr, /stopping: finishing the batch in flight, then committing and leaving the group/);
    const summary = /stopped: applied (\d+) events, rejected 0 .*stored positions (.*)$/m.exec(finished.stderr);
    assert.ok(summary, `${signal}: the summary line; worker said:\n${finished.stderr}`);

    const state = await stateSummary(stateDir);
    const { committed } = await groupProgress(kafka, group, ratingsTopic);
    // -1: a partition without a commit (no event of it yet), which the state has no position of either.
    const committedPositions = new Map([...committed].filter(([, offset]) => offset >= 0));
    assert.ok(committedPositions.size > 0, `${signal}: offsets were committed`);
    assert.deepEqual(state.positions, committedPositions, `${signal}: the offsets committed to Kafka are the positions stored with the state`);
    const stored = [...state.positions.values()].reduce((sum, offset) => sum + offset, 0);
    assert.equal(state.applied, stored, `${signal}: every event up to the stored positions is applied, none beyond`);
    assert.equal(Number(summary[1]), state.applied - appliedSoFar, `${signal}: the summary counts what this run stored`);
    assert.equal(summary[2], [...state.positions].map(([partition, offset]) => `p${partition}@${offset}`).join(' '));
    assert.ok(state.applied > appliedSoFar, `${signal}: the run applied events`);
    appliedSoFar = state.applied;

    const [described] = (await admin.describeGroups([group])).groups;
    assert.deepEqual({ state: described?.state, members: described?.members.length }, { state: 'Empty', members: 0 }, `${signal}: the worker left the group`);
    assert.ok(await portRefuses(httpPort), `${signal}: the HTTP port is closed`);
    figures.push(`${signal} exited 0 in ${Math.round(finished.afterSignalMs)} ms at ${state.applied} applied`);
  }

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    // This worker does not leave the group: a short session timeout lets the next one in soon.
    const { worker } = await startMidStream(['--session-timeout-ms', '6000']);
    const finished = await signalled(worker, signal, true);
    assert.equal(finished.code, code, `${signal} twice: exit code (signal ${finished.signal}); worker said:\n${finished.stderr}`);
    assert.match(finished.stderr, new RegExp(`${signal} again: exiting without finishing the batch`));
    assert.ok(finished.afterSecondMs! < SECOND_SIGNAL_BOUND_MS, `${signal} twice: exited ${Math.round(finished.afterSecondMs!)} ms after the second`);
    const state = await stateSummary(stateDir);
    const stored = [...state.positions.values()].reduce((sum, offset) => sum + offset, 0);
    assert.equal(state.applied, stored, `${signal} twice: the state is whole batches with their positions`);
    figures.push(`${signal}×2 exited ${code} ${Math.round(finished.afterSecondMs!)} ms after the second at ${state.applied} applied`);
  }

  stopsDone = true;
  await producing;
  const last = Worker.start(settings, group, stateDir, ['--session-timeout-ms', '6000']);
  workers.push(last);
  t.after(() => last.child.kill('SIGKILL'));
  const ends = await waitForGroupCaughtUp(kafka, group, ratingsTopic, workers, 120_000);
  await last.stop();

  const produced = runs * PER_RUN;
  assert.equal(
    [...ends.values()].reduce((sum, end) => sum + end, 0),
    produced,
    'the topic holds what was produced',
  );
  const state = await stateSummary(stateDir);
  assert.equal(state.applied, produced, 'across five workers and four stops, each produced event applied once');
  assert.deepEqual(state.positions, ends);
  console.log(`shutdown: ${figures.join('; ')}; produced ${produced} in ${runs} runs, applied ${state.applied}`);
});
