import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateStore } from '../../state/store.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { storedParameters } from '../streams/stored-parameters.js';
import { runCli, startCli } from './cli-run.js';

const ratings = randomRatings(6000, 80, 120, 5);
const datasetDir = writeMl100k(ratings, { extraLines: ['oops'] });

test('replay --json prints the summary contract as the last line of standard output', () => {
  const { status, stdout, stderr } = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--json']);
  assert.equal(status, 0, stderr);
  const lines = stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!);
  assert.deepEqual(Object.keys(summary).sort(), ['events', 'eventsPerSecond', 'hitAt10', 'models', 'ndcgAt10', 'rejected', 'seconds']);
  assert.equal(summary.events, ratings.length);
  assert.equal(summary.rejected, 1);
  assert.deepEqual(Object.keys(summary.models).sort(), ['baseline', 'mf']);
  for (const figures of Object.values(summary.models) as Array<{ rmse: number; mae: number }>) {
    assert.ok(figures.rmse > 0 && figures.rmse < 2 && figures.mae > 0 && figures.mae <= figures.rmse);
  }
  assert.ok(summary.hitAt10 >= 0 && summary.hitAt10 <= 1);
  assert.match(stderr, /replaying ml-100k from .*: 6001 records, as fast as possible/);
});

test('recommend prints a known user\'s list without items they rated, and the cold-start list for a new one', () => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state]).status, 0);
  const { status, stdout } = runCli(['recommend', '--user', '3', '--state', state, '--json']);
  assert.equal(status, 0);
  const list = JSON.parse(stdout);
  assert.equal(list.items.length, 10);
  const rated = new Set(ratings.filter((r) => r.user === 2).map((r) => String(r.item + 1)));
  for (const item of list.items) assert.ok(!rated.has(item.itemId));
  const human = runCli(['recommend', '--user', '3', '--state', state]);
  assert.match(human.stdout, /top 10 for user 3 \(rated \d+ items\) by mf:\n\s+1\. \d+\s+\d\.\d{3}\s+Film \d+ \(1995\) \[/);
  assert.match(runCli(['recommend', '--user', 'nobody', '--state', state]).stdout, /user nobody is unknown: the cold-start list by mf/);
});

test('errors are one line with a non-zero exit code, and --verbose adds the stack', () => {
  const missing = runCli(['replay', '--dataset', '/nonexistent/ml-100k', '--state', tempDir()]);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1, missing.stderr);
  assert.match(missing.stderr, /^rxrec: .*\/nonexistent\/ml-100k/);
  const verbose = runCli(['replay', '--dataset', '/nonexistent/ml-100k', '--state', tempDir(), '--verbose']);
  assert.ok(verbose.stderr.trim().split('\n').length > 1);
  const badFlag = runCli(['replay', '--k', 'ten']);
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /option '--k <n>' argument 'ten' is invalid\. 'ten' is not a positive integer/);
  const badModel = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--models', 'baseline,svd']);
  assert.match(badModel.stderr, /^rxrec: unknown model 'svd': available models are /);
  const badScale = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--scale', '1-10']);
  assert.equal(badScale.status, 1);
  assert.equal(badScale.stderr, "rxrec: unknown rating scale '1-10': use one of 1-5, 0.5-5\n");
  const empty = runCli(['recommend', '--user', '1', '--state', tempDir()]);
  assert.match(empty.stderr, /^rxrec: the state in '.*' is empty: run 'rxrec replay'/);
});

test('every command has --help', () => {
  for (const args of [['--help'], ['replay', '--help'], ['recommend', '--help'], ['dataset', '--help'], ['dataset', 'synth', '--help'], ['dataset', 'download', '--help'], ['dataset', 'info', '--help']]) {
    const { status, stdout } = runCli(args);
    assert.equal(status, 0, args.join(' '));
    assert.match(stdout, /Usage: rxrec/);
  }
});

test('SIGKILL at several points mid-stream, then resume: parameters equal an uninterrupted run', async () => {
  const uninterrupted = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', uninterrupted, '--batch-size', '100']).status, 0);

  const killed = tempDir();
  const positions: number[] = [];
  for (const delayMs of [700, 900, 1100]) {
    const child = startCli(['replay', '--dataset', datasetDir, '--state', killed, '--batch-size', '100', '--rate', '4000']);
    const exited = once(child, 'exit');
    await sleep(delayMs);
    child.kill('SIGKILL');
    await exited;
    const store = StateStore.open(killed);
    positions.push(store.position(0) ?? 0);
    await store.close();
  }
  assert.ok(positions.some((p) => p > 0 && p < ratings.length), `killed mid-stream at ${positions.join(', ')}`);
  const finish = runCli(['replay', '--dataset', datasetDir, '--state', killed, '--batch-size', '100', '--json']);
  assert.equal(finish.status, 0, finish.stderr);
  assert.deepEqual(await storedParameters(killed), await storedParameters(uninterrupted));
});
