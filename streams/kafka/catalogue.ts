/**
 * The catalogue topic: the order in which a group of workers met every user and item id, so
 * that they all give an id the same dense index (part of `--scale-out`). Models address their
 * parameters by index, and every piece of state that passes from one worker to another (a
 * user's state restored elsewhere, item-side parameters learned from every partition) names
 * users and items by index, so the indices must agree before anything can be shared.
 *
 * The rule: an id's index is its rank among the distinct ids of its kind in the topic's
 * order. The topic has one partition (a total order) and keeps its records for ever
 * (retention.ms = -1, cleanup.policy = delete: compaction would move a re-announced id to its
 * later record and change the order for a reader that starts after the cleaner ran).
 *
 * Before a batch is learned, `admit` announces the ids the local catalogue lacks in one record
 * and reads the topic until that record comes back, interning every id met on the way in
 * topic order, its own and other workers' alike. A batch without a new id costs nothing but
 * interning what other workers announced since. Two workers that announce the same id keep
 * the first announcement's rank. Records are interned only inside `admit` (and at `open`), at a
 * point where no batch is being learned, so indices never appear in the middle of a batch.
 *
 * At `open` the whole topic is read. The state's own ids must be a prefix of the topic's order
 * (they were all interned from it); anything else (a state made without the shared catalogue,
 * or against another group's topic) is refused with the way out.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Catalog, IdIndex } from '../../src/catalog.js';
import { StateError } from '../../state/errors.js';
import type { KafkaSettings } from './config.js';
import { FollowedTopic } from './followed-topic.js';
import type { SharedProducer } from './producer.js';

/** One announcement: new user and item ids, in the order the announcing worker met them. */
interface Announcement {
  /** Which worker and which of its announcements: how `admit` recognises its own record. */
  readonly by: string;
  readonly u: readonly string[];
  readonly i: readonly string[];
}

export interface CatalogueCounts {
  /** Announcements read, and sent by this worker. */
  readonly read: number;
  readonly sent: number;
  /** Bytes of the announcements this worker sent. */
  readonly sentBytes: number;
}

export class CatalogueLog {
  private readonly followed: FollowedTopic;
  private readonly worker = randomUUID();
  private sequence = 0;
  /** Records read but not interned yet, in topic order. */
  private pending: Announcement[] = [];
  /** Distinct ids of each kind met in the topic so far: the next index the topic gives. */
  private ranked = { users: 0, items: 0 };
  private readonly counted = { read: 0, sent: 0, sentBytes: 0 };

  private constructor(
    kafka: Kafka,
    settings: KafkaSettings,
    private readonly topic: string,
    private readonly producer: SharedProducer,
    private catalog: Catalog,
  ) {
    this.followed = new FollowedTopic(kafka, settings, topic, (messages, partition) => this.read(messages, partition));
  }

  /** Read the topic to its end into `catalog`, checking that the catalogue's ids are a prefix of the topic's order. */
  static async open(kafka: Kafka, settings: KafkaSettings, topic: string, producer: SharedProducer, catalog: Catalog): Promise<CatalogueLog> {
    const log = new CatalogueLog(kafka, settings, topic, producer, catalog);
    const starts = await log.followed.open();
    try {
      const first = starts.get(0) ?? 0;
      if (first > 0) {
        throw new StateError(
          `${topic} starts at offset ${first}, not 0: its first records were deleted (retention.bytes, or kafka-delete-records), and with them the ranks of the ids they announced; ` +
            `the group's indices cannot be rebuilt from it: start every worker with an empty --state on a new --topic-prefix`,
        );
      }
      log.internPending();
      const { users, items } = catalog;
      if (log.ranked.users < users.size || log.ranked.items < items.size) {
        throw new StateError(
          `the state holds ${users.size} users and ${items.size} items, but ${topic} ranks only ${log.ranked.users} and ${log.ranked.items}: ` +
            `it was not made with this group's shared catalogue; start this worker with an empty --state (or --fresh), or without --scale-out`,
        );
      }
    } catch (error) {
      await log.close();
      throw error;
    }
    return log;
  }

  counts(): CatalogueCounts {
    return { ...this.counted };
  }

  /** Intern into `catalog` from now on: the recommender rebuilt from the state after a restore, with the same ids. */
  rebind(catalog: Catalog): void {
    if (catalog.users.size !== this.catalog.users.size || catalog.items.size !== this.catalog.items.size) {
      throw new Error(
        `the rebuilt catalogue has ${catalog.users.size} users and ${catalog.items.size} items, not ${this.catalog.users.size} and ${this.catalog.items.size}`,
      );
    }
    this.catalog = catalog;
  }

  /** Intern what other workers announced since the last call (an idle poll); true if any id was new here. */
  catchUp(): boolean {
    const before = this.catalog.users.size + this.catalog.items.size;
    this.internPending();
    return this.catalog.users.size + this.catalog.items.size > before;
  }

  /** Give every id of `events` its shared index (announcing the new ones), interning what others announced meanwhile; resolves with the bytes announced. */
  async admit(events: ReadonlyArray<{ readonly userId: string; readonly itemId: string }>): Promise<number> {
    this.internPending();
    const { users, items } = this.catalog;
    const newUsers = new Set<string>();
    const newItems = new Set<string>();
    for (const { userId, itemId } of events) {
      if (users.lookup(userId) < 0) newUsers.add(userId);
      if (items.lookup(itemId) < 0) newItems.add(itemId);
    }
    if (newUsers.size === 0 && newItems.size === 0) return 0;
    const by = `${this.worker}/${this.sequence++}`;
    const value = JSON.stringify({ by, u: [...newUsers], i: [...newItems] } satisfies Announcement);
    await this.producer.send(this.topic, [{ key: null, value }]);
    this.counted.sent += 1;
    const bytes = Buffer.byteLength(value);
    this.counted.sentBytes += bytes;
    await this.followed.until(() => this.pending.some((announcement) => announcement.by === by));
    this.internPending();
    return bytes;
  }

  close(): Promise<void> {
    return this.followed.close();
  }

  private read(messages: readonly KafkaMessage[], partition: number): void {
    for (const message of messages) {
      if (message.value === null) continue;
      let announcement: Announcement;
      try {
        announcement = JSON.parse(message.value.toString('utf8')) as Announcement;
        if (!Array.isArray(announcement.u) || !Array.isArray(announcement.i)) throw new Error('no u and i arrays');
      } catch (error) {
        // Only workers write here: a record that is not an announcement stops the worker (skipping it would shift every later index).
        throw new Error(`${this.topic} record ${partition}:${message.offset} is not a catalogue announcement (${(error as Error).message})`);
      }
      this.pending.push(announcement);
      this.counted.read += 1;
    }
  }

  /** Intern what was read, in topic order: the rank of an id is its index. */
  private internPending(): void {
    this.followed.check();
    for (const { u, i } of this.pending) {
      for (const id of u) this.ranked.users = this.rank(this.catalog.users, id, this.ranked.users, 'user');
      for (const id of i) this.ranked.items = this.rank(this.catalog.items, id, this.ranked.items, 'item');
    }
    this.pending = [];
  }

  /** The topic's next rank after meeting `id`; the local index must agree with the topic's. */
  private rank(index: IdIndex, id: string, next: number, kind: string): number {
    const local = index.lookup(id);
    if (local >= 0 && local < next) return next; // announced again: the first announcement's rank stands
    if (local === next || (local < 0 && index.size === next)) {
      if (local < 0) index.intern(id);
      return next + 1;
    }
    throw new StateError(
      `${kind} '${id}' has index ${local} in the state but rank ${next} in ${this.topic}: the state was not made with this group's shared catalogue; ` +
        `start this worker with an empty --state (or --fresh)`,
    );
  }
}
