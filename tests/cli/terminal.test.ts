/** Ids and titles with control characters are shown as visible escapes on a terminal, and kept as bytes in a pipe. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeControls, escapeJsonControls } from '../../streams/cli/terminal.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { CLI, runCli } from './cli-run.js';

test('escapeControls shows every C0 and C1 control and DEL as \\uXXXX, and leaves other text alone', () => {
  assert.equal(escapeControls('a\u001b[2Jb\u0007\u0000\n\t\u007f\u009bz'), 'a\\u001b[2Jb\\u0007\\u0000\\u000a\\u0009\\u007f\\u009bz');
  assert.equal(escapeControls('Amélie (2001) — ★ 日本'), 'Amélie (2001) — ★ 日本');
});

test('escapeJsonControls: what JSON.stringify leaves raw (DEL, C1) as \\u escapes, the same JSON value', () => {
  const value = { itemId: 'a\u009b2J\u007f\u001b', title: 'Amélie' };
  const json = JSON.stringify(value);
  assert.match(json, /\u009b/);
  const escaped = escapeJsonControls(json);
  assert.equal(escaped, '{"itemId":"a\\u009b2J\\u007f\\u001b","title":"Amélie"}');
  assert.deepEqual(JSON.parse(escaped), value);
});

const HOSTILE_USER = '3\u001b]0;owned\u0007';

/**
 * A state whose titles carry an erase-screen sequence; user 3, renamed with an OSC sequence, is
 * refused (an id with a control character is a dead letter), so only the command line names them.
 */
function hostileState(): string {
  const dir = writeMl100k(randomRatings(3000, 40, 60, 4));
  const data = readFileSync(join(dir, 'u.data'), 'utf8').replace(/^3\t/gm, `${HOSTILE_USER}\t`);
  writeFileSync(join(dir, 'u.data'), data);
  const items = readFileSync(join(dir, 'u.item'), 'latin1').replace(/\|Film (\d+) \(1995\)\|/g, '|Film $1 \u001b[2J(1995)|');
  writeFileSync(join(dir, 'u.item'), items, 'latin1');
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', dir, '--state', state, '--models', 'baseline,knn-item,popularity']).status, 0);
  assert.match(readFileSync(join(state, 'dead-letters.jsonl'), 'utf8'), /"reason":"field 'userId' contains a control character or a lone surrogate"/);
  return state;
}

/** The command's standard output on a terminal: util-linux `script` runs it on a pseudo-terminal. */
function onTerminal(args: readonly string[]): string | undefined {
  // Single quotes keep every byte of a word, control characters included.
  const command = [process.execPath, CLI, ...args].map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, SHELL: '/bin/sh' }, timeout: 60_000 });
  if (result.error) return undefined; // no `script` here
  assert.equal(result.status, 0, result.stdout + result.stderr);
  return result.stdout;
}

test('recommend and similar escape control characters of ids and titles on a terminal, and keep them in a pipe', (t) => {
  const state = hostileState();
  const recommend = onTerminal(['recommend', '--user', HOSTILE_USER, '--state', state]);
  if (recommend === undefined) return t.skip('util-linux script is not installed');
  // eslint-disable-next-line no-control-regex -- raw control characters are what must not be there
  assert.doesNotMatch(recommend, /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f]/, 'no raw control character but the line ends');
  assert.match(recommend, /^user 3\\u001b\]0;owned\\u0007 is unknown: the cold-start list by popularity:/m);
  assert.match(recommend, /Film \d+ \\u001b\[2J\(1995\)/);
  const similar = onTerminal(['similar', '--item', '1', '--state', state]);
  assert.match(similar!, /^items most similar to 1 Film 1 \\u001b\[2J\(1995\):/m);
  assert.ok(!similar!.includes('\u001b'), 'no raw ESC');

  const piped = runCli(['recommend', '--user', HOSTILE_USER, '--state', state]);
  assert.equal(piped.status, 0, piped.stderr);
  assert.ok(piped.stdout.includes(`user ${HOSTILE_USER} is unknown`), 'a pipe gets the bytes');
  assert.ok(piped.stdout.includes('\u001b[2J(1995)'));
});
