/**
 * A worker whose disk fills up mid-stream, on a real broker: it stops with one line and exit code
 * 1, the group's committed offset is not past the position its state stored, and a restart once
 * there is room applies every remaining event exactly once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { kafkaClient } from '../../streams/kafka/client.js';
import { topicNames } from '../../streams/kafka/config.js';
import { CLI } from '../cli/cli-run.js';
import { tempDir } from '../fixtures.js';
import { collectingLog, kafkaBroker, testSettings } from './broker.js';
import { groupProgress, kafkaArgs, runCliOk, stateSummary, syntheticDataset, waitForGroupCaughtUp, Worker, type Finished } from './cli-process.js';

const RATINGS = 6000;

/** `rxrec serve` under a file-size limit (RLIMIT_FSIZE: the kernel writes what fits, then refuses, as on a full disk). */
function serveWithFileSizeLimit(limitKiB: number, args: readonly string[]): Promise<Finished> {
  const started = Date.now();
  const child = spawn('bash', ['-c', `ulimit -f ${limitKiB} && exec "$0" "$@"`, process.execPath, CLI, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    }),
  );
}

test('a worker whose disk fills up stops with one line, commits no offset past its stored position, and resumes exactly once there is room', async (t) => {
  const broker = await kafkaBroker(t);
  if (!broker) return;
  const settings = testSettings(broker.brokers, { partitions: 1 });
  const topics = topicNames(settings.topicPrefix);
  const dataset = await syntheticDataset({ users: 150, items: 300, ratings: RATINGS });
  await runCliOk(['produce', ...kafkaArgs(settings), '--dataset', dataset, '--json']);
  const group = `${settings.topicPrefix}workers`;
  const state = tempDir();
  const workerArgs = [...kafkaArgs(settings), '--group', group, '--state', state, '--models', 'baseline,mf', '--batch-size', '250', '--connect-timeout', '30'];

  // The whole stream's state with these models takes about 1.4 MB: the limit is met mid-stream.
  const full = await serveWithFileSizeLimit(700, workerArgs);
  assert.equal(full.code, 1, full.stderr);
  const errors = full.stderr.split('\n').filter((line) => line.startsWith('rxrec:'));
  assert.equal(errors.length, 1, full.stderr);
  const refusal =
    /^rxrec: cannot store the batch in the state in '.*': the state file reached this process's file-size limit .*; the state holds positions p0@(\d+), where the next start resumes$/.exec(
      errors[0]!,
    );
  assert.ok(refusal, errors[0]);
  const held = Number(refusal[1]);
  assert.ok(held > 0 && held < RATINGS, `stopped at ${held}`);
  assert.deepEqual([...(await stateSummary(state)).positions], [[0, held]]);

  const kafka = kafkaClient(settings, collectingLog().log);
  const { committed } = await groupProgress(kafka, group, topics.ratings);
  assert.ok((committed.get(0) ?? 0) <= held, `the group committed ${committed.get(0)}, the state stored ${held}`);

  const worker = Worker.start(settings, group, state, ['--models', 'baseline,mf', '--batch-size', '250']);
  try {
    await waitForGroupCaughtUp(kafka, group, topics.ratings, [worker]);
  } finally {
    await worker.stop();
  }
  const summary = await stateSummary(state);
  assert.equal(summary.applied, RATINGS, 'every event applied once over both runs');
  assert.deepEqual([...summary.positions], [[0, RATINGS]]);
});
