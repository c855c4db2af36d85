/**
 * One rating validator for `dataset info` and `replay`, and dead letters that keep a file line
 * as it was: the line's own text (not the event re-encoded as JSON), or base64 when its bytes
 * are not UTF-8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../fixtures.js';
import { runCli } from './cli-run.js';

const good = ['1\t10\t4\t881250949', '2\t10\t3\t881250950', '3\t11\t5\t881250949.5'];
const bad = [
  { line: '4\t12\t3\t1e20', reason: /^bad timestamp: field 'ts' must be <= 8640000000000000$/ },
  { line: '5\t12\t3\t-5', reason: /^bad timestamp: field 'ts' must be >= 0$/ },
  { line: '6\t13\t6\t881250951', reason: /^rating 6 is outside the 1-5 scale$/ },
  { line: '7\t13\t2.5\t881250952', reason: /^rating 2\.5 is not a multiple of 1 on the 1-5 scale$/ },
  { line: '8\tno tabs enough', reason: /^expected 4 fields separated by tabs, found 2$/ },
];
const notUtf8 = Buffer.concat([Buffer.from('9\t'), Buffer.from([0xff, 0xfe]), Buffer.from('\t3')]);

function dataset(): string {
  const dir = tempDir();
  const text = Buffer.from([...good, ...bad.map((b) => b.line)].join('\n') + '\n');
  writeFileSync(join(dir, 'u.data'), Buffer.concat([text, notUtf8, Buffer.from('\n')]));
  return dir;
}

test('dataset info counts exactly the lines replay applies, with the same reasons, and does not crash on a timestamp past the Date range', () => {
  const dir = dataset();
  const info = runCli(['dataset', 'info', dir, '--json']);
  assert.equal(info.status, 0, info.stderr);
  const summary = JSON.parse(info.stdout);
  const state = tempDir();
  const replayed = runCli(['replay', '--dataset', dir, '--state', state, '--json']);
  assert.equal(replayed.status, 0, replayed.stderr);
  const figures = JSON.parse(replayed.stdout.trim().split('\n').pop()!);
  assert.deepEqual({ ratings: summary.ratings, malformed: summary.malformedLines }, { ratings: good.length, malformed: bad.length + 1 });
  assert.deepEqual({ events: figures.events, rejected: figures.rejected }, { events: summary.ratings, rejected: summary.malformedLines });
  const letters = readFileSync(join(state, 'dead-letters.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  for (const example of summary.malformedExamples as Array<{ line: number; reason: string }>) {
    assert.equal(letters.find((letter) => letter.origin === `u.data:${example.line}`)?.reason, example.reason);
  }
  const text = runCli(['dataset', 'info', dir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /time span {4}1997-12-04T15:55:49Z → 1997-12-04T15:55:50Z \(0 days\)/);
});

test("the replay's dead letters keep each rejected line as it was: its text, or base64 when it is not UTF-8; with its key when it has one", () => {
  const dir = dataset();
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', dir, '--state', state]).status, 0);
  const letters = readFileSync(join(state, 'dead-letters.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  for (const { line, reason } of bad) {
    const letter = letters.find((candidate) => candidate.raw === line);
    assert.ok(letter, `a dead letter with the original line ${JSON.stringify(line)}; got ${JSON.stringify(letters.map((l) => l.raw))}`);
    assert.match(letter.reason, reason);
    assert.deepEqual(Object.keys(letter), ['reason', 'topic', 'partition', 'offset', 'origin', 'key', 'raw']);
  }
  const binary = letters.find((letter) => letter.origin === `u.data:${good.length + bad.length + 1}`);
  assert.equal(binary?.raw, `base64:${notUtf8.toString('base64')}`);
});

test('a ratings file with no valid line stops the replay at once with one line: what was expected, what was found', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'u.data'), Array.from({ length: 1500 }, (_, i) => `garbage ${i}`).join('\n') + '\n');
  const result = runCli(['replay', '--dataset', dir, '--state', tempDir()]);
  assert.equal(result.status, 1);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(
    result.stderr,
    /^rxrec: none of the first 1000 lines of .*u\.data is a valid rating: expected user id<TAB>item id<TAB>rating<TAB>timestamp \(u\.data\) on the 1-5 scale, found "garbage 0" at line 1 \(expected 4 fields/,
  );
  assert.doesNotMatch(result.stdout, /RMSE/, 'no summary of nothing');
  // One valid line among them is enough to replay: the others go to the dead letters.
  writeFileSync(join(dir, 'u.data'), `1\t2\t4\t881250949\n` + Array.from({ length: 1500 }, (_, i) => `garbage ${i}`).join('\n') + '\n');
  const some = runCli(['replay', '--dataset', dir, '--state', tempDir(), '--json']);
  assert.equal(some.status, 0, some.stderr);
  assert.equal(JSON.parse(some.stdout.trim().split('\n').pop()!).rejected, 1500);
});
