/**
 * The LMDB state of one pipeline, under `--state DIR`. Every batch is one write transaction
 * holding the model deltas, the new ids, the user histories, the prequential counters, the
 * refreshed lists and the source positions: after a crash at any point, what is on disk is the
 * state after some whole batch together with the exact position to resume from.
 *
 * Sub-databases (keys in lmdb's ordered-binary encoding, values msgpack):
 *   meta       'format' → FORMAT_VERSION, 'stream' → stream id, 'config' → model config,
 *              'changelog-at' → {partition: offset} (serve --scale-out: the changelog of user state read or written so far)
 *   positions  partition → next offset to read
 *   users      user index → user id          items  item index → item id
 *   history    [user index, item index] → 1
 *   models     [model name, key] → value     (each model's own drainChanges keys)
 *   lists      user index → packed Int32Array of the current top-k item indices
 *   evaluation 'prequential' → counters
 *   item-labels   item id → {title, genres}               (for display; genres are side features)
 *   user-features user id → {age?, gender?, occupation?}  (side features)
 *   user-activity user index → {eventTs, partition}: the user's newest event ts and the
 *                 partition their events come from (what a list served on request reports)
 * Item labels and user features come from the dataset's item and user files (embedded replay)
 * or the items and users topics (serve); the latest value per id wins.
 *
 * Durability. Every write is a synchronous LMDB transaction (`transact`) that has committed to
 * disk when it returns: LMDB writes the pages, fdatasyncs them and writes the meta page through
 * an O_DSYNC descriptor before `transactionSync` returns (lmdb-js's overlappingSync, on by
 * default except on Windows, defers the flush of its asynchronous writes only, which rxrec does
 * not use). So the source's `committed` (the Kafka offset commit), called after `commit`
 * returns, never names a position that a power loss could take back. A write that fails (full
 * disk, read-only disk) throws a StateError saying why; nothing of its transaction is stored.
 * Formats: state/format.ts.
 */
import { accessSync, constants, existsSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StateValue } from '../src/models/model.js';
import type { RecommenderSnapshot, StateDelta } from '../src/recommender.js';
import type { UserRow } from '../src/sharing/user-rows.js';
import { userFeaturesOf, type UserFeatures } from '../src/side-features.js';
import { makeDirectory } from './directory.js';
import { StateError } from './errors.js';
import { FORMAT_VERSION, formatProblem, foundFormat, migratable, SUB_DATABASES, type FoundLayout, type SubDatabase } from './format.js';
import { StateLock } from './lock.js';
import { describePositions } from './positions.js';
import { explainWriteFailure } from './write-failure.js';

export { FORMAT_VERSION } from './format.js';
const DATA_FILE = 'rxrec.mdb';

/** What `StateStore.migrate` did. */
export interface Migration {
  /** The format found (0 for an unstamped state). */
  readonly from: unknown;
  /** Sub-databases it added, empty. */
  readonly added: readonly SubDatabase[];
}

export interface ItemLabel {
  readonly title: string;
  readonly genres: readonly string[];
}

/** Where a user's events stand: the newest event ts seen, and the partition their events come from. */
export interface UserActivity {
  readonly eventTs: number;
  readonly partition: number;
}

/** One point of a replay's series (`rxrec report`). */
export interface SeriesPoint {
  /** Records of the stream applied. */
  readonly position: number;
  /** Wall-clock ms when it was taken. */
  readonly time: number;
  /** The start of the run that took it (throughput is not measured across a restart). */
  readonly run: number;
  /** Prequential figures per model, over the stream up to `position`. */
  readonly models: Readonly<Record<string, { readonly rmse?: number; readonly hitAt10?: number }>>;
  /** Event-to-publish latencies since the previous point of the run, counted per bucket (LATENCY_BUCKETS, then past the last). */
  readonly latency: readonly number[];
}

type Key = string | number | Array<string | number>;

export interface OpenOptions {
  /**
   * Read only (recommend, similar, api): no write lock, so it runs beside the writing process and on a
   * read-only mount; nothing is created.
   */
  readonly readOnly?: boolean;
  /** Discard the state files first (--fresh), once the directory is locked. */
  readonly fresh?: boolean;
}

/** State directories this process has open for writing (the lock file cannot tell this process's own holders apart). */
const openForWriting = new Set<string>();

export class StateStore {
  private readonly meta: Database<unknown, string>;
  private readonly positionsDb: Database<number, number>;
  private readonly usersDb: Database<string, number>;
  private readonly itemsDb: Database<string, number>;
  private readonly historyDb: Database<number, Key>;
  private readonly modelsDb: Database<StateValue, Key>;
  private readonly listsDb: Database<Uint8Array, number>;
  private readonly evaluationDb: Database<StateDelta['evaluation'], string>;
  private readonly itemLabelsDb: Database<ItemLabel, string>;
  private readonly userFeaturesDb: Database<UserFeatures, string>;
  private readonly userActivityDb: Database<UserActivity, number>;
  private readonly seriesDb: Database<SeriesPoint, number>;

  private constructor(
    readonly dir: string,
    private readonly root: RootDatabase,
    private readonly lock: { release(): void } | undefined,
  ) {
    this.meta = root.openDB({ name: 'meta' });
    this.positionsDb = root.openDB({ name: 'positions' });
    this.usersDb = root.openDB({ name: 'users' });
    this.itemsDb = root.openDB({ name: 'items' });
    this.historyDb = root.openDB({ name: 'history' });
    this.modelsDb = root.openDB({ name: 'models' });
    this.listsDb = root.openDB({ name: 'lists' });
    this.evaluationDb = root.openDB({ name: 'evaluation' });
    this.itemLabelsDb = root.openDB({ name: 'item-labels' });
    this.userFeaturesDb = root.openDB({ name: 'user-features' });
    this.userActivityDb = root.openDB({ name: 'user-activity' });
    this.seriesDb = root.openDB({ name: 'series' });
  }

  /**
   * Open (creating when new) the state directory; a clear StateError for every reason it cannot be
   * used, another process writing it included (see lock.ts).
   */
  static open(dir: string, options: OpenOptions = {}): StateStore {
    return options.readOnly ? StateStore.openReadOnly(dir) : StateStore.openForWriting(dir, options.fresh ?? false).store;
  }

  private static openForWriting(dir: string, fresh: boolean, migrating = false): { store: StateStore; layout: FoundLayout } {
    try {
      makeDirectory(dir);
      accessSync(dir, constants.W_OK);
    } catch (error) {
      throw new StateError(
        `state directory '${dir}' is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): choose another with --state`,
      );
    }
    const identity = realpathSync(dir);
    if (openForWriting.has(identity)) throw new StateError(`the state in '${dir}' is already open in this process`);
    const lock = StateLock.acquire(dir);
    openForWriting.add(identity);
    const held = {
      release: () => {
        openForWriting.delete(identity);
        lock.release();
      },
    };
    try {
      // Discarding under the lock: a running process never loses its files to another's --fresh.
      if (fresh) for (const file of [DATA_FILE, `${DATA_FILE}-lock`]) rmSync(join(dir, file), { force: true });
      const root = openEnvironment(dir, false);
      const layout = inspectLayout(root);
      const problem = migrating && migratable(layout) ? undefined : formatProblem(dir, layout);
      if (problem !== undefined) {
        void root.close();
        throw new StateError(problem);
      }
      // Opening the sub-databases creates the missing ones (all of them in a new state).
      const store = new StateStore(dir, root, held);
      if (layout.format !== FORMAT_VERSION || layout.missing.length > 0) store.transact('the format stamp', () => store.meta.put('format', FORMAT_VERSION));
      return { store, layout };
    } catch (error) {
      held.release();
      throw error;
    }
  }

  /**
   * Upgrade an older state in place (`rxrec state migrate`): add the sub-databases it lacks,
   * empty, and stamp the current format. A state that cannot be upgraded is refused as `open`
   * refuses it, with the way to rebuild it.
   */
  static async migrate(dir: string): Promise<Migration> {
    if (!existsSync(join(dir, DATA_FILE))) throw new StateError(`there is no state in '${dir}' to migrate`);
    const { store, layout } = StateStore.openForWriting(dir, false, true);
    await store.close();
    return { from: foundFormat(layout) ?? FORMAT_VERSION, added: layout.missing };
  }

  private static openReadOnly(dir: string): StateStore {
    if (!existsSync(join(dir, DATA_FILE))) {
      throw new StateError(`there is no state in '${dir}': run 'rxrec replay' or 'rxrec serve' with --state ${dir} first`);
    }
    const root = openEnvironment(dir, true);
    const layout = inspectLayout(root);
    const problem =
      formatProblem(dir, layout) ??
      (layout.missing.length > 0 ? `there is no state in '${dir}' yet: run 'rxrec replay' or 'rxrec serve' with --state ${dir} first` : undefined);
    if (problem !== undefined) {
      void root.close();
      throw new StateError(problem);
    }
    return new StateStore(dir, root, undefined);
  }

  /**
   * Bind this state to one input stream and one model configuration. The first call records
   * them; later calls must match, so positions are never applied to another stream and
   * parameters never loaded into differently shaped models.
   */
  bind(streamId: string, config: unknown): void {
    const storedStream = this.meta.get('stream') as string | undefined;
    const storedConfig = this.meta.get('config');
    if (storedStream === undefined) {
      this.transact('the stream binding', () => {
        this.meta.put('stream', streamId);
        this.meta.put('config', config);
      });
      return;
    }
    if (storedStream !== streamId) {
      throw new StateError(
        `the state in '${this.dir}' belongs to stream '${storedStream}', not '${streamId}': use another --state directory, or --fresh to discard it`,
      );
    }
    if (JSON.stringify(storedConfig) !== JSON.stringify(config)) {
      throw new StateError(
        `the state in '${this.dir}' was made with model settings ${JSON.stringify(storedConfig)}, not ${JSON.stringify(config)}: use the same settings, another --state directory, or --fresh`,
      );
    }
  }

  /** The model settings this state was bound with, if any. */
  boundConfig(): unknown {
    return this.meta.get('config');
  }

  /** Item titles and genres, for showing lists to people and as the items' side features. */
  putItemLabels(labels: Iterable<[string, ItemLabel]>): void {
    this.transact('item labels', () => {
      for (const [itemId, label] of labels) this.itemLabelsDb.put(itemId, label);
    });
  }

  itemLabel(itemId: string): ItemLabel | undefined {
    return this.itemLabelsDb.get(itemId);
  }

  /** Keep a point of the replay's series (prequential figures, throughput, latency over the stream), keyed by position. */
  appendSeriesPoint(point: SeriesPoint): void {
    this.transact("a point of the replay's series", () => this.seriesDb.put(point.position, point));
  }

  /** The series, in stream order. */
  seriesPoints(): SeriesPoint[] {
    return [...this.seriesDb.getRange()].map(({ value }) => value);
  }

  /** Every stored item label, in item id order. */
  itemLabels(): Iterable<[string, ItemLabel]> {
    return this.itemLabelsDb.getRange().map(({ key, value }) => [key, value] as [string, ItemLabel]);
  }

  /** Users' side features; only the fields each defines are stored. */
  putUserFeatures(entries: Iterable<[string, UserFeatures]>): void {
    this.transact("users' side features", () => {
      for (const [userId, features] of entries) this.userFeaturesDb.put(userId, userFeaturesOf(features));
    });
  }

  /** Every stored user's side features, in user id order. */
  userFeatures(): Iterable<[string, UserFeatures]> {
    return this.userFeaturesDb.getRange().map(({ key, value }) => [key, value] as [string, UserFeatures]);
  }

  position(partition: number): number | undefined {
    return this.positionsDb.get(partition);
  }

  positions(): Map<number, number> {
    const positions = new Map<number, number>();
    for (const { key, value } of this.positionsDb.getRange()) positions.set(key, value);
    return positions;
  }

  /** Everything needed to rebuild the core, streamed from the sub-databases. */
  snapshot(modelNames: readonly string[]): RecommenderSnapshot {
    const models = new Map<string, Iterable<[string, StateValue]>>();
    for (const name of modelNames) {
      models.set(
        name,
        this.modelsDb.getRange({ start: [name], end: [name, MAX_KEY] }).map(({ key, value }) => [(key as [string, string])[1], value] as [string, StateValue]),
      );
    }
    return {
      users: this.usersDb.getRange().map(({ key, value }) => [key, value] as [number, string]),
      items: this.itemsDb.getRange().map(({ key, value }) => [key, value] as [number, string]),
      history: this.historyDb.getKeys().map((key) => key as [number, number]),
      models,
      evaluation: this.evaluationDb.get('prequential'),
      lists: this.listsDb.getRange().map(({ key, value }) => [key, unpackInt32(value)] as [number, Int32Array]),
    };
  }

  /** The user's newest event ts and partition; undefined for a user without events (or a state older than this record). */
  userActivity(user: number): UserActivity | undefined {
    return this.userActivityDb.get(user);
  }

  /**
   * Write one batch's delta, its users' activity and the positions after it, atomically; with
   * serve --scale-out also how far this worker has read or written each partition of the
   * changelog of user state (`changelogAt`).
   */
  commit(
    delta: StateDelta,
    positions: ReadonlyMap<number, number>,
    activity: ReadonlyMap<number, UserActivity> = new Map(),
    changelogAt: ReadonlyMap<number, number> = new Map(),
  ): void {
    this.transact('the batch', () => {
      if (changelogAt.size > 0) this.putChangelogAt(changelogAt);
      for (const [user, { eventTs, partition }] of activity) {
        // Events may arrive out of ts order: keep the newest.
        const previous = this.userActivityDb.get(user)?.eventTs ?? -Infinity;
        this.userActivityDb.put(user, { eventTs: Math.max(eventTs, previous), partition });
      }
      for (const [index, id] of delta.users) this.usersDb.put(index, id);
      for (const [index, id] of delta.items) this.itemsDb.put(index, id);
      for (const pair of delta.history) this.historyDb.put(pair, 1);
      for (const [model, key, value] of delta.models) {
        if (value === null) this.modelsDb.remove([model, key]);
        else this.modelsDb.put([model, key], value);
      }
      for (const [user, list] of delta.lists) this.listsDb.put(user, new Uint8Array(list.buffer, list.byteOffset, list.byteLength));
      this.evaluationDb.put('prequential', delta.evaluation);
      for (const [partition, offset] of positions) this.positionsDb.put(partition, offset);
    });
  }

  /**
   * Take in the user rows of partitions restored from the changelog of user state (serve
   * --scale-out), the positions they reach and how far the changelog was read, atomically.
   */
  adoptUserRows(rows: Iterable<UserRow>, positions: ReadonlyMap<number, number>, changelogAt: ReadonlyMap<number, number>): void {
    this.transact('the restored user state', () => {
      for (const row of rows) {
        switch (row.kind) {
          case 'history':
            this.historyDb.put([row.user, row.item], 1);
            break;
          case 'model':
            if (row.value === null) this.modelsDb.remove([row.model, row.key]);
            else this.modelsDb.put([row.model, row.key], row.value);
            break;
          case 'list':
            this.listsDb.put(row.user, new Uint8Array(row.items.buffer, row.items.byteOffset, row.items.byteLength));
            break;
          case 'activity':
            this.userActivityDb.put(row.user, row.activity);
            break;
        }
      }
      for (const [partition, offset] of positions) this.positionsDb.put(partition, offset);
      this.putChangelogAt(changelogAt);
    });
  }

  /** Rows of the models sub-database outside a batch (the scale-out slot, stored before it names anything). */
  putModelRows(rows: Iterable<[model: string, key: string, value: StateValue]>): void {
    this.transact('model rows', () => {
      for (const [model, key, value] of rows) this.modelsDb.put([model, key], value);
    });
  }

  /** Per partition of the changelog of user state, the offset this state has read or written it up to (serve --scale-out). */
  changelogAt(): Map<number, number> {
    const stored = (this.meta.get('changelog-at') ?? {}) as Record<string, number>;
    return new Map(Object.entries(stored).map(([partition, offset]) => [Number(partition), offset]));
  }

  private putChangelogAt(changelogAt: ReadonlyMap<number, number>): void {
    const merged = this.changelogAt();
    for (const [partition, offset] of changelogAt) merged.set(partition, Math.max(offset, merged.get(partition) ?? 0));
    this.meta.put('changelog-at', Object.fromEntries(merged));
  }

  /**
   * Run `body` as one synchronous write transaction, committed to disk on return (see the top).
   * `body`'s result is dropped on purpose: lmdb-js defers the commit of a transactionSync whose
   * callback returns a promise (a bare `put` returns one) to a later microtask. A failed write is
   * a StateError naming `what`, its cause, and the positions the state still holds.
   */
  private transact(what: string, body: () => unknown): void {
    try {
      this.root.transactionSync(() => {
        body();
      });
    } catch (error) {
      let held = 'no positions yet';
      try {
        const positions = describePositions(this.positions());
        if (positions) held = `positions ${positions}`;
      } catch {
        held = 'the positions of its last stored batch';
      }
      throw new StateError(
        `cannot store ${what} in the state in '${this.dir}': ${explainWriteFailure(this.dir, join(this.dir, DATA_FILE), error)}. ` +
          `Nothing of it was stored and no offset past it is committed; the state holds ${held}, where the next start resumes`,
      );
    }
  }

  /** Size of the data file on disk, for the lmdb size gauge. */
  sizeBytes(): number {
    return statSync(join(this.dir, DATA_FILE)).size;
  }

  async close(): Promise<void> {
    try {
      await this.root.close();
    } finally {
      this.lock?.release();
    }
  }
}

/**
 * The LMDB environment, with lmdb-js's durable defaults: sync on (no noSync, noMetaSync,
 * mapAsync or useWritemap, each of which lets a power loss take back a commit that returned or
 * corrupt the file), overlappingSync left to lmdb-js (it only changes asynchronous writes; see
 * the top), the map grown on demand from 128 KB. LMDB read-only on a read-only mount opens
 * without its lock file (LMDB's rule for MDB_RDONLY on EROFS).
 */
function openEnvironment(dir: string, readOnly: boolean): RootDatabase {
  try {
    return open({ path: join(dir, DATA_FILE), maxDbs: 16, readOnly });
  } catch (error) {
    throw new StateError(`cannot open the state in '${dir}': ${(error as Error).message}`);
  }
}

/** The stamp, the binding and the sub-databases present, without creating any. */
function inspectLayout(root: RootDatabase): FoundLayout {
  const missing = SUB_DATABASES.filter((name) => openExisting(root, name) === undefined);
  const meta = openExisting<unknown, string>(root, 'meta');
  const stream = meta?.get('stream') as string | undefined;
  const positions = openExisting<number, number>(root, 'positions');
  const bound = stream !== undefined || (positions !== undefined && positions.getKeysCount() > 0);
  return { format: meta?.get('format'), bound, missing, stream };
}

/** A sub-database if it exists (lmdb-js's `create: false`, missing from its types: undefined when not found). */
function openExisting<V, K extends Key>(root: RootDatabase, name: SubDatabase): Database<V, K> | undefined {
  return root.openDB<V, K>({ name, create: false } as { name: string }) as Database<V, K> | undefined;
}

/** A key part that sorts after every model key string. */
const MAX_KEY = '\uffff';

function unpackInt32(bytes: Uint8Array): Int32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Int32Array(copy.buffer);
}
