/**
 * One worker's part in a group that forms one recommender (serve --scale-out): before each
 * batch, its new ids get the group's indices (the catalogue) and the other workers' latest
 * contributions to the shared parameters are added in; after it is learned, one Kafka
 * transaction applies it in the group (this worker's new totals, the user rows it changed, its
 * positions and the group's offsets: streams/kafka/user-changelog.ts), before the batch's LMDB
 * commit, and this bookkeeping is stored in that commit. Between batches (idle polls) the others' updates keep being added in, so a worker
 * whose partitions are quiet still follows the shared parameters.
 *
 * What is shared is what each model's `shared` names (item-side rows, global sums); the rest of
 * a model stays per worker. README: Scale-out.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RatingEvent } from '../src/events/rating.js';
import type { Recommender, StateDelta } from '../src/recommender.js';
import { Contributions, CONTRIBUTIONS_STATE } from '../src/sharing/contributions.js';
import { userRowsOf } from '../src/sharing/user-rows.js';
import type { StateValue } from '../src/models/model.js';
import type { StateStore, UserActivity } from '../state/store.js';
import type { CatalogueLog } from './kafka/catalogue.js';
import type { ModelUpdates } from './kafka/model-updates.js';
import type { UserChangelog } from './kafka/user-changelog.js';

/** What the group's sharing stores with a commit: rows of the models sub-database. */
export type SharedStateRows = Array<[model: string, key: string, value: StateValue]>;

export interface SharedCommit {
  readonly shared: SharedStateRows;
  /** How far this worker has written each partition of the changelog of user state. */
  readonly changelogAt: Map<number, number>;
}

export interface GroupSharing {
  /** Before a batch is learned: its ids get the group's indices, the others' updates are added in. */
  beforeBatch(events: readonly RatingEvent[]): Promise<void>;
  /**
   * After a batch is learned (or an idle poll that moved something), before its LMDB commit: the
   * batch is applied in the group (one transaction: totals, user rows, positions, offsets); what
   * to store with it.
   */
  commit(delta: StateDelta, positions: ReadonlyMap<number, number>, activity: ReadonlyMap<number, UserActivity>): Promise<SharedCommit>;
  /** An idle poll: the others' ids and updates are taken in; true when that is to be stored. */
  idle(): boolean;
  /** Whether the user's partition is this worker's now (held, and not waiting for its restore). */
  owns(user: number): boolean;
}

/** This worker's place in the consumer group, as the sharing needs it. */
export interface GroupMembership {
  /** The ratings partitions this worker holds now, restored. */
  held(): readonly number[];
  /** Resolves while the group still counts this worker a member; rejects once it was dropped (see KafkaRatingSource.confirmMembership). */
  confirm(): Promise<void>;
}

/** The sharing's metrics: made once per worker, kept across the rebuilds that follow a restore. */
export class ScaleOutMetrics {
  readonly sentBytes: Counter;
  readonly catalogueBytes: Counter;
  readonly changelogBytes: Counter<'direction'>;
  readonly updates: Counter<'direction'>;
  readonly delay: Histogram;

  constructor(registry: Registry) {
    this.sentBytes = new Counter({
      name: 'rxrec_model_update_bytes_total',
      help: 'Bytes (keys and values) of the shared-parameter totals this worker published to the model-updates topic',
      registers: [registry],
    });
    this.catalogueBytes = new Counter({
      name: 'rxrec_catalogue_bytes_total',
      help: 'Bytes of the new-id announcements this worker published to the catalogue topic',
      registers: [registry],
    });
    this.changelogBytes = new Counter({
      name: 'rxrec_user_state_bytes_total',
      help: 'Bytes (keys and values) of the changelog of user state this worker wrote (sent) and read to restore partitions (restored)',
      labelNames: ['direction'] as const,
      registers: [registry],
    });
    this.updates = new Counter({
      name: 'rxrec_model_updates_total',
      help: 'Shared-parameter totals published by this worker (sent) and other workers\u2019 totals added into its models (applied)',
      labelNames: ['direction'] as const,
      registers: [registry],
    });
    for (const direction of ['sent', 'applied']) this.updates.inc({ direction }, 0);
    for (const direction of ['sent', 'restored']) this.changelogBytes.inc({ direction }, 0);
    this.delay = new Histogram({
      name: 'rxrec_model_update_delay_seconds',
      help: 'From another worker publishing a shared-parameter total to this worker adding it into its models',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }
}

export class ScaleOut implements GroupSharing {
  private readonly contributions: Contributions;
  /** What `start` read (ids, others' totals) is stored with the first commit, a batch's or an idle poll's. */
  private unsaved = true;

  constructor(
    private readonly recommender: Recommender,
    private readonly store: StateStore,
    private readonly catalogue: CatalogueLog,
    private readonly modelUpdates: ModelUpdates,
    private readonly changelog: UserChangelog,
    private readonly metrics: ScaleOutMetrics,
    private readonly membership: GroupMembership,
  ) {
    const stored = store.snapshot([CONTRIBUTIONS_STATE]).models.get(CONTRIBUTIONS_STATE) ?? [];
    this.contributions = new Contributions(recommender.models, stored);
  }

  /** The slot of the worker of this state, stored now if the state has none yet (it names the worker's transactional id). */
  static slotOf(store: StateStore): string {
    const stored = store.snapshot([CONTRIBUTIONS_STATE]).models.get(CONTRIBUTIONS_STATE) ?? [];
    const fresh = new Contributions([], stored);
    const rows = fresh.drainChanges().filter(([key]) => key === 'slot');
    store.putModelRows(rows.map(([key, value]) => [CONTRIBUTIONS_STATE, key, value]));
    return fresh.slot;
  }

  get slot(): string {
    return this.contributions.slot;
  }

  get sharedModels(): string[] {
    return this.contributions.sharedModels;
  }

  /**
   * At start, once the topics are read: every other slot's totals added in and, with
   * `rollForward` (a process start, read up to its barrier), this worker's own as the topic has
   * them (a batch whose transaction committed just before a crash is in them, not yet in the
   * state). After a restore the state holds the latest own totals (it was just committed), and
   * the topic read so far may hold older ones. What moved is stored with the next commit.
   * Returns how many of its own totals it took from the topic.
   */
  start({ rollForward }: { readonly rollForward: boolean }): number {
    const taken = this.absorb(false);
    if (!rollForward) return 0;
    const adopted = this.contributions.adoptOwn(taken.map(({ contribution }) => contribution));
    if (adopted > 0) {
      this.recommender.learnedElsewhere(this.recommender.catalog.items.size);
      this.unsaved = true;
    }
    return adopted;
  }

  async beforeBatch(events: readonly RatingEvent[]): Promise<void> {
    // Updates first: the items they rank are the ones interned before this batch's (see learnedElsewhere).
    this.absorb();
    this.metrics.catalogueBytes.inc(await this.catalogue.admit(events));
  }

  async commit(delta: StateDelta, positions: ReadonlyMap<number, number>, activity: ReadonlyMap<number, UserActivity>): Promise<SharedCommit> {
    const totals = this.contributions.collect();
    const { records, bytes } = this.modelUpdates.records(totals);
    // Only the partitions held: what this worker knows of another's users is stale, and would overwrite their holder's rows.
    const held = new Set(this.membership.held());
    const rows = new Map(
      [...userRowsOf(delta, activity, this.recommender.models, (user) => this.store.userActivity(user)?.partition)].filter(([partition]) =>
        held.has(partition),
      ),
    );
    // A worker the group dropped while it held this batch (a stall past its session timeout) must not commit it: the partitions' new holders apply it.
    const confirm = positions.size > 0 ? () => this.membership.confirm() : undefined;
    const { changelogBytes, changelogAt } = await this.changelog.commit({ totals: records, rows, positions, confirm });
    this.modelUpdates.sent(records.length, bytes);
    this.metrics.sentBytes.inc(bytes);
    this.metrics.updates.inc({ direction: 'sent' }, totals.length);
    this.metrics.changelogBytes.inc({ direction: 'sent' }, changelogBytes);
    this.unsaved = false;
    return { shared: this.contributions.drainChanges().map(([key, value]) => [CONTRIBUTIONS_STATE, key, value]), changelogAt };
  }

  owns(user: number): boolean {
    const partition = this.store.userActivity(user)?.partition;
    return partition !== undefined && this.membership.held().includes(partition);
  }

  idle(): boolean {
    // Both, whatever the first says: `||` would skip the absorb.
    const interned = this.catalogue.catchUp();
    const moved = this.absorb().length > 0;
    return interned || moved || this.unsaved;
  }

  /** Add in what was read since the last call; `timed`: observe the delay of what moved (not of the backlog read at start). */
  private absorb(timed = true): ReturnType<ModelUpdates['take']> {
    const taken = this.modelUpdates.take();
    const now = Date.now();
    const moved = this.contributions.absorb(taken.map(({ contribution }) => contribution));
    if (timed) for (const index of moved) this.metrics.delay.observe(Math.max(0, now - taken[index]!.at) / 1000);
    this.metrics.updates.inc({ direction: 'applied' }, moved.length);
    if (moved.length > 0) {
      this.recommender.learnedElsewhere(this.recommender.catalog.items.size);
      this.unsaved = true;
    }
    return taken;
  }
}
