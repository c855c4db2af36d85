/**
 * The state directory as a new user meets it: one writing process at a time (a second is
 * refused with one line, a SIGKILLed one does not block its restart), read-only commands on a
 * read-only mount, --fresh starting its output files anew, a path that cannot be a directory,
 * and --stop-at below the stored position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { CLI, runCli, startCli } from './cli-run.js';

const ratings = randomRatings(3000, 60, 100, 9);
const datasetDir = writeMl100k(ratings, { extraLines: ['oops'] });

async function waitForLock(state: string, child: ReturnType<typeof startCli>): Promise<void> {
  for (let waited = 0; !existsSync(join(state, 'rxrec.lock')); waited += 20) {
    assert.ok(waited < 20_000 && child.exitCode === null, 'the first replay locks its state');
    await sleep(20);
  }
}

test('a second process on a state directory in use is refused with one line; the first goes on', async () => {
  const state = tempDir();
  const first = startCli(['replay', '--dataset', datasetDir, '--state', state, '--rate', '100']);
  const exited = once(first, 'exit');
  try {
    await waitForLock(state, first);
    for (const args of [
      ['replay', '--dataset', datasetDir, '--state', state],
      ['replay', '--dataset', datasetDir, '--state', state, '--fresh'],
      ['serve', '--brokers', '127.0.0.1:1', '--connect-timeout', '0', '--state', state],
    ]) {
      const second = runCli(args);
      assert.equal(second.status, 1, second.stderr);
      assert.match(
        second.stderr,
        /^rxrec: the state in '.*' is in use by process \d+ \('rxrec replay', since [\dT:-]+Z\): stop it, or give this command another --state\n$/,
      );
    }
    assert.equal(first.exitCode, null, 'the first replay still runs');
    assert.ok(existsSync(join(state, 'rxrec.mdb')), '--fresh of the refused process discarded nothing');
    // A reader runs beside the writer.
    const reader = runCli(['recommend', '--user', '1', '--state', state, '--json']);
    assert.equal(reader.status, 0, reader.stderr);
  } finally {
    first.kill('SIGKILL');
    await exited;
  }
  // The lock of a SIGKILLed process is stale: the restart takes it over at once.
  const restart = runCli(['replay', '--dataset', datasetDir, '--state', state, '--json']);
  assert.equal(restart.status, 0, restart.stderr);
  assert.match(restart.stderr, /resuming at \d+\/3001/);
  assert.ok(!existsSync(join(state, 'rxrec.lock')), 'a clean exit removes the lock');
});

test('recommend and similar open the state read-only: they work on a read-only mount', (t) => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--models', 'baseline,mf,knn-item', '--rank-model', 'mf']).status, 0);
  const probe = spawnSync('unshare', ['-rm', 'sh', '-c', `mount --bind -o ro '${state}' '${state}' && ! touch '${state}/probe'`], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`no read-only bind mount here (unshare -rm): ${probe.stderr.trim()}`);
    return;
  }
  for (const command of [`recommend --user 1 --json`, `similar --item 1 --json`]) {
    const run = spawnSync(
      'unshare',
      ['-rm', 'sh', '-c', `mount --bind -o ro '${state}' '${state}' && '${process.execPath}' '${CLI}' ${command} --state '${state}'`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, `${command}: ${run.stderr}`);
    assert.ok(JSON.parse(run.stdout), command);
  }
  const missing = runCli(['recommend', '--user', '1', '--state', join(state, 'nothing-here')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^rxrec: there is no state in '.*nothing-here': run 'rxrec replay' or 'rxrec serve' with --state .* first\n$/);
  assert.ok(!existsSync(join(state, 'nothing-here')), 'a reader creates nothing');
});

test('replay --fresh starts the dead-letter and --out files anew; a resumed replay appends to them', () => {
  const state = tempDir();
  const out = join(tempDir(), 'lists.jsonl');
  const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--out', out]).status, 0);
  const first = { letters: lines(join(state, 'dead-letters.jsonl')), lists: lines(out) };
  assert.equal(first.letters, 1);
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--out', out, '--fresh']).status, 0);
  assert.deepEqual({ letters: lines(join(state, 'dead-letters.jsonl')), lists: lines(out) }, first);
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--out', out, '--stop-at', '1000', '--fresh']).status, 0);
  const partial = lines(out);
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--out', out]).status, 0);
  assert.ok(lines(out) > partial, 'the resumed run appended');
});

test('--state under /proc fails at once with one line instead of spinning', () => {
  const started = Date.now();
  const result = runCli(['replay', '--dataset', datasetDir, '--state', '/proc/rxrec-no-such/state']);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /^rxrec: state directory '\/proc\/rxrec-no-such\/state' is not writable \(ENOENT\): choose another with --state\n$/);
  assert.ok(Date.now() - started < 30_000);
  const out = runCli(['replay', '--dataset', datasetDir, '--state', tempDir(), '--out', '/proc/rxrec-no-such/lists.jsonl']);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /^rxrec: .*ENOENT.*\n$/);
});

test('--stop-at at or below the stored position says that there is nothing to replay', () => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state, '--stop-at', '2000']).status, 0);
  const again = runCli(['replay', '--dataset', datasetDir, '--state', state, '--stop-at', '1500']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /^--stop-at 1500 is not past the stored position 2000: nothing to replay \(a later --stop-at goes on; --fresh starts over\)$/m);
});
