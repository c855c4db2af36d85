/**
 * Two-tower embeddings trained online (the seeds' Keras model, made streaming). A user tower
 * (id, gender and occupation embeddings, age) and an item tower (id embedding, genre flags) map
 * both sides into one space; their L2-normalised outputs' dot product, scaled and added to
 * baseline terms, predicts the rating (see dense-params.ts):
 *
 *   r̂_ui = b_ui + c + s · u(user, features) · v(item, genres),   b_ui = μ + b_u + b_i
 *
 * The seeds train the cosine alone against per-user normalised ratings; here an online
 * baseline (its own instance of baseline.ts, learned event by event) carries the rating's
 * level, the towers learn what it misses (the target is the rating minus the estimate the event
 * was predicted with), and s, c are learned, so the model predicts ratings on the scale and a
 * user's cosines rank within the user. Measured on the synthetic stream (README): with learned
 * biases of their own in the towers' tables instead, prequential RMSE was 1.058 against the
 * baseline's 0.981, because per-batch steps leave a new user's bias at 0 for a whole step. Embedding rows live outside
 * tfjs (embedding-table.ts); dense layers are tfjs variables under tfjs Adam (trainer.ts).
 *
 * Learning is per batch and behind the stream: `learn` encodes the batch with its side
 * features, queues it (persisted in the batch's transaction under `q/<first event>`) and hands
 * it to the trainer (host.ts: inline, or a worker thread). Serving uses the latest weights the
 * trainer sent, in plain typed arrays (serving.ts). Persistence is by checkpoint: every
 * `checkpointEvery` trained events the trainer's full state (weights, Adam's moments, table
 * blocks, reservoir) is written with the count of events it covers, and the queued batches it
 * covers are deleted; a resumed run restores the checkpoint and trains the queue after it again.
 *
 * New users and items are placed from their side features: a user never seen has no id row, so
 * the towers see only gender, occupation and age (`scoreNewcomer`); a new item has its genres.
 *
 * Reference: X. Yi et al., "Sampling-bias-corrected neural modeling for large corpus item
 * recommendations", RecSys 2019 (two towers, normalised outputs); the seeds' model.
 */
import { clampToScale } from '../../events/scale.js';
import { Baseline } from '../baseline.js';
import type { UserFeatures } from '../../side-features.js';
import type { Explanation, IndexedRating, ModelContext, RankingModel, RatingModel, StateValue, TrainingStatus } from '../model.js';
import { seededParams } from './dense-params.js';
import { concatEvents, FeatureEncoder, FIELDS, type EncodedEvents } from './encoding.js';
import type { TrainerHost } from './host.js';
import { checkTwoTowerOptions, newPerStep, TWO_TOWER_DEFAULTS, type TwoTowerOptions } from './options.js';
import { packFloat64, unpackFloat32, unpackFloat64 } from '../packed.js';
import { blockScores, TowerServing } from './serving.js';
import { topK, type ScoredIndex } from '../../ranking/top-k.js';
import { createTables, TABLE_NAMES, type TableName } from './tables.js';
import type { TowerUpdate } from './trainer.js';

interface QueuedBatch {
  readonly key: string;
  readonly first: number;
  readonly events: EncodedEvents;
  readonly handedAt: number;
}

/** Users scored together in one product by `retrieve`. */
const RETRIEVAL_BLOCK = 64;

const VOCABULARY_KEYS = { 'v/genders': 'genders', 'v/occupations': 'occupations', 'v/genres': 'genres' } as const;

export class TwoTower implements RatingModel, RankingModel {
  readonly name = 'two-tower' as const;
  readonly learning = 'per-event' as const;
  readonly options: TwoTowerOptions;
  private readonly encoder: FeatureEncoder;
  private readonly serving: TowerServing;
  private readonly queue: QueuedBatch[] = [];
  /** Events sealed into the queue: the next queue entry's first event. */
  private handed = 0;
  /** Events handed to `learn`, sealed or not. */
  private learned = 0;
  private trained = 0;
  private changes: Array<[string, StateValue | null]> = [];
  private checkpoint: Array<[string, StateValue]> = [];
  private host: TrainerHost | undefined;
  /** Encoded events learned since the last drain (persisted then), and those not yet handed to the trainer. */
  private sinceDrain: EncodedEvents[] = [];
  /** When the oldest event since the last drain was learned. */
  private sinceDrainAt = 0;
  private unsent: EncodedEvents[] = [];
  private unsentCount = 0;
  private starting: Promise<void> | undefined;
  private backend = 'not started';
  private closed = false;
  private status = { steps: 0, loss: NaN, stepSeconds: 0 };
  private readonly baseline: Baseline;

  constructor(
    private readonly context: ModelContext,
    options: Partial<TwoTowerOptions> = {},
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.options = checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, ...options });
    this.baseline = new Baseline(context);
    this.encoder = new FeatureEncoder(this.options.genreSlots, context.features);
    // The same seeded start as the trainer's, so serving before the first update is its model.
    this.serving = new TowerServing(this.options, createTables(this.options, context.seed), seededParams(this.options, context.seed), this.encoder);
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the two-tower model was closed; make a new one to train again'));
    return (this.starting ??= this.begin());
  }

  private async begin(): Promise<void> {
    const start = { options: this.options, seed: this.context.seed, checkpoint: this.checkpoint };
    const callbacks = {
      onUpdate: (update: TowerUpdate) => this.apply(update),
      onCheckpoint: (entries: Array<[string, StateValue]>, through: number) => this.checkpointed(entries, through),
    };
    // tfjs loads only here: serving a stored state never needs it.
    const { startInlineHost, startWorkerHost } = await import('./host.js');
    this.host = this.options.trainIn === 'inline' ? await startInlineHost(start, callbacks) : await startWorkerHost(start, callbacks);
    this.backend = this.host.backend;
    this.checkpoint = [];
    // What was queued after the checkpoint (or before start) is trained again, in order.
    for (const batch of this.queue) {
      const count = batch.events.length / FIELDS;
      const skip = Math.max(0, this.trained - batch.first);
      if (skip < count) this.host.send(batch.events.subarray(skip * FIELDS));
    }
    // Everything else learned so far is since the last drain.
    this.unsent = [...this.sinceDrain];
    this.unsentCount = this.learned - this.handed;
    this.send();
  }

  learn(batch: readonly IndexedRating[]): void {
    if (batch.length === 0) return;
    if (this.host?.failure) throw this.host.failure;
    // The baseline learns each event after it is encoded with the estimate it was predicted with.
    const events = this.encoder.encode(batch, (event) => {
      const base = this.baseline.estimate(event.user, event.item);
      this.baseline.learn([event]);
      return base;
    });
    if (this.sinceDrain.length === 0) this.sinceDrainAt = this.clock();
    this.sinceDrain.push(events);
    this.unsent.push(events);
    this.unsentCount += batch.length;
    this.learned += batch.length;
    // Inline training sees each event at once (steps fall where they would in any batching); a
    // worker gets a step's worth at a time, as message passing costs per message.
    if (this.options.trainIn === 'inline' || this.unsentCount >= newPerStep(this.options)) this.send();
  }

  private send(): void {
    if (!this.host || this.unsentCount === 0) return;
    const { catchUpLag } = this.options;
    this.host.send(concatEvents(this.unsent), catchUpLag > 0 && this.learned - this.trained > catchUpLag);
    this.unsent = [];
    this.unsentCount = 0;
  }

  /** Seal what was learned since the last drain into one persisted queue entry. */
  private seal(): void {
    if (this.sinceDrain.length === 0) return;
    const events = concatEvents(this.sinceDrain);
    this.sinceDrain = [];
    const key = `q/${String(this.handed).padStart(12, '0')}`;
    this.queue.push({ key, first: this.handed, events, handedAt: this.sinceDrainAt });
    this.changes.push([key, packFloat64(events)]);
    this.handed += events.length / FIELDS;
  }

  private apply(update: TowerUpdate): void {
    for (const { table, rows, values } of update.rows) this.serving.tables[table].setValues(rows, values);
    this.serving.setParams(update.params);
    this.trained = update.trainedEvents;
    this.status = { steps: update.steps, loss: update.loss, stepSeconds: update.stepSeconds };
  }

  private checkpointed(entries: Array<[string, StateValue]>, through: number): void {
    this.changes.push(...entries);
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      if (batch.first + batch.events.length / FIELDS > through) break;
      this.changes.push([batch.key, null]);
      this.queue.shift();
    }
  }

  async flush(): Promise<void> {
    if (this.closed) return;
    await this.start();
    this.send();
    await this.host!.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    await this.host?.close();
    this.host = undefined;
  }

  training(): TrainingStatus {
    const waiting = this.queue.find((batch) => batch.first + batch.events.length / FIELDS > this.trained);
    return {
      backend: this.backend,
      lagEvents: this.learned - this.trained,
      lagSeconds: this.learned > this.trained ? (this.clock() - (waiting?.handedAt ?? this.sinceDrainAt)) / 1000 : 0,
      trainedEvents: this.trained,
      ...this.status,
    };
  }

  predict(user: number, item: number): number {
    return clampToScale(this.baseline.estimate(user, item) + this.serving.offset + this.serving.interaction(user, item), this.context.scale);
  }

  /** Predicted ratings (unclamped): the baseline's order corrected by the towers. */
  scoreAll(user: number, itemCount: number, scores: Float64Array): void {
    this.baseline.scoreAll(user, itemCount, scores);
    this.serving.addInteractions(this.serving.userVector(user), itemCount, scores);
  }

  scoreNewcomer(features: UserFeatures, itemCount: number, scores: Float64Array): void {
    const [gender, occupation, age] = this.encoder.user(features);
    this.baseline.scoreAll(-1, itemCount, scores);
    this.serving.addInteractions(this.serving.userVectorFor(-1, gender, occupation, age), itemCount, scores);
  }

  explain(): Explanation {
    return { reason: 'two-tower: close to your taste' };
  }

  /**
   * Top-n items of each user by predicted rating: the users' vectors, a block at a time, against
   * every item vector in one matrix product (blockScores), plus the baseline's item terms.
   */
  retrieve(users: readonly number[], itemCount: number, n: number, exclude: (user: number, item: number) => boolean = () => false): ScoredIndex[][] {
    const dim = this.serving.dim;
    const items = this.serving.itemMatrix(itemCount);
    const itemTerms = new Float64Array(itemCount);
    this.baseline.scoreAll(-1, itemCount, itemTerms);
    const lists: ScoredIndex[][] = [];
    const block = new Float32Array(RETRIEVAL_BLOCK * dim);
    const scores = new Float64Array(RETRIEVAL_BLOCK * itemCount);
    const scale = this.serving.scale;
    for (let start = 0; start < users.length; start += RETRIEVAL_BLOCK) {
      const members = users.slice(start, start + RETRIEVAL_BLOCK);
      members.forEach((user, b) => block.set(this.serving.userVector(user), b * dim));
      blockScores(block, members.length, items, itemCount, dim, scores);
      members.forEach((user, b) => {
        const row = scores.subarray(b * itemCount, (b + 1) * itemCount);
        for (let i = 0; i < itemCount; i++) row[i] = scale * row[i]! + itemTerms[i]!;
        lists.push(topK(row, itemCount, n, (item) => exclude(user, item)));
      });
    }
    return lists;
  }

  drainChanges(): Array<[string, StateValue | null]> {
    this.seal();
    this.send();
    const changes = this.changes;
    this.changes = [];
    for (const [key, value] of this.baseline.drainChanges()) changes.push([`b/${key}`, value]);
    for (const [key, name] of Object.entries(VOCABULARY_KEYS)) {
      if (this.encoder[name].drainAdded().length > 0) changes.push([key, [...this.encoder[name].all]]);
    }
    return changes;
  }

  restore(entries: Iterable<[string, StateValue]>): void {
    const baseline: Array<[string, StateValue]> = [];
    for (const [key, value] of entries) {
      if (key.startsWith('b/')) baseline.push([key.slice(2), value]);
      else if (key.startsWith('q/')) {
        const first = Number(key.slice(2));
        const events = unpackFloat64(value as Uint8Array);
        this.queue.push({ key, first, events, handedAt: this.clock() });
        this.handed = Math.max(this.handed, first + events.length / FIELDS);
      } else if (key in VOCABULARY_KEYS) {
        this.encoder[VOCABULARY_KEYS[key as keyof typeof VOCABULARY_KEYS]].restore(value as string[]);
      } else {
        this.checkpoint.push([key, value]);
        this.restoreServing(key, value);
      }
    }
    this.queue.sort((a, b) => a.first - b.first);
    this.learned = this.handed;
    this.baseline.restore(baseline);
  }

  /**
   * Only the baseline's user biases (`b/u<user>`) are one user's. Shared: the rest of the
   * baseline, the queued batches `q/` (every user's events, numbered in the stream), the
   * vocabularies `v/`, and the trainer's checkpoint: dense weights `d`, Adam's moments `o`,
   * counters `c`, reservoir blocks `r/` (everyone's events) and table blocks `t/<table>/<block>`
   * — a userId block holds the rows of 128 users (embedding-table.ts, BLOCK_ROWS), so it is no
   * one user's either.
   */
  userOfKey(key: string): number | undefined {
    if (key.startsWith('b/')) return this.baseline.userOfKey(key.slice(2));
    if (Object.hasOwn(VOCABULARY_KEYS, key) || key === 'd' || key === 'o' || key === 'c' || /^(?:q|r)\/\d+$/.test(key)) return undefined;
    const block = /^t\/([^/]+)\/\d+$/.exec(key);
    if (block && (TABLE_NAMES as readonly string[]).includes(block[1]!)) return undefined;
    throw new Error(`unknown state key '${key}' for two-tower`);
  }

  /** Serving takes the checkpoint's weights at once, so lists are served before training resumes. */
  private restoreServing(key: string, value: StateValue): void {
    if (key.startsWith('t/')) {
      const [, table, block] = key.split('/');
      if (!(TABLE_NAMES as readonly string[]).includes(table!)) throw new Error(`unknown two-tower table '${table}' in the stored state`);
      this.serving.tables[table as TableName].unpackBlock(Number(block), unpackFloat32(value as Uint8Array));
      this.serving.touched();
    } else if (key === 'd') this.serving.setParams(unpackFloat32(value as Uint8Array));
    else if (key === 'c') {
      const { trainedEvents } = value as { trainedEvents: number };
      this.trained = trainedEvents;
      this.handed = Math.max(this.handed, trainedEvents);
    } else if (key !== 'o' && !key.startsWith('r/')) throw new Error(`unknown state key '${key}' for two-tower`);
  }
}
