import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  assert.deepEqual(Object.keys(summary).sort(), [
    'events',
    'eventsPerSecond',
    'hitAt10',
    'models',
    'ndcgAt10',
    'publishedHitAt10',
    'publishedNdcgAt10',
    'rankModel',
    'rejected',
    'seconds',
  ]);
  assert.equal(summary.events, ratings.length);
  assert.equal(summary.rejected, 1);
  assert.equal(summary.rankModel, 'ensemble');
  assert.deepEqual(Object.keys(summary.models).sort(), ['baseline', 'ensemble', 'implicit-als', 'mf', 'popularity']);
  const { baseline, 'implicit-als': implicitAls, ensemble, mf, popularity } = summary.models;
  for (const figures of [baseline, mf, ensemble]) assert.ok(figures.rmse > 0 && figures.rmse < 2 && figures.mae > 0 && figures.mae <= figures.rmse);
  for (const figures of [popularity, implicitAls]) assert.equal(figures.rmse, undefined, 'ranking-only models have no RMSE');
  for (const figures of [baseline, mf, ensemble, popularity, implicitAls]) {
    assert.ok(figures.hitAt10 >= 0 && figures.hitAt10 <= 1 && figures.ndcgAt10 <= figures.hitAt10 && figures.rankedEvents > 0);
  }
  assert.equal(summary.hitAt10, ensemble.hitAt10, "the headline hit@10 is the serving model's");
  assert.ok(summary.publishedHitAt10 >= 0 && summary.publishedHitAt10 <= 1);
  assert.match(stderr, /replaying ml-100k from .*: 6001 records, as fast as possible/);
});

test("recommend prints a known user's list without items they rated, and the cold-start list for a new one", () => {
  const state = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', state]).status, 0);
  const { status, stdout } = runCli(['recommend', '--user', '3', '--state', state, '--json']);
  assert.equal(status, 0);
  const list = JSON.parse(stdout);
  assert.equal(list.items.length, 10);
  const rated = new Set(ratings.filter((r) => r.user === 2).map((r) => String(r.item + 1)));
  for (const item of list.items) assert.ok(!rated.has(item.itemId));
  const human = runCli(['recommend', '--user', '3', '--state', state]);
  assert.match(human.stdout, /top 10 for user 3 \(rated \d+ items\) by ensemble:\n\s+1\. \d+\s+-?\d\.\d{3}\s+Film \d+ \(1995\) \[[^\]]+\] {2}— \S/);
  for (const item of list.items) assert.ok(typeof item.why === 'string' && item.why.length > 0);
  assert.match(runCli(['recommend', '--user', 'nobody', '--state', state]).stdout, /user nobody is unknown: the cold-start list by popularity/);
});

test("similar prints an item's neighbours from the state, and --similar-out streams the changed lists", () => {
  const state = tempDir();
  const similarOut = `${tempDir()}/similar.jsonl`;
  assert.equal(
    runCli(['replay', '--dataset', datasetDir, '--state', state, '--models', 'baseline,mf,knn-item', '--rank-model', 'mf', '--similar-out', similarOut]).status,
    0,
  );
  const published = readFileSync(similarOut, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.ok(published.length > 0);
  for (const list of published) {
    assert.equal(typeof list.itemId, 'string');
    for (const n of list.neighbours) assert.ok(n.sim > 0 && n.sim <= 1 && Number.isInteger(n.support) && n.itemId !== list.itemId);
  }
  const { status, stdout } = runCli(['similar', '--item', '1', '--state', state, '--k', '5', '--json']);
  assert.equal(status, 0);
  const similar = JSON.parse(stdout);
  assert.equal(similar.itemId, '1');
  assert.ok(similar.neighbours.length > 0 && similar.neighbours.length <= 5);
  const sims = similar.neighbours.map((n: { sim: number }) => n.sim);
  assert.deepEqual(
    sims,
    [...sims].sort((a, b) => b - a),
  );
  assert.match(
    runCli(['similar', '--item', '1', '--state', state]).stdout,
    /items most similar to 1 Film 1 \(1995\):\n\s+1\. \d+\s+sim 0\.\d{4}\s+co-rated by\s+\d+\s+Film/,
  );
  assert.match(runCli(['similar', '--item', 'nope', '--state', state]).stderr, /^rxrec: item 'nope' is unknown in the state/);
  const noKnn = tempDir();
  runCli(['replay', '--dataset', datasetDir, '--state', noKnn, '--models', 'baseline,mf']);
  assert.match(
    runCli(['similar', '--item', '1', '--state', noKnn]).stderr,
    /^rxrec: similarity is off in the state in .*: replay or serve with knn-item in --models/,
  );
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
  assert.equal(badScale.status, 2);
  assert.match(badScale.stderr, /^rxrec: option '--scale <scale>' argument '1-10' is invalid\. unknown rating scale '1-10': use one of 1-5, 0\.5-5\n/);
  const empty = runCli(['recommend', '--user', '1', '--state', tempDir()]);
  assert.match(empty.stderr, /^rxrec: there is no state in '.*': run 'rxrec replay'/);
});

test('every usage error exits 2 before any state is opened: a port out of range, an unknown scale or rank model, api without a port', () => {
  const cases: Array<[string[], RegExp]> = [
    [['replay', '--dataset', datasetDir, '--scale', '1-10'], /unknown rating scale '1-10'/],
    [['replay', '--dataset', datasetDir, '--http-port', '70000'], /argument '70000' is invalid\. '70000' is not a port \(0 to 65535\)/],
    [['replay', '--dataset', datasetDir, '--http-port', '-1'], /'-1' is not a port/],
    [['replay', '--dataset', datasetDir, '--rank-model', 'svd'], /--rank-model 'svd' must be one of the running models that can rank: /],
    [
      ['replay', '--dataset', datasetDir, '--models', 'baseline,mf', '--rank-model', 'popularity'],
      /--rank-model 'popularity' must be one of .*: baseline, mf$/m,
    ],
    [['serve', '--scale', '10'], /unknown rating scale '10'/],
    [['serve', '--http-port', '65536'], /'65536' is not a port/],
    [['serve', '--rank-model', 'knn-user'], /--rank-model 'knn-user' must be one of/],
    [['api'], /api serves the state over HTTP: give --http-port/],
    [['api', '--http-port', '99999'], /'99999' is not a port/],
  ];
  for (const [args, message] of cases) {
    const state = join(tempDir(), 'state');
    const { status, stderr } = runCli([...args, '--state', state], { KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(status, 2, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message, args.join(' '));
    assert.equal(existsSync(state), false, `${args.join(' ')} created its state directory`);
  }
  const badEval = runCli(['eval', '--protocol', 'seeds', '--dataset', datasetDir, '--scale', '0-5']);
  assert.equal(badEval.status, 2);
  assert.match(badEval.stderr, /unknown rating scale '0-5'/);
  const missing = join(tempDir(), 'none');
  const api = runCli(['api', '--state', missing, '--http-port', '0']);
  assert.equal(api.status, 1);
  assert.match(api.stderr, /^rxrec: there is no state in '.*none': run 'rxrec replay' or 'rxrec serve' with --state .* first\n$/);
  assert.equal(existsSync(missing), false, 'api creates nothing');
});

test('replay --json names its ranking keys by --k: hitAt20 and ndcgAt20 with --k 20', () => {
  const { status, stdout, stderr } = runCli([
    'replay',
    '--dataset',
    datasetDir,
    '--state',
    tempDir(),
    '--json',
    '--k',
    '20',
    '--models',
    'baseline,popularity',
  ]);
  assert.equal(status, 0, stderr);
  const summary = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.deepEqual(
    Object.keys(summary).filter((key) => /At\d+$/.test(key)),
    ['hitAt20', 'ndcgAt20', 'publishedHitAt20', 'publishedNdcgAt20'],
  );
  assert.deepEqual(Object.keys(summary.models.popularity).sort(), ['hitAt20', 'ndcgAt20', 'rankedEvents']);
  assert.ok(summary.hitAt20 >= 0 && summary.hitAt20 <= 1);
  assert.equal(summary.hitAt20, summary.models[summary.rankModel].hitAt20);
});

test('every command has --help', () => {
  for (const args of [
    ['--help'],
    ['replay', '--help'],
    ['recommend', '--help'],
    ['similar', '--help'],
    ['dataset', '--help'],
    ['dataset', 'synth', '--help'],
    ['dataset', 'download', '--help'],
    ['dataset', 'info', '--help'],
    ['api', '--help'],
  ]) {
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
  // Each run is killed once it has published a few batches' lists (whatever the machine's
  // load), so every kill lands mid-stream; the store is read only after the process is gone.
  for (let run = 0; run < 3; run++) {
    const out = join(tempDir(), 'lists.jsonl');
    const child = startCli(['replay', '--dataset', datasetDir, '--state', killed, '--batch-size', '100', '--rate', '4000', '--out', out]);
    const exited = once(child, 'exit');
    const deadline = Date.now() + 60_000;
    while (lineCount(out) < 150 && child.exitCode === null && Date.now() < deadline) await sleep(20);
    child.kill('SIGKILL');
    await exited;
    const store = StateStore.open(killed);
    positions.push(store.position(0) ?? 0);
    await store.close();
  }
  assert.ok(
    positions.some((p) => p > 0 && p < ratings.length),
    `killed mid-stream at ${positions.join(', ')}`,
  );
  const finish = runCli(['replay', '--dataset', datasetDir, '--state', killed, '--batch-size', '100', '--json']);
  assert.equal(finish.status, 0, finish.stderr);
  assert.deepEqual(await storedParameters(killed), await storedParameters(uninterrupted));
});

function lineCount(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

test('SIGTERM stops the replay after the batch in flight: exit 0 with its summary, the state stored; a second signal exits at once; the resumed run ends like an uninterrupted one', async () => {
  const uninterrupted = tempDir();
  assert.equal(runCli(['replay', '--dataset', datasetDir, '--state', uninterrupted, '--batch-size', '100']).status, 0);
  const stopped = tempDir();
  const runUntilListed = async (signals: number) => {
    const out = join(tempDir(), 'lists.jsonl');
    const child = startCli(['replay', '--dataset', datasetDir, '--state', stopped, '--batch-size', '100', '--rate', '2000', '--out', out, '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const deadline = Date.now() + 60_000;
    while (lineCount(out) < 150 && child.exitCode === null && Date.now() < deadline) await sleep(20);
    const signalled = performance.now();
    child.kill('SIGTERM');
    // Two pending signals of one kind merge into one, and waiting for the first to be handled
    // races the batch in flight, which may be stored (exit 0) before a second one lands. Two kinds
    // sent back to back both reach the process mid-batch; whichever it handles second exits.
    if (signals > 1) child.kill('SIGINT');
    const [code] = await exited;
    return { code, ms: performance.now() - signalled, stdout, stderr };
  };
  const graceful = await runUntilListed(1);
  assert.equal(graceful.code, 0);
  assert.ok(graceful.ms < 5000, `stopped in ${Math.round(graceful.ms)} ms`);
  const summary = JSON.parse(graceful.stdout.trim().split('\n').pop()!);
  const store = StateStore.open(stopped);
  const position = store.position(0) ?? 0;
  await store.close();
  assert.ok(position > 0 && position < ratings.length, `stopped mid-stream at ${position}`);
  assert.equal(summary.events + summary.rejected, position, 'the summary counts what was stored');
  const twice = await runUntilListed(2);
  assert.ok(twice.code === 130 || twice.code === 143, `the second signal exits at once with 128 + its number, not ${twice.code}:\n${twice.stderr}`);
  const finish = runCli(['replay', '--dataset', datasetDir, '--state', stopped, '--batch-size', '100', '--json']);
  assert.equal(finish.status, 0, finish.stderr);
  assert.deepEqual(await storedParameters(stopped), await storedParameters(uninterrupted));
});
