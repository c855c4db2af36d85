/**
 * Training the towers: mini-batch steps on the stream's new events mixed with events replayed
 * from a reservoir of the past (so the towers do not forget), in the thread that owns the tfjs
 * backend. Each step takes `newPerStep` new events, in stream order, plus `replayPerEvent` times
 * as many drawn uniformly from the reservoir; the partition into steps depends only on the event
 * sequence, so where micro-batches or thread hand-overs fall never changes what is learned.
 *
 * Per step: the rows of the batch are gathered from the embedding tables (outside tfjs) into
 * input tensors; tfjs computes the loss and its gradients with respect to those inputs and the
 * dense variables; the dense variables take a tfjs Adam step, the rows a lazy-Adam step.
 *
 *   loss = mean_b (b_ui + c + s·u_b·v_b − r_b)²  + l2 · mean_b (|e_u|² + |e_i|²)
 *
 * b_ui is the baseline estimate the event was predicted with (encoded with it): the towers learn
 * what the baseline misses, and a user or item the baseline knows little of is placed by the
 * towers from its features.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '@tensorflow/tfjs-core/dist/tensor_types.js';
import { paramSize, paramSpecs, seededParams, type ParamSpec } from './dense-params.js';
import { FIELDS, Field, type EncodedEvents } from './encoding.js';
import { newPerStep, type TwoTowerOptions } from './options.js';
import { createTables, TABLE_NAMES, type TableName, type TowerTables } from './tables.js';
import { seededUniform } from '../seeded-init.js';
import { resized } from '../../typed-arrays.js';
import { packFloat32, packFloat64, unpackFloat32, unpackFloat64 } from '../packed.js';
import type { StateValue } from '../model.js';

/** What serving needs after steps: the dense weights, the rows that changed, and where training stands. */
export interface TowerUpdate {
  readonly trainedEvents: number;
  readonly params: Float32Array;
  readonly rows: Array<{ readonly table: TableName; readonly rows: Int32Array; readonly values: Float32Array }>;
  readonly steps: number;
  readonly loss: number;
  readonly stepSeconds: number;
}

interface BatchConstants {
  readonly age: tf.Tensor2D;
  readonly genres: tf.Tensor2D;
  readonly target: tf.Tensor2D;
  readonly base: tf.Tensor2D;
}

const RESERVOIR_BLOCK = 1024;
const RESERVOIR_STREAM = 1;
const REPLAY_STREAM = 2;
const DROPOUT_STREAM = 3;
let instances = 0;

export class TowerTrainer {
  readonly tables: TowerTables;
  readonly specs: readonly ParamSpec[];
  private readonly variables: tf.Variable[];
  private readonly optimizer: tf.AdamOptimizer;
  private reservoir: Float64Array;
  private reservoirCount = 0;
  /** Events ever offered to the reservoir (algorithm R's n). */
  private offered = 0;
  private pending: Float64Array = new Float64Array(0);
  private pendingCount = 0;
  /** Events trained on: the stream position training has reached. */
  trainedEvents = 0;
  steps = 0;
  private loss = NaN;
  private stepSeconds = 0;
  private readonly dirtyReservoirBlocks = new Set<number>();
  private readonly perStep: number;

  constructor(
    private readonly options: TwoTowerOptions,
    private readonly seed: number,
  ) {
    this.tables = createTables(options, seed);
    this.specs = paramSpecs(options);
    const flat = seededParams(options, seed);
    const id = ++instances;
    let offset = 0;
    this.variables = this.specs.map((spec) => {
      const size = paramSize(spec);
      const values = flat.slice(offset, offset + size);
      offset += size;
      return tf.variable(tf.tensor(values, [...spec.shape]), true, `two-tower-${id}/${spec.name}`);
    });
    this.optimizer = tf.train.adam(options.learningRate);
    this.reservoir = new Float64Array(Math.min(options.reservoir, 4096) * FIELDS);
    this.perStep = newPerStep(options);
  }

  /** Events handed over but not yet trained on (fewer than a step's worth). */
  get pendingEvents(): number {
    return this.pendingCount;
  }

  /** Queue events; run every full step (`catchUp`: without replay). Returns whether any step ran. */
  add(events: EncodedEvents, catchUp = false): boolean {
    const count = events.length / FIELDS;
    const needed = (this.pendingCount + count) * FIELDS;
    if (needed > this.pending.length) this.pending = resized(this.pending, Math.max(needed, this.pending.length * 2));
    this.pending.set(events, this.pendingCount * FIELDS);
    this.pendingCount += count;
    let stepped = false;
    let start = 0;
    while (this.pendingCount - start >= this.perStep) {
      this.step(this.pending.subarray(start * FIELDS, (start + this.perStep) * FIELDS), catchUp);
      start += this.perStep;
      stepped = true;
    }
    this.pending.copyWithin(0, start * FIELDS, this.pendingCount * FIELDS);
    this.pendingCount -= start;
    return stepped;
  }

  /** Train on the pending events now, in a step of their own. */
  flush(): boolean {
    if (this.pendingCount === 0) return false;
    this.step(this.pending.subarray(0, this.pendingCount * FIELDS));
    this.pendingCount = 0;
    return true;
  }

  private step(fresh: Float64Array, catchUp = false): void {
    const started = performance.now();
    const freshCount = fresh.length / FIELDS;
    this.trainedEvents += freshCount;
    const replayCount = this.reservoirCount === 0 || catchUp ? 0 : Math.round(freshCount * this.options.replayPerEvent);
    const batch = new Float64Array((freshCount + replayCount) * FIELDS);
    batch.set(fresh);
    for (let j = 0; j < replayCount; j++) {
      const slot = Math.floor(seededUniform(this.seed, REPLAY_STREAM, this.steps, j) * this.reservoirCount);
      batch.set(this.reservoir.subarray(slot * FIELDS, (slot + 1) * FIELDS), (freshCount + j) * FIELDS);
    }
    this.loss = this.train(batch);
    for (let b = 0; b < freshCount; b++) this.offer(fresh.subarray(b * FIELDS, (b + 1) * FIELDS));
    this.steps++;
    const seconds = (performance.now() - started) / 1000;
    this.stepSeconds = this.steps === 1 ? seconds : 0.9 * this.stepSeconds + 0.1 * seconds;
  }

  /** Algorithm R (Vitter 1985): every event offered so far is in the reservoir with equal probability. */
  private offer(event: Float64Array): void {
    const capacity = this.options.reservoir;
    if (capacity === 0) return;
    let slot = this.offered;
    if (this.offered >= capacity) slot = Math.floor(seededUniform(this.seed, RESERVOIR_STREAM, this.offered, 0) * (this.offered + 1));
    this.offered++;
    if (slot >= capacity) return;
    if ((slot + 1) * FIELDS > this.reservoir.length)
      this.reservoir = resized(this.reservoir, Math.min(capacity, Math.max(slot + 1, 2 * (this.reservoir.length / FIELDS))) * FIELDS);
    this.reservoir.set(event, slot * FIELDS);
    this.reservoirCount = Math.max(this.reservoirCount, slot + 1);
    this.dirtyReservoirBlocks.add(Math.floor(slot / RESERVOIR_BLOCK));
  }

  /**
   * A batch as tfjs inputs: the gathered rows (differentiated), the constants, and the row
   * indices. In training, `dropout` drops id rows (index -1: zeros in, no update).
   */
  private tensors(batch: Float64Array, dropout = 0) {
    const { genreSlots } = this.options;
    const count = batch.length / FIELDS;
    const column = (field: Field, side: number) =>
      Int32Array.from({ length: count }, (_, b) =>
        side >= 0 && dropout > 0 && seededUniform(this.seed, DROPOUT_STREAM, this.steps, 2 * b + side) < dropout ? -1 : batch[b * FIELDS + field]!,
      );
    const indices: Array<[TableName, Int32Array]> = [
      ['userId', column(Field.User, 0)],
      ['gender', column(Field.Gender, -1)],
      ['occupation', column(Field.Occupation, -1)],
      ['itemId', column(Field.Item, 1)],
    ];
    const rows = indices.map(([table, index]) => {
      const source = this.tables[table];
      const out = new Float32Array(index.length * source.dim);
      source.gather(index, out);
      return tf.tensor2d(out, [index.length, source.dim]);
    });
    const genres = new Float32Array(count * genreSlots);
    const ages = new Float32Array(count);
    const targets = new Float32Array(count);
    const bases = new Float32Array(count);
    for (let b = 0; b < count; b++) {
      const mask = batch[b * FIELDS + Field.GenreMask]!;
      for (let s = 0; s < genreSlots; s++) genres[b * genreSlots + s] = (mask >>> s) & 1;
      ages[b] = batch[b * FIELDS + Field.Age]!;
      targets[b] = batch[b * FIELDS + Field.Rating]!;
      bases[b] = batch[b * FIELDS + Field.Base]!;
    }
    const constants: BatchConstants = {
      age: tf.tensor2d(ages, [count, 1]),
      genres: tf.tensor2d(genres, [count, genreSlots]),
      target: tf.tensor2d(targets, [count, 1]),
      base: tf.tensor2d(bases, [count, 1]),
    };
    return { indices, rows, constants };
  }

  /** b_ui + c + s·u·v for a batch, from its gathered rows and the dense parameters (by spec name). */
  private forward(rows: readonly tf.Tensor[], constants: BatchConstants, params: readonly tf.Tensor[]): tf.Tensor2D {
    const [uId, gE, oE, iId] = rows as tf.Tensor2D[];
    const p = Object.fromEntries(this.specs.map((spec, k) => [spec.name, params[k]!])) as Record<string, tf.Tensor2D>;
    const age = tf.relu(tf.add(matMul(constants.age, p.age_w!), p.age_b!));
    const x = tf.concat([uId!, gE!, oE!, age], 1);
    const u = l2Normalise(tf.add(matMul(tf.relu(tf.add(matMul(x, p.user1_w!), p.user1_b!)), p.user2_w!), p.user2_b!));
    const g = tf.relu(tf.add(matMul(constants.genres, p.genre_w!), p.genre_b!));
    const y = tf.concat([iId!, g], 1);
    const v = l2Normalise(tf.add(matMul(tf.relu(tf.add(matMul(y, p.item1_w!), p.item1_b!)), p.item2_w!), p.item2_b!));
    const cosine = tf.sum(tf.mul(u, v), 1, true);
    return tf.add(tf.add(constants.base, p.offset!), tf.mul(p.scale!, cosine));
  }

  /** The towers' predictions for encoded events, computed by tfjs (serving computes the same in typed arrays). */
  predictions(batch: EncodedEvents): Float32Array {
    const { rows, constants } = this.tensors(batch);
    const predicted = tf.tidy(() => this.forward(rows, constants, this.variables));
    const values = predicted.dataSync() as Float32Array;
    tf.dispose([predicted, ...rows, ...Object.values(constants)]);
    return values;
  }

  /** One optimisation step on `batch`; its mean squared error before the step. */
  private train(batch: Float64Array): number {
    const { l2 } = this.options;
    const count = batch.length / FIELDS;
    const { indices, rows, constants } = this.tensors(batch, this.options.idDropout);
    const n = rows.length;
    const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
      const predicted = this.forward(args.slice(0, n), constants, args.slice(n));
      const mse = tf.mean(tf.squaredDifference(predicted, constants.target));
      if (l2 === 0) return mse as tf.Scalar;
      const penalty = tf.add(tf.sum(tf.square(args[0]!)), tf.sum(tf.square(args[3]!)));
      return tf.add(mse, tf.mul(l2 / count, penalty)) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)([...rows, ...this.variables]);
    const loss = value.dataSync()[0]!;
    const lr = this.options.embeddingLearningRate;
    indices.forEach(([table, index], k) => this.tables[table].applyGradients(index, grads[k]!.dataSync() as Float32Array, lr));
    this.optimizer.applyGradients(this.variables.map((variable, k) => ({ name: variable.name, tensor: grads[n + k]! })));
    tf.dispose([value, ...grads, ...rows, ...Object.values(constants)]);
    return loss;
  }

  /** The dense weights, flat in spec order. */
  params(): Float32Array {
    const out = new Float32Array(this.specs.reduce((sum, spec) => sum + paramSize(spec), 0));
    let offset = 0;
    for (const variable of this.variables) {
      const values = variable.dataSync() as Float32Array;
      out.set(values, offset);
      offset += values.length;
    }
    return out;
  }

  /** Everything serving needs since the last update. */
  update(): TowerUpdate {
    const rows = TABLE_NAMES.map((table) => {
      const changed = this.tables[table].drainDirty();
      return { table, rows: Int32Array.from(changed), values: this.tables[table].valuesOf(changed) };
    }).filter((entry) => entry.rows.length > 0);
    return { trainedEvents: this.trainedEvents, params: this.params(), rows, steps: this.steps, loss: this.loss, stepSeconds: this.stepSeconds };
  }

  /**
   * The state changed since the last checkpoint, as state-store entries: counters, dense weights
   * and Adam's moments, changed table blocks (values, moments, step counts) and reservoir blocks.
   * The pending events are not in it: they are in the model's queue, replayed on restore.
   */
  checkpoint(): Array<[string, StateValue]> {
    const moments = this.optimizerState();
    const entries: Array<[string, StateValue]> = [];
    for (const table of TABLE_NAMES) {
      for (const block of this.tables[table].drainDirtyBlocks()) entries.push([`t/${table}/${block}`, packFloat32(this.tables[table].packBlock(block))]);
    }
    for (const block of [...this.dirtyReservoirBlocks].sort((a, b) => a - b)) {
      const to = Math.min(this.reservoirCount, (block + 1) * RESERVOIR_BLOCK);
      entries.push([`r/${block}`, packFloat64(this.reservoir.slice(block * RESERVOIR_BLOCK * FIELDS, to * FIELDS))]);
    }
    this.dirtyReservoirBlocks.clear();
    entries.push(['d', packFloat32(this.params())]);
    // [iterations, first moments…, second moments…] in variable order (tfjs Adam's getWeights).
    entries.push(['o', packFloat32(moments)]);
    entries.push([
      'c',
      {
        trainedEvents: this.trainedEvents,
        steps: this.steps,
        offered: this.offered,
        reservoirCount: this.reservoirCount,
        loss: Number.isFinite(this.loss) ? this.loss : -1,
      },
    ]);
    return entries;
  }

  /** Rebuild from every checkpoint entry ever written (latest value per key). */
  async restore(entries: Iterable<[string, StateValue]>): Promise<void> {
    for (const [key, value] of entries) {
      if (key.startsWith('t/')) {
        const [, table, block] = key.split('/');
        if (!(TABLE_NAMES as readonly string[]).includes(table!)) throw new Error(`unknown two-tower table '${table}'`);
        this.tables[table as TableName].unpackBlock(Number(block), unpackFloat32(value as Uint8Array));
      } else if (key.startsWith('r/')) {
        const block = Number(key.slice(2));
        const events = unpackFloat64(value as Uint8Array);
        const end = block * RESERVOIR_BLOCK * FIELDS + events.length;
        if (end > this.reservoir.length) this.reservoir = resized(this.reservoir, end);
        this.reservoir.set(events, block * RESERVOIR_BLOCK * FIELDS);
      } else if (key === 'd') {
        const flat = unpackFloat32(value as Uint8Array);
        let offset = 0;
        this.specs.forEach((spec, k) => {
          const size = paramSize(spec);
          if (offset + size > flat.length) throw new Error('the stored two-tower weights do not fit these tower sizes');
          this.variables[k]!.assign(tf.tensor(flat.slice(offset, offset + size), [...spec.shape]));
          offset += size;
        });
      } else if (key === 'o') {
        await this.restoreOptimizer(unpackFloat32(value as Uint8Array));
      } else if (key === 'c') {
        const c = value as Record<string, number>;
        this.trainedEvents = c.trainedEvents!;
        this.steps = c.steps!;
        this.offered = c.offered!;
        this.reservoirCount = c.reservoirCount!;
        this.loss = c.loss! < 0 ? NaN : c.loss!;
      } else throw new Error(`unknown two-tower checkpoint key '${key}'`);
    }
  }

  /**
   * [iterations, β1^t, β2^t, first moments…, second moments…] in variable order, read synchronously: tfjs's
   * public getWeights is async and hands out live variables, which a step in between would change.
   */
  private optimizerState(): Float32Array {
    const adam = this.adamInternals();
    const moments = [...adam.accumulatedFirstMoment, ...adam.accumulatedSecondMoment].map((m) => m.variable);
    const out = new Float32Array(3 + moments.reduce((sum, m) => sum + m.size, 0));
    // β1^t and β2^t as Adam accumulated them: recomputing them on restore differs in the last bits.
    out[0] = this.optimizer.iterations;
    out[1] = adam.accBeta1.dataSync()[0]!;
    out[2] = adam.accBeta2.dataSync()[0]!;
    let offset = 3;
    for (const moment of moments) {
      out.set(moment.dataSync(), offset);
      offset += moment.size;
    }
    return out;
  }

  /** tfjs Adam's state, which its public getWeights reads only asynchronously and only in part. */
  private adamInternals() {
    return this.optimizer as unknown as {
      accumulatedFirstMoment: Array<{ variable: tf.Variable }>;
      accumulatedSecondMoment: Array<{ variable: tf.Variable }>;
      accBeta1: tf.Variable;
      accBeta2: tf.Variable;
    };
  }

  private async restoreOptimizer(values: Float32Array): Promise<void> {
    const weights: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(values[0]!, 'int32') }];
    let offset = 3;
    for (const suffix of ['m', 'v']) {
      if (offset >= values.length) break;
      for (const variable of this.variables) {
        weights.push({ name: `${variable.name}/${suffix}`, tensor: tf.tensor(values.slice(offset, offset + variable.size), variable.shape) });
        offset += variable.size;
      }
    }
    if (offset !== values.length) throw new Error('the stored two-tower optimizer state does not fit these tower sizes');
    await this.optimizer.setWeights(weights);
    const adam = this.adamInternals();
    adam.accBeta1.assign(tf.scalar(values[1]!));
    adam.accBeta2.assign(tf.scalar(values[2]!));
  }

  dispose(): void {
    tf.dispose(this.variables);
    this.optimizer.dispose();
  }
}

/**
 * x·W whose gradients are also plain products: tfjs-wasm multiplies transposed operands about 9×
 * slower than plain ones (measured: 38.6 ms against 4.4 ms at 1024 × 160 × 128), and matMul's
 * own gradient uses them; transposing the small operand first costs a copy.
 */
const plainProduct = (x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(ws)), tf.matMul(tf.transpose(xs), dy as tf.Tensor2D)];
    },
  };
};
export const matMul = tf.customGrad(plainProduct as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

function l2Normalise(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1, true), 1e-12)));
}
