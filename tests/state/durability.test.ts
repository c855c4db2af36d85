/**
 * The rule linking LMDB durability to the Kafka offset commit: the pipeline commits offset N
 * (the source's `committed`, which the Kafka source turns into commitOffsets) only once the LMDB
 * transaction holding position N is on disk. An operating-system crash is simulated by copying
 * the state directory's files as they are at the moment each commit is issued (a raw copy, the
 * environment still open, never closed) and opening the copy as LMDB opens a state after a
 * reboot: LMDB_RESTORE=safe makes lmdb-js use the newest snapshot whose meta page is marked
 * flushed (written after the data pages were fdatasynced), never a newer one that was only in the
 * page cache (what a changed boot id does after a real crash).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { storedParameters } from '../streams/stored-parameters.js';
import { runEmbedded } from './pipeline-run.js';

const datasetDir = writeMl100k(randomRatings(3000, 50, 80, 12), { extraLines: ['7\t8'] });

/** The state directory's files, byte for byte, as the page cache holds them now. */
function rawCopy(stateDir: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(stateDir)) copyFileSync(join(stateDir, file), join(to, file));
}

/** What a restart after an OS crash finds in the copy (stored parameters and position). */
async function afterReboot(copy: string): Promise<Map<string, string>> {
  process.env.LMDB_RESTORE = 'safe';
  try {
    return await storedParameters(copy);
  } finally {
    delete process.env.LMDB_RESTORE;
  }
}

test('after an OS crash at the moment of any offset commit, the state on disk holds that offset and its models, and a restart applies exactly the rest', async () => {
  const crashes: Array<{ committed: number; copy: string }> = [];
  const whole = tempDir();
  const run = await runEmbedded(datasetDir, whole, {
    onCommit: (positions, stateDir) => {
      const copy = join(tempDir(), 'state');
      rawCopy(stateDir, copy);
      crashes.push({ committed: positions.get(0)!, copy });
    },
  });
  assert.equal(run.records, run.total);
  assert.equal(crashes.length, Math.ceil(run.total / 250), 'one commit per batch');
  const final = await storedParameters(whole);

  for (const { committed, copy } of crashes) {
    const onDisk = await afterReboot(copy);
    // Never below the committed offset (a restart would skip events the group counts as done).
    assert.equal(Number(onDisk.get('position')), committed, `crash at the commit of ${committed}`);
  }

  // The models on disk are the run's state at that position: those of a run stopped there.
  for (const { committed, copy } of [crashes[2]!, crashes[crashes.length - 2]!]) {
    const stopped = tempDir();
    await runEmbedded(datasetDir, stopped, { stopAt: committed });
    assert.deepEqual(await afterReboot(copy), await storedParameters(stopped), `models at ${committed}`);

    // Restarting from the crashed copy applies exactly the remaining events, once each.
    process.env.LMDB_RESTORE = 'safe';
    const resumed = await runEmbedded(datasetDir, copy, { batchSize: 170 }).finally(() => delete process.env.LMDB_RESTORE);
    assert.equal(resumed.records, run.total - committed, `events after the crash at ${committed}`);
    assert.deepEqual(await storedParameters(copy), final);
  }
});
