/**
 * The items and users topics as serve reads them: a consumer of a group of its own (new at each
 * start, committing nothing, so every worker reads both topics whole) from their start.
 * `caughtUp` resolves once every partition is read up to the end offset it had when the feed
 * opened, which is the latest value per key as of the start (the topics are compacted). The feed
 * then goes on reading for as long as it is open, so a later record replaces the earlier one.
 *
 * Records are decoded and validated like ratings (src/events/metadata.ts). Bad ones go to the
 * dead-letter sink with their reason and original bytes, then the batch's good ones are handed on
 * in offset order. A tombstone (a key without a value) is skipped: rxrec never deletes side
 * features, and the value last read for the key stays.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ItemRow, UserRow } from '../../src/datasets/rows.js';
import { decodeItem, decodeUser } from '../../src/events/metadata.js';
import { deadLetterOf } from '../dead-letter.js';
import type { DeadLetter, DeadLetterSink } from '../transport.js';
import { DEFAULT_RETRY, type KafkaLog } from './client.js';
import { topicNames, type KafkaSettings } from './config.js';
import { explainKafkaError } from './errors.js';
import { topicOffsets } from './offsets.js';

/** While catching up, how often the partitions not yet read to their end are logged. */
const BEHIND_LOG_EVERY_MS = 10_000;
/** Short, as nothing is lost when the member is dropped; at least the broker's minimum (6 s by default). */
const SESSION_TIMEOUT_MS = 10_000;

export interface SideFeatureHandlers {
  readonly onItems: (items: readonly ItemRow[]) => void;
  readonly onUsers: (users: readonly UserRow[]) => void;
  readonly deadLetters: DeadLetterSink;
  /** Larger records are dead letters (oversized), as for ratings. */
  readonly maxMessageBytes: number;
  readonly log: KafkaLog;
}

/** Records read since the feed opened. */
export interface SideFeatureCounts {
  readonly items: number;
  readonly users: number;
  readonly rejected: number;
}

export class SideFeatureFeed {
  /** Resolves once both topics are read to their end offsets at opening; rejects if the consumer fails before. */
  readonly caughtUp: Promise<void>;
  private readonly itemsTopic: string;
  private readonly usersTopic: string;
  private readonly dlqTopic: string;
  private readonly consumer: Consumer;
  /** Per 'topic:partition', the offset to read up to before the feed is caught up. */
  private readonly remaining = new Map<string, number>();
  /** Per 'topic:partition', the next offset to read. */
  private readonly positions = new Map<string, number>();
  private behindLog: NodeJS.Timeout | undefined;
  private readonly counted = { items: 0, users: 0, rejected: 0 };
  private caughtUpNow = false;
  private closed = false;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (error: Error) => void;

  private constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
    private readonly handlers: SideFeatureHandlers,
  ) {
    const names = topicNames(settings.topicPrefix);
    this.itemsTopic = names.items;
    this.usersTopic = names.users;
    this.dlqTopic = names.dlq;
    this.caughtUp = new Promise((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    // Whoever opened the feed may stop waiting (serve stopped): a later failure is then only logged.
    this.caughtUp.catch(() => undefined);
    this.consumer = kafka.consumer({
      groupId: `${settings.topicPrefix}side-features-${randomUUID()}`,
      // After a crash the restarted member waits for its old self to time out before it reads again.
      sessionTimeout: SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      // A crash while disconnecting (a fetch cut off) would otherwise schedule a restart after the disconnect.
      retry: { ...DEFAULT_RETRY, restartOnFailure: async () => !this.closed },
    });
    const { END_BATCH_PROCESS, CRASH, FETCH_START } = this.consumer.events;
    // After each batch, filtered ones (transaction markers only) included: how far a partition is read.
    this.consumer.on(END_BATCH_PROCESS, ({ payload }) => this.readUpTo(payload.topic, payload.partition, Number(payload.lastOffset) + 1));
    this.consumer.on(CRASH, ({ payload }) => this.onCrash(payload.error, payload.restart));
    // kafkajs's disconnect passes over a consumer still joining its group (restarting after a
    // crash), which then starts fetching after `close`: its first fetch stops it for good.
    this.consumer.on(FETCH_START, () => {
      if (this.closed) void this.consumer.disconnect().catch(() => undefined);
    });
  }

  /** Start reading both topics from their start; they must exist (serve's transport creates them). */
  static async open(kafka: Kafka, settings: KafkaSettings, handlers: SideFeatureHandlers): Promise<SideFeatureFeed> {
    const feed = new SideFeatureFeed(kafka, settings, handlers);
    await feed.start();
    return feed;
  }

  counts(): SideFeatureCounts {
    return { ...this.counted };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.behindLog);
    this.rejectCaughtUp(new Error('the side-feature feed was closed before it caught up'));
    await this.consumer.disconnect().catch(() => undefined);
  }

  private async start(): Promise<void> {
    const topics = [this.itemsTopic, this.usersTopic];
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      for (const topic of topics) {
        for (const { partition, low, high } of await topicOffsets(admin, topic)) {
          if (Number(high) > Number(low)) this.remaining.set(`${topic}:${partition}`, Number(high));
        }
      }
      await this.consumer.connect();
      await this.consumer.subscribe({ topics, fromBeginning: true });
      await this.consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      throw explainKafkaError(error, this.errorContext('starting to read the items and users topics'));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    // A partition that never reaches its end offset (its last records removed) would hold serve back: say which.
    this.behindLog = setInterval(() => this.handlers.log(`still reading the side features: ${this.behind()}`), BEHIND_LOG_EVERY_MS).unref();
    this.checkCaughtUp();
  }

  private behind(): string {
    return [...this.remaining].map(([key, end]) => `${key} at ${this.positions.get(key) ?? 0} of ${end}`).join(', ');
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    // The state may be closed already: what was not applied is read again at the next start.
    if (this.closed) return;
    const isItems = batch.topic === this.itemsTopic;
    const decode = isItems ? decodeItem : decodeUser;
    const items: ItemRow[] = [];
    const users: UserRow[] = [];
    const letters: DeadLetter[] = [];
    for (const message of batch.messages) {
      if (message.value === null) continue;
      const result = decode(message.value, this.handlers.maxMessageBytes);
      if (result.ok) {
        if (isItems) items.push(result.value as ItemRow);
        else users.push(result.value as UserRow);
        continue;
      }
      const record = { partition: batch.partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? null, value: message.value };
      letters.push(deadLetterOf(record, batch.topic, result.reason));
    }
    if (letters.length > 0) {
      await this.handlers.deadLetters.send(letters);
      this.counted.rejected += letters.length;
      this.handlers.log(`${letters.length} bad record(s) of ${batch.topic} sent to ${this.dlqTopic}; the first: ${letters[0]!.reason}`);
    }
    if (items.length > 0) this.handlers.onItems(items);
    if (users.length > 0) this.handlers.onUsers(users);
    this.counted.items += items.length;
    this.counted.users += users.length;
  }

  private readUpTo(topic: string, partition: number, next: number): void {
    const key = `${topic}:${partition}`;
    this.positions.set(key, next);
    const end = this.remaining.get(key);
    if (end !== undefined && next >= end) this.remaining.delete(key);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.caughtUpNow || this.remaining.size > 0) return;
    this.caughtUpNow = true;
    clearInterval(this.behindLog);
    this.resolveCaughtUp();
  }

  private onCrash(error: Error, restarting: boolean): void {
    const explained = explainKafkaError(error, this.errorContext('reading the items and users topics'));
    if (restarting || this.closed) return;
    if (!this.caughtUpNow) this.rejectCaughtUp(explained);
    else
      this.handlers.log(
        `kafka error: side features no longer follow ${this.itemsTopic} and ${this.usersTopic} (restart serve to read them again): ${explained.message}`,
      );
  }

  private errorContext(doing: string) {
    return {
      brokers: this.settings.brokers,
      doing,
      topics: [this.itemsTopic, this.usersTopic],
      sasl: this.settings.sasl,
    };
  }
}
