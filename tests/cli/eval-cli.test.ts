import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSyntheticDataset } from '../../streams/datasets/write-synthetic.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { runCli } from './cli-run.js';

const syntheticDir = tempDir();
await writeSyntheticDataset(syntheticDir, { users: 100, items: 200, ratings: 4000, seed: 7 });

function lastJsonLine(stdout: string): { protocol: string; models: Record<string, Record<string, number>> } {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test('eval --protocol ranking --json: P/R/NDCG@10 and seconds for every ranking model', () => {
  const { status, stdout, stderr } = runCli(['eval', '--protocol', 'ranking', '--dataset', syntheticDir, '--json']);
  assert.equal(status, 0, stderr);
  const summary = lastJsonLine(stdout);
  assert.deepEqual(Object.keys(summary), ['protocol', 'models']);
  assert.equal(summary.protocol, 'ranking');
  assert.deepEqual(Object.keys(summary.models).sort(), ['baseline', 'ensemble', 'implicit-als', 'mf', 'popularity']);
  for (const figures of Object.values(summary.models)) {
    assert.deepEqual(Object.keys(figures), ['precisionAt10', 'recallAt10', 'ndcgAt10', 'seconds']);
    for (const name of ['precisionAt10', 'recallAt10', 'ndcgAt10'] as const) assert.ok(figures[name]! >= 0 && figures[name]! <= 1, `${name} ${figures[name]}`);
    assert.ok(figures.seconds! > 0);
  }
  assert.ok(summary.models.popularity!.precisionAt10! > 0);
  const [, train, test] = /4000 ratings of 100 users, 75\/25 per user \(split seed 42\): (\d+) to train on, (\d+) to test on/.exec(stderr) ?? [];
  assert.equal(Number(train) + Number(test), 4000, stderr);
  assert.ok(Math.abs(Number(test) - 1000) <= 50, stderr);
});

test('eval --protocol seeds --json: RMSE and MAE on the scale for every rating model', () => {
  const { status, stdout, stderr } = runCli(['eval', '--protocol', 'seeds', '--dataset', syntheticDir, '--json']);
  assert.equal(status, 0, stderr);
  const summary = lastJsonLine(stdout);
  assert.equal(summary.protocol, 'seeds');
  assert.deepEqual(Object.keys(summary.models).sort(), ['baseline', 'ensemble', 'mf']);
  for (const figures of Object.values(summary.models)) {
    assert.deepEqual(Object.keys(figures), ['rmse', 'mae', 'seconds']);
    assert.ok(figures.rmse! > 0 && figures.rmse! < 4 && figures.mae! > 0 && figures.mae! <= figures.rmse!);
  }
});

test('eval says what it did with users too small to split, and the table closes with it', () => {
  const small = ['9001\t1\t4\t900000', '9001\t2\t3\t900001', '9002\t1\t5\t900002'];
  const dir = writeMl100k(randomRatings(2000, 40, 60, 3), { extraLines: [...small, 'oops'] });
  const json = runCli(['eval', '--protocol', 'seeds', '--dataset', dir, '--models', 'baseline,popularity', '--rank-model', 'popularity', '--json']);
  assert.equal(json.status, 0, json.stderr);
  assert.match(json.stderr, /^2 users with fewer than 5 ratings kept wholly in training$/m);
  assert.match(json.stderr, /^1 malformed or off-scale line left out$/m);
  const text = runCli(['eval', '--protocol', 'seeds', '--dataset', dir, '--models', 'baseline,popularity', '--rank-model', 'popularity']);
  assert.match(text.stdout, /^seeds protocol: .*\n\s+model\s+RMSE\s+MAE\s+seconds\n\s+baseline\s+\d\.\d{4}\s+\d\.\d{4}\s+\d+\.\d{2}\n/);
  assert.match(text.stdout, /\n2 users with fewer than 5 ratings kept wholly in training\n1 malformed or off-scale line left out\n$/);
});

test('eval on a dataset with nothing to test is a one-line error', () => {
  const dir = writeMl100k([0, 1, 2].flatMap((user) => [0, 1].map((item) => ({ user, item, rating: 4, ts: 1_000_000 * (1 + user + item) }))));
  const { status, stdout, stderr } = runCli(['eval', '--protocol', 'seeds', '--dataset', dir]);
  assert.equal(status, 1);
  assert.equal(stdout, '');
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(
    stderr,
    /^rxrec: nothing to test in .*u\.data: 6 ratings of 3 users, none with the 5 ratings a seeds split needs, so all are kept in training\n$/,
  );
  const noProtocol = runCli(['eval', '--dataset', dir]);
  assert.equal(noProtocol.status, 2);
  assert.match(noProtocol.stderr, /required option '--protocol <name>' not specified/);
  assert.match(runCli(['eval', '--help']).stdout, /Usage: rxrec eval/);
});

test('eval --protocol seeds with the impute models: their batch fits get rows too, and their flags reach the models', () => {
  const run = (...flags: string[]) => {
    const { status, stdout, stderr } = runCli([
      'eval',
      '--protocol',
      'seeds',
      '--dataset',
      syntheticDir,
      '--models',
      'baseline,impute-soft,impute-hard',
      '--json',
      ...flags,
    ]);
    assert.equal(status, 0, stderr);
    return lastJsonLine(stdout).models;
  };
  const defaults = run();
  assert.deepEqual(Object.keys(defaults).sort(), ['baseline', 'impute-hard', 'impute-hard-batch', 'impute-soft', 'impute-soft-batch']);
  for (const figures of Object.values(defaults)) assert.ok(figures.rmse! > 0 && figures.rmse! < 2 && figures.seconds! >= 0);
  // A shrinkage this large leaves no factors: impute-soft is then its means alone, and scores differently.
  const shrunk = run('--soft-impute-lambda', '1000000', '--hard-impute-rank', '1');
  assert.notEqual(shrunk['impute-soft']!.rmse, defaults['impute-soft']!.rmse);
  assert.notEqual(shrunk['impute-hard']!.rmse, defaults['impute-hard']!.rmse);
  assert.equal(shrunk['impute-soft-batch']!.rmse, defaults['impute-soft-batch']!.rmse, 'the batch rows keep the seeds settings');
  const refused = runCli(['eval', '--protocol', 'seeds', '--dataset', syntheticDir, '--implicit-alpha', '-1']);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /'-1' is not a non-negative number/);
});
