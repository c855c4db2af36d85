import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../../src/datasets/detect.js';
import { ratingErrors } from '../../src/eval/offline-metrics.js';
import { offScaleReason, WHOLE_STARS } from '../../src/events/scale.js';
import { createRng } from '../../src/random.js';
import { assembleRecommender } from '../../streams/assemble.js';
import { ReplayLog } from '../../streams/embedded/replay-log.js';
import { DEFAULT_MODEL_SETTINGS, type ModelSettings } from '../../src/models/registry.js';
import type { ExportManifest } from '../../streams/eval-export.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { runCli } from './cli-run.js';

// Distinct (user, item) pairs, timestamps with ties (three events a second), written in shuffled
// file order, plus what eval and the replay leave out: a malformed line, a rating off the scale,
// and users too small for the seeds split.
const rng = createRng(11);
const pairs = new Set<string>();
const ratings = randomRatings(4000, 60, 90, 5)
  .filter((r) => !pairs.has(`${r.user}:${r.item}`) && pairs.add(`${r.user}:${r.item}`))
  .map((r, n) => ({ ...r, ts: 1_000_000_000 + Math.floor(n / 3) * 1000 }));
for (let i = ratings.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [ratings[i], ratings[j]] = [ratings[j]!, ratings[i]!];
}
const small = ['9001\t1\t4\t900000', '9001\t2\t3\t900001', '9002\t1\t5\t900002'];
const datasetDir = writeMl100k(ratings, { extraLines: [...small, 'oops', '9003\t1\t7\t900003'] });
const exportDir = join(tempDir(), 'export');

const exported = runCli(['eval', '--export', exportDir, '--dataset', datasetDir, '--json']);
const manifest = JSON.parse(exported.stdout.trim().split('\n').pop()!) as ExportManifest;
const lines = (file: string) => readFileSync(join(exportDir, file), 'utf8').split('\n').slice(0, -1);
const lineOf = (r: { userId: string; itemId: string; rating: number; ts: number }) => `${r.userId}\t${r.itemId}\t${r.rating}\t${r.ts}`;

test('eval --export: both splits, the stream and a manifest, with the counts eval reports', () => {
  assert.equal(exported.status, 0, exported.stderr);
  const valid = ratings.length + small.length;
  assert.deepEqual(manifest.counts, { ratings: valid, skipped: 2, users: 62, items: 90 });
  assert.deepEqual(manifest.scale, { name: '1-5', min: 1, max: 5, step: 1 });
  assert.deepEqual(manifest.prequential, { k: 10, relevanceThreshold: 4, rankingShare: 0.1 });
  assert.equal(manifest.stream.events, valid);
  assert.equal(lines('stream.tsv').length, valid);
  for (const protocol of ['seeds', 'ranking'] as const) {
    const split = manifest.protocols[protocol];
    assert.equal(lines(split.trainFile).length, split.train);
    assert.equal(lines(split.testFile).length, split.test);
    const evaluated = runCli([
      'eval',
      '--protocol',
      protocol,
      '--dataset',
      datasetDir,
      '--models',
      'baseline,popularity',
      '--rank-model',
      'popularity',
      '--json',
    ]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.match(evaluated.stderr, new RegExp(`: ${split.train} to train on, ${split.test} to test on`));
  }
  assert.equal(manifest.protocols.seeds.keptWhole, 2);
  assert.match(runCli(['eval', '--export', exportDir, '--dataset', datasetDir]).stdout, new RegExp(`^exported ${valid} ratings of 62 users and 90 items`));
});

test('eval --export: each split is disjoint and together they are the stream', () => {
  const stream = lines('stream.tsv');
  assert.equal(new Set(stream).size, stream.length, 'the fixture has no repeated line');
  for (const protocol of ['seeds', 'ranking'] as const) {
    const { trainFile, testFile } = manifest.protocols[protocol];
    const train = lines(trainFile);
    const test = new Set(lines(testFile));
    assert.ok(!train.some((line) => test.has(line)), `${protocol}: a rating both in training and in the test`);
    assert.deepEqual([...train, ...test].sort(), [...stream].sort());
    const testUsers = new Set([...test].map((line) => line.split('\t')[0]));
    const trainUsers = new Set(train.map((line) => line.split('\t')[0]));
    assert.ok(
      [...testUsers].every((user) => trainUsers.has(user)),
      `${protocol}: every test user has training ratings`,
    );
  }
  assert.ok(!lines(manifest.protocols.seeds.testFile).some((line) => line.startsWith('9001\t') || line.startsWith('9002\t')));
});

test("eval --export: the stream is the replay's order, and the files reproduce eval's figures", async () => {
  const dataset = await openDataset(datasetDir);
  const log = await ReplayLog.load(dataset, { kind: 'max' });
  await log.start(() => 0);
  const replayed: string[] = [];
  for (let records = await log.poll(1000, 0); records; records = await log.poll(1000, 0)) {
    for (const record of records) {
      const value = record.value as { userId: string; itemId: string; rating: number; ts: number };
      if (!record.malformed && offScaleReason(value.rating, WHOLE_STARS) === undefined) replayed.push(lineOf(value));
    }
  }
  assert.deepEqual(lines('stream.tsv'), replayed);

  // Train a baseline on seeds.train.tsv in file order, score seeds.test.tsv: eval's own figure.
  const read = (file: string) =>
    lines(file)
      .map((line) => line.split('\t'))
      .map(([userId, itemId, rating, ts]) => ({ userId: userId!, itemId: itemId!, rating: Number(rating), ts: Number(ts) }));
  const train = read(manifest.protocols.seeds.trainFile);
  const test = read(manifest.protocols.seeds.testFile);
  for (let i = 1; i < train.length; i++) assert.ok(train[i - 1]!.ts <= train[i]!.ts, 'training is in timestamp order');
  const models: ModelSettings = { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'popularity'] };
  const recommender = assembleRecommender({ scale: '1-5', rankModel: 'popularity', ...models }, 10);
  for (let start = 0; start < train.length; start += 1000) recommender.applyBatch(recommender.index(train.slice(start, start + 1000)));
  const { users, items } = recommender.catalog;
  const indexOf = (index: typeof users, id: string) => (index.lookup(id) >= 0 ? index.lookup(id) : index.size);
  const baseline = recommender.ratingModels.find((model) => model.name === 'baseline')!;
  const predicted = test.map((r) => baseline.predict(indexOf(users, r.userId), indexOf(items, r.itemId)));
  const { rmse, mae } = ratingErrors(
    predicted,
    test.map((r) => r.rating),
    WHOLE_STARS,
  );
  const evaluated = runCli(['eval', '--protocol', 'seeds', '--dataset', datasetDir, '--models', 'baseline,popularity', '--rank-model', 'popularity', '--json']);
  const figures = JSON.parse(evaluated.stdout.trim().split('\n').pop()!).models.baseline;
  assert.equal(Math.round(rmse * 1e4) / 1e4, figures.rmse);
  assert.equal(Math.round(mae * 1e4) / 1e4, figures.mae);
});

test('eval --export refuses --protocol, and eval without either says what it needs', () => {
  const both = runCli(['eval', '--export', exportDir, '--protocol', 'seeds', '--dataset', datasetDir]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /option '--protocol <name>' cannot be used with option '--export <dir>'/);
  const neither = runCli(['eval', '--dataset', datasetDir]);
  assert.equal(neither.status, 2);
  assert.match(neither.stderr, /^rxrec: required option '--protocol <name>' not specified \(or --export <dir>\)\n$/);
});
