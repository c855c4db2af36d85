/**
 * One worker's part in a group that forms one recommender (serve --scale-out): before each
 * batch, its new ids get the group's indices (the catalogue) and the other workers' latest
 * contributions to the shared parameters are added in; after it is learned, this worker's new
 * totals are published, before the batch's LMDB commit, and this bookkeeping is stored in that
 * commit. Between batches (idle polls) the others' updates keep being added in, so a worker
 * whose partitions are quiet still follows the shared parameters.
 *
 * What is shared is what each model's `shared` names (item-side rows, global sums); the rest of
 * a model stays per worker. README: Scale-out.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { RatingEvent } from '../src/events/rating.js';
import type { Recommender } from '../src/recommender.js';
import { Contributions, CONTRIBUTIONS_STATE } from '../src/sharing/contributions.js';
import type { StateValue } from '../src/models/model.js';
import type { StateStore } from '../state/store.js';
import type { CatalogueLog } from './kafka/catalogue.js';
import type { ModelUpdates } from './kafka/model-updates.js';

/** What the group's sharing stores with a commit: rows of the models sub-database. */
export type SharedStateRows = Array<[model: string, key: string, value: StateValue]>;

export interface GroupSharing {
  /** Before a batch is learned: its ids get the group's indices, the others' updates are added in. */
  beforeBatch(events: readonly RatingEvent[]): Promise<void>;
  /** After it is learned, before its commit: this worker's new totals are published; what to store with the batch. */
  afterBatch(): Promise<SharedStateRows>;
  /** An idle poll: the others' ids and updates are taken in; what to store then (undefined: nothing moved, no commit). */
  idle(): SharedStateRows | undefined;
}

export class ScaleOut implements GroupSharing {
  private readonly contributions: Contributions;
  private readonly sentBytes: Counter;
  private readonly catalogueBytes: Counter;
  private readonly updates: Counter<'direction'>;
  private readonly delay: Histogram;
  /** What `start` read (ids, others' totals) is stored with the first commit, a batch's or an idle poll's. */
  private unsaved = true;

  constructor(
    private readonly recommender: Recommender,
    store: StateStore,
    private readonly catalogue: CatalogueLog,
    private readonly modelUpdates: ModelUpdates,
    registry: Registry,
  ) {
    const stored = store.snapshot([CONTRIBUTIONS_STATE]).models.get(CONTRIBUTIONS_STATE) ?? [];
    this.contributions = new Contributions(recommender.models, stored);
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
    this.updates = new Counter({
      name: 'rxrec_model_updates_total',
      help: 'Shared-parameter totals published by this worker (sent) and other workers\u2019 totals added into its models (applied)',
      labelNames: ['direction'] as const,
      registers: [registry],
    });
    for (const direction of ['sent', 'applied']) this.updates.inc({ direction }, 0);
    this.delay = new Histogram({
      name: 'rxrec_model_update_delay_seconds',
      help: 'From another worker publishing a shared-parameter total to this worker adding it into its models',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  get slot(): string {
    return this.contributions.slot;
  }

  get sharedModels(): string[] {
    return this.contributions.sharedModels;
  }

  /**
   * At start, once the topics are read: every other slot's totals added in, and this worker's
   * own re-published (its last ones may have been lost with a crash before they were sent).
   * What moved is stored with the next commit.
   */
  async start(): Promise<void> {
    const taken = this.absorb(false);
    await this.publish([...this.contributions.ownTotals(), ...this.contributions.unrecorded(taken.map(({ contribution }) => contribution))]);
  }

  async beforeBatch(events: readonly RatingEvent[]): Promise<void> {
    // Updates first: the items they rank are the ones interned before this batch's (see learnedElsewhere).
    this.absorb();
    this.catalogueBytes.inc(await this.catalogue.admit(events));
  }

  async afterBatch(): Promise<SharedStateRows> {
    await this.publish(this.contributions.collect());
    return this.stateChanges();
  }

  idle(): SharedStateRows | undefined {
    // Both, whatever the first says: `||` would skip the absorb.
    const interned = this.catalogue.catchUp();
    this.absorb();
    return interned || this.unsaved ? this.stateChanges() : undefined;
  }

  /** Add in what was read since the last call; `timed`: observe the delay of what moved (not of the backlog read at start). */
  private absorb(timed = true): ReturnType<ModelUpdates['take']> {
    const taken = this.modelUpdates.take();
    const now = Date.now();
    const moved = this.contributions.absorb(taken.map(({ contribution }) => contribution));
    if (timed) for (const index of moved) this.delay.observe(Math.max(0, now - taken[index]!.at) / 1000);
    this.updates.inc({ direction: 'applied' }, moved.length);
    if (moved.length > 0) {
      this.recommender.learnedElsewhere(this.recommender.catalog.items.size);
      this.unsaved = true;
    }
    return taken;
  }

  private async publish(totals: Parameters<ModelUpdates['publish']>[0]): Promise<void> {
    this.sentBytes.inc(await this.modelUpdates.publish(totals));
    this.updates.inc({ direction: 'sent' }, totals.length);
  }

  private stateChanges(): SharedStateRows {
    this.unsaved = false;
    return this.contributions.drainChanges().map(([key, value]) => [CONTRIBUTIONS_STATE, key, value]);
  }
}
