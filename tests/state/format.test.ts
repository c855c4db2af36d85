/**
 * The format-version policy (state/format.ts): a state written by an older rxrec — stamped with an
 * older format, unstamped, or lacking sub-databases added since — is refused with one line naming
 * what was found, what this build reads and the way out; `rxrec state migrate` upgrades it in place
 * and the stream then resumes as if nothing happened.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open } from 'lmdb';
import { FORMAT_VERSION, StateStore } from '../../state/store.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { runCli } from '../cli/cli-run.js';
import { storedParameters } from '../streams/stored-parameters.js';

const datasetDir = writeMl100k(randomRatings(2000, 40, 70, 5));
const replayArgs = (state: string, ...more: string[]) => ['replay', '--dataset', datasetDir, '--state', state, '--models', 'baseline,mf', '--json', ...more];

/** Rewrite a state as an older rxrec left it, with lmdb directly (no rxrec code involved). */
async function downgrade(state: string, change: { format?: number | 'none'; drop?: string[] }): Promise<void> {
  const root = open({ path: join(state, 'rxrec.mdb'), maxDbs: 16 });
  const meta = root.openDB({ name: 'meta' });
  if (change.format === 'none') meta.removeSync('format');
  else if (change.format !== undefined) meta.putSync('format', change.format);
  for (const name of change.drop ?? []) root.openDB({ name }).dropSync();
  await root.close();
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()!;
}

test('a state stamped with an older format is refused with what was found, what this build reads and how to migrate; migrate upgrades it and the replay resumes', async () => {
  const whole = tempDir();
  assert.equal(runCli(replayArgs(whole)).status, 0);
  const state = tempDir();
  assert.equal(runCli(replayArgs(state, '--stop-at', '900')).status, 0);
  await downgrade(state, { format: 0 });

  const expected =
    `the state in '${state}' has format 0 (written by an older rxrec), this rxrec reads format ${FORMAT_VERSION}: ` +
    `upgrade it in place with 'rxrec state migrate --state ${state}', or rebuild it ('rxrec replay --fresh --state ${state}' with its dataset)`;
  for (const args of [replayArgs(state), ['recommend', '--user', '1', '--state', state]]) {
    const refused = runCli(args);
    assert.equal(refused.status, 1, refused.stderr);
    assert.equal(refused.stderr, `rxrec: ${expected}\n`, 'one line, for writers and readers alike');
  }
  assert.throws(() => StateStore.open(state, { readOnly: true }), { message: expected });

  const migrated = runCli(['state', 'migrate', '--state', state]);
  assert.equal(migrated.status, 0, migrated.stderr);
  assert.equal(migrated.stdout, `migrated the state in '${state}' from format 0 to ${FORMAT_VERSION}\n`);
  assert.equal(runCli(['state', 'migrate', '--state', state]).stdout, `the state in '${state}' already has format ${FORMAT_VERSION}: nothing to do\n`);

  const resumed = runCli(replayArgs(state));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((JSON.parse(lastLine(resumed.stdout)) as { events: number }).events, 2000 - 900, 'the migrated state resumes where it was');
  assert.deepEqual(await storedParameters(state, ['baseline', 'mf']), await storedParameters(whole, ['baseline', 'mf']));
});

test('an unstamped state that holds a stream counts as format 0; an unstamped empty one is simply new', async () => {
  const state = tempDir();
  assert.equal(runCli(replayArgs(state, '--stop-at', '300')).status, 0);
  await downgrade(state, { format: 'none' });
  assert.throws(
    () => StateStore.open(state),
    /has no format stamp \(format 0, written by an older rxrec\), this rxrec reads format 1: upgrade it in place with 'rxrec state migrate/,
  );
  assert.deepEqual(await StateStore.migrate(state), { from: 0, added: [] });
  await StateStore.open(state).close();

  const empty = tempDir();
  const root = open({ path: join(empty, 'rxrec.mdb'), maxDbs: 16 });
  root.openDB({ name: 'meta' }).putSync('other', 1);
  await root.close();
  const store = StateStore.open(empty);
  assert.equal(store.position(0), undefined);
  await store.close();
});

test('a state lacking sub-databases added since it was written is refused; migrate adds them empty', async () => {
  const state = tempDir();
  assert.equal(runCli(replayArgs(state, '--stop-at', '600')).status, 0);
  await downgrade(state, { drop: ['user-activity', 'series'] });

  const refused = runCli(replayArgs(state));
  assert.equal(refused.status, 1);
  assert.equal(
    refused.stderr,
    `rxrec: the state in '${state}' has format 1 but lacks the sub-databases 'user-activity', 'series' (written by an older rxrec), this rxrec reads format 1: ` +
      `upgrade it in place with 'rxrec state migrate --state ${state}', or rebuild it ('rxrec replay --fresh --state ${state}' with its dataset)\n`,
  );
  const report = runCli(['report', '--state', state, '--out', join(tempDir(), 'r.html')]);
  assert.equal(report.status, 1, 'readers refuse it too, instead of failing on the missing sub-database');
  assert.match(report.stderr, /^rxrec: the state .* lacks the sub-databases 'user-activity', 'series'.*rxrec state migrate/);

  const migrated = runCli(['state', 'migrate', '--state', state]);
  assert.equal(
    migrated.stdout,
    `migrated the state in '${state}' (format 1, written by an older rxrec): added the empty sub-databases 'user-activity', 'series'\n`,
  );
  const resumed = runCli(replayArgs(state));
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((JSON.parse(lastLine(resumed.stdout)) as { events: number }).events, 2000 - 600);
});

test('a state of a newer format is refused with no migration offered; a Kafka worker state is told to rebuild from the topic', async () => {
  const newer = tempDir();
  assert.equal(runCli(replayArgs(newer, '--stop-at', '100')).status, 0);
  await downgrade(newer, { format: FORMAT_VERSION + 1 });
  assert.throws(() => StateStore.open(newer), {
    message: `the state in '${newer}' has format ${FORMAT_VERSION + 1}, this rxrec reads format ${FORMAT_VERSION}: use the rxrec version that wrote it, or start a new state directory (--state)`,
  });

  const worker = tempDir();
  const store = StateStore.open(worker);
  store.bind('kafka:rxrec.ratings', { models: ['mf'] });
  await store.close();
  await downgrade(worker, { format: 0 });
  assert.throws(
    () => StateStore.open(worker),
    /or rebuild it \(run 'rxrec serve' with a new --state and a new --group, which reads the ratings topic from its start/,
  );
});
