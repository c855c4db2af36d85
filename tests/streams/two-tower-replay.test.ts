import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDataset } from '../../src/datasets/detect.js';
import { DEFAULT_MODEL_SETTINGS, type ModelSettings } from '../../src/models/registry.js';
import { type ReplayOptions } from '../../streams/replay-job.js';
import { PipelineMetrics } from '../../streams/metrics.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { withStoredRecommender } from '../../streams/assemble.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { replayDataset } from './replay-run.js';
import { storedParameters } from './stored-parameters.js';
import { SMALL } from '../models/two-tower/fixtures.js';
import { TWO_TOWER_DEFAULTS } from '../../src/models/two-tower/options.js';

const datasetDir = writeMl100k(randomRatings(4000, 60, 90, 33));
const MODELS = ['baseline', 'mf', 'popularity', 'two-tower', 'ensemble'] as const;

function settings(trainIn: 'inline' | 'worker'): ModelSettings {
  return { ...DEFAULT_MODEL_SETTINGS, models: MODELS, twoTower: { ...TWO_TOWER_DEFAULTS, ...SMALL, trainIn } };
}

const run = (stateDir: string, overrides: Partial<ReplayOptions>) => replayDataset(datasetDir, stateDir, { models: settings('inline'), ...overrides });

test('two-tower in a replay: trained in a worker, its lag and tfjs backend in the summary and the metrics, a candidate source of the ensemble', async () => {
  const metrics = new PipelineMetrics();
  let inputs: string[] = [];
  let mostBehind = 0;
  const summary = await run(tempDir(), {
    models: settings('worker'),
    metrics,
    onStart: ({ recommender }) => {
      inputs = (recommender.ranker.inputs ?? []).map((model) => model.name);
    },
    onBatch: (_report, { recommender }) => {
      mostBehind = Math.max(mostBehind, recommender.trainingStatus()['two-tower']!.lagEvents);
    },
  });
  assert.ok(mostBehind > 0, 'the worker trains behind the stream, not in step with it');
  assert.ok(inputs.includes('two-tower'), `the ensemble reads ${inputs.join(', ')}`);
  const training = summary.training['two-tower']!;
  assert.equal(training.backend, 'wasm');
  assert.equal(training.trainedEvents + training.lagEvents, 4000);
  assert.ok(summary.models['two-tower']!.rmse! < 2 && summary.models['two-tower']!.hitAt10 !== undefined);
  const text = await metrics.registry.metrics();
  assert.match(text, /rxrec_tfjs_backend\{model="two-tower",backend="wasm"\} 1/);
  assert.match(text, /rxrec_training_lag_events\{model="two-tower"\} \d+/);
  assert.match(text, /rxrec_training_lag_seconds\{model="two-tower"\} [\d.e-]+/);
  assert.doesNotMatch(text, /backend="not started"/);
  assert.match(text, /rxrec_tfjs_step_duration_seconds\{model="two-tower"\} [\d.e-]+/);
});

test('an inline two-tower replay stopped anywhere resumes to the stored parameters of an uninterrupted one', async () => {
  const names = [...MODELS];
  const whole = tempDir();
  await run(whole, {});
  const split = tempDir();
  await run(split, { stopAtOffset: 1777, batchSize: 300 });
  await run(split, { batchSize: 170 });
  const withoutQueue = async (dir: string) => [...(await storedParameters(dir, names))].filter(([key]) => !key.startsWith('two-tower/q/'));
  const expected = await withoutQueue(whole);
  assert.ok(
    expected.some(([key]) => key === 'two-tower/d'),
    'the towers were checkpointed',
  );
  assert.deepEqual(await withoutQueue(split), expected);
});

test("users in the user file with no ratings get the two-tower's lists from their features, from the stored state", async () => {
  const dir = writeMl100k(randomRatings(3000, 50, 80, 7));
  appendFileSync(join(dir, 'u.user'), '901|23|M|student|11111\n902|61|F|retired|22222\n');
  const stateDir = tempDir();
  await run(stateDir, { dataset: await openDataset(dir) });
  await withStoredRecommender(stateDir, 10, (recommender) => {
    const student = recommender.newcomerList('901');
    const retired = recommender.newcomerList('902');
    assert.equal(student.model.name, 'two-tower');
    assert.ok(student.fromFeatures && retired.fromFeatures);
    assert.match(student.items[0]!.why.reason, /fits people like you \(two-tower/);
    const ids = (list: typeof student) => list.items.map((entry) => entry.index).join(',');
    assert.notEqual(ids(student), ids(retired), 'different features, different lists');
    assert.equal(recommender.newcomerList('no-such-user').fromFeatures, false, 'no features: the cold-start list');
  });
});
