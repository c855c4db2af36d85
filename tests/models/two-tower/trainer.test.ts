import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/models/two-tower/backend.js';
import { FeatureEncoder, FIELDS } from '../../../src/models/two-tower/encoding.js';
import { checkTwoTowerOptions, TWO_TOWER_DEFAULTS, type TwoTowerOptions } from '../../../src/models/two-tower/options.js';
import { TowerServing } from '../../../src/models/two-tower/serving.js';
import { matMul, TowerTrainer } from '../../../src/models/two-tower/trainer.js';
import type { StateValue } from '../../../src/models/model.js';
import { featuredStream, SMALL } from './fixtures.js';

const options: TwoTowerOptions = checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, ...SMALL });
const stream = featuredStream({ users: 120, items: 200, ratings: 4000, seed: 5 });
const encoder = new FeatureEncoder(options.genreSlots, stream.catalog.features);
const encoded = encoder.encode(stream.events, () => 3.5);
const slice = (from: number, to: number) => encoded.subarray(from * FIELDS, to * FIELDS);

test('the plain-product matMul has the gradients of tfjs matMul', async () => {
  await initBackend('wasm');
  const x = tf.randomNormal([5, 3], 0, 1, 'float32', 1) as tf.Tensor2D;
  const w = tf.randomNormal([3, 4], 0, 1, 'float32', 2) as tf.Tensor2D;
  const loss = (product: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(product(a as tf.Tensor2D, b as tf.Tensor2D)));
  const ours = tf.grads(loss(matMul))([x, w]);
  const theirs = tf.grads(loss((a, b) => tf.matMul(a, b)))([x, w]);
  for (let k = 0; k < 2; k++) {
    const difference = tf.max(tf.abs(tf.sub(ours[k]!, theirs[k]!))).dataSync()[0]!;
    assert.ok(difference < 1e-4, `gradient ${k} differs by ${difference}`);
  }
});

test("serving's typed-array towers compute what tfjs computes, after training", async () => {
  await initBackend('wasm');
  const trainer = new TowerTrainer(options, 42);
  trainer.add(slice(0, 2000));
  assert.ok(trainer.steps > 0);
  const update = trainer.update();
  const serving = new TowerServing(options, trainer.tables, update.params, encoder);
  const probe = slice(2000, 2300);
  const tfjs = trainer.predictions(probe);
  let worst = 0;
  for (let b = 0; b < tfjs.length; b++) {
    const user = probe[b * FIELDS]!;
    const item = probe[b * FIELDS + 1]!;
    worst = Math.max(worst, Math.abs(3.5 + serving.offset + serving.interaction(user, item) - tfjs[b]!));
  }
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  trainer.dispose();
});

test('a trainer restored from its checkpoints continues exactly as the original', async () => {
  await initBackend('wasm');
  const original = new TowerTrainer(options, 42);
  const stored = new Map<string, StateValue>();
  original.add(slice(0, 1000));
  for (const [key, value] of original.checkpoint()) stored.set(key, value);
  original.add(slice(1000, 1700));
  for (const [key, value] of original.checkpoint()) stored.set(key, value);
  const restored = new TowerTrainer(options, 42);
  await restored.restore(stored);
  assert.equal(restored.trainedEvents, original.trainedEvents);
  // The pending events (less than a step) are the model's to replay: hand them over again.
  const resumeAt = original.trainedEvents;
  for (const trainer of [original, restored]) trainer.add(trainer === restored ? slice(resumeAt, 3000) : slice(1700, 3000));
  assert.equal(restored.steps, original.steps);
  assert.deepEqual([...restored.params()], [...original.params()]);
  for (const table of ['userId', 'itemId', 'gender', 'occupation'] as const) {
    for (let row = 0; row < original.tables[table].rowCount; row++)
      assert.deepEqual([...restored.tables[table].row(row)], [...original.tables[table].row(row)], `${table} ${row}`);
  }
  original.dispose();
  restored.dispose();
});

test("backend 'auto' takes the native backend when tfjs-node loads, else says why and takes wasm", async () => {
  const { backend, skipped } = await initBackend('auto');
  if (backend === 'tensorflow') assert.deepEqual(skipped, []);
  else {
    assert.equal(backend, 'wasm');
    assert.match(skipped[0]!, /^tensorflow: /);
  }
  assert.equal((await initBackend('cpu')).backend, 'cpu');
  await assert.rejects(initBackend('no-such' as 'cpu'), /no tfjs backend could start/);
  await initBackend('wasm');
});

test('a trainer behind the stream catches up: its steps train the new events without replay', async () => {
  await initBackend('wasm');
  const steady = new TowerTrainer(options, 42);
  const behind = new TowerTrainer(options, 42);
  steady.add(slice(0, 600));
  behind.add(slice(0, 600));
  const before = behind.steps;
  steady.add(slice(600, 1200));
  behind.add(slice(600, 1200), true);
  // Same steps of new events; only the replayed examples differ.
  assert.equal(behind.steps - before, steady.steps - before);
  assert.equal(behind.trainedEvents, steady.trainedEvents);
  assert.notDeepEqual([...behind.params()], [...steady.params()]);
  steady.dispose();
  behind.dispose();
});
