/**
 * Storage faults: the disk fills up, or turns read-only, while the stream runs. The worker stops
 * with one line saying why and what to do, nothing of the failed batch is stored, no offset past
 * what was stored is committed, and once the fault is gone the next start applies exactly the
 * events after the stored position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from '../../state/errors.js';
import type { StateStore } from '../../state/store.js';
import { explainWriteFailure } from '../../state/write-failure.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { CLI, runCli } from '../cli/cli-run.js';
import { storedParameters } from '../streams/stored-parameters.js';
import { runEmbedded } from './pipeline-run.js';

const TOTAL = 6000;
const datasetDir = writeMl100k(randomRatings(TOTAL, 150, 300, 3));
const replayArgs = (state: string) => ['replay', '--dataset', datasetDir, '--state', state, '--models', 'baseline,mf', '--batch-size', '250', '--json'];
const MODELS = ['baseline', 'mf'];
/** The stored position the refusal names, e.g. "the state holds positions p0@500". */
const HELD = /the state holds positions p0@(\d+), where the next start resumes$/;

test('a disk that fills up mid-stream stops the replay with one line and exit code 1; after that, a restart applies exactly the rest', async () => {
  const whole = tempDir();
  const uninterrupted = runCli(replayArgs(whole));
  assert.equal(uninterrupted.status, 0, uninterrupted.stderr);
  const finalSize = statSync(join(whole, 'rxrec.mdb')).size;
  // lmdb-js starts its map at 128 KB and doubles it as the state grows: no MDB_MAP_FULL on the way.
  assert.ok(finalSize > 8 * 128 * 1024, `${finalSize} bytes`);

  // A file-size limit (RLIMIT_FSIZE, what a quota does) at half the final size: the kernel writes
  // what fits and refuses the rest (EFBIG, Node ignores SIGXFSZ), as a full disk does (ENOSPC).
  const state = tempDir();
  const limitKiB = Math.floor(finalSize / 2 / 1024);
  const full = spawnSync('bash', ['-c', `ulimit -f ${limitKiB} && exec "$0" "$@"`, process.execPath, CLI, ...replayArgs(state)], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(full.status, 1, full.stderr);
  const lines = full.stderr.trim().split('\n');
  const refusal = lines.pop()!;
  assert.match(
    refusal,
    new RegExp(
      `^rxrec: cannot store the batch in the state in '${state}': the state file reached this process's file-size limit \\(Input/output error; ${limitKiB * 1024} bytes, ulimit -f\\): raise the limit and start again\\. ` +
        `Nothing of it was stored and no offset past it is committed; the state holds positions p0@\\d+, where the next start resumes$`,
    ),
  );
  assert.ok(!lines.some((line) => line.startsWith('rxrec:') || /^\s+at /.test(line)), 'one line, no stack');
  const held = Number(HELD.exec(refusal)![1]);
  assert.ok(held > 0 && held < TOTAL, `stopped at ${held}`);

  assert.equal((await storedParameters(state, MODELS)).get('position'), String(held), 'the state holds what the line says');
  const resumed = runCli(replayArgs(state));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((JSON.parse(resumed.stdout.trim().split('\n').pop()!) as { events: number }).events, TOTAL - held);
  assert.deepEqual(await storedParameters(state, MODELS), await storedParameters(whole, MODELS));
});

test('a disk that turns read-only mid-stream stops the pipeline before it commits the offsets of the batch it could not store', async () => {
  const whole = tempDir();
  await runEmbedded(datasetDir, whole);
  const final = await storedParameters(whole);

  // Fault injection: the disk cannot be remounted read-only under an open file here (mount says
  // busy; chmod does not stop root, nor an open descriptor), so from the 7th batch on LMDB's
  // transaction fails as lmdb-js reports a write to a read-only file system: an Error with the
  // errno as its code.
  const state = tempDir();
  const failFrom = 7;
  let transactions = 0;
  const commits: number[] = [];
  let failure: unknown;
  await runEmbedded(datasetDir, state, {
    onOpen: (store: StateStore) => {
      const root = (store as unknown as { root: { transactionSync: (body: () => void) => void } }).root;
      const transactionSync = root.transactionSync.bind(root);
      root.transactionSync = (body) => {
        if (++transactions >= failFrom) throw Object.assign(new Error('Read-only file system'), { code: 30 });
        transactionSync(body);
      };
    },
    onCommit: (positions) => commits.push(positions.get(0)!),
  }).catch((error: unknown) => {
    failure = error;
  });
  assert.ok(failure instanceof StateError, `the pipeline stops with a StateError, not ${String(failure)}`);
  const stored = 250 * (failFrom - 1);
  assert.equal(
    failure.message,
    `cannot store the batch in the state in '${state}': the state directory has become read-only (Read-only file system): ` +
      `make it writable again (remount the disk read-write, or fix its permissions) and start again. ` +
      `Nothing of it was stored and no offset past it is committed; the state holds positions p0@${stored}, where the next start resumes`,
  );
  assert.equal(Math.max(...commits), stored, 'offsets committed up to what was stored, never past it');
  assert.equal((await storedParameters(state)).get('position'), String(stored));

  const resumed = await runEmbedded(datasetDir, state);
  assert.equal(resumed.records, TOTAL - stored);
  assert.deepEqual(await storedParameters(state), final);
});

test('each cause of a failed write is named with what to do', () => {
  const dir = tempDir();
  const file = join(dir, 'rxrec.mdb');
  const lmdbError = (message: string, code: number) => Object.assign(new Error(message), { code });
  assert.match(
    explainWriteFailure(dir, file, lmdbError('No space left on device', 28)),
    /^the disk is full \(No space left on device; \d+ bytes free on the file system of '.*'\): free space/,
  );
  assert.match(
    explainWriteFailure(dir, file, lmdbError('MDB_MAP_FULL: Environment mapsize limit reached', -30792)),
    /^LMDB's map is full and could not grow \(MDB_MAP_FULL: Environment mapsize limit reached\): free memory or address space/,
  );
  assert.match(explainWriteFailure(dir, file, lmdbError('Permission denied', 13)), /^the state directory has become read-only \(Permission denied\)/);
  assert.match(
    explainWriteFailure(dir, file, lmdbError('Input/output error', 5)),
    /^the write failed \(Input\/output error, code 5\): LMDB reports a full disk, a quota and a failing disk this way/,
  );
});
