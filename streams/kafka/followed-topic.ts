/**
 * A topic every worker reads whole and then follows (the shared catalogue, the model updates):
 * a consumer of a group of its own (new at each start, committing nothing) from the topic's
 * start. `open` resolves once every partition is read up to the end offset it had then.
 * Records go to `onRecords` as they arrive; `until` waits for a condition on what was read.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { DEFAULT_RETRY } from './client.js';
import type { KafkaSettings } from './config.js';
import { explainKafkaError } from './errors.js';
import { topicOffsets } from './offsets.js';

/** Short, as nothing is lost when the member is dropped. */
const SESSION_TIMEOUT_MS = 10_000;

export class FollowedTopic {
  private readonly consumer: Consumer;
  private waiters: Array<{ until: () => boolean; resolve: () => void; reject: (error: Error) => void }> = [];
  /** Per partition, the next offset to read. */
  private readonly readUpTo = new Map<number, number>();
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
    readonly topic: string,
    /** Records of one fetch, in offset order; a throw stops the topic (`until` and `check` reject with it). */
    private readonly onRecords: (messages: readonly KafkaMessage[], partition: number) => void,
  ) {
    this.consumer = kafka.consumer({
      groupId: `${settings.topicPrefix}follow-${randomUUID()}`,
      sessionTimeout: SESSION_TIMEOUT_MS,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { ...DEFAULT_RETRY, restartOnFailure: async () => !this.closed },
    });
    const { END_BATCH_PROCESS, CRASH } = this.consumer.events;
    // After each batch, filtered ones included: how far a partition is read.
    this.consumer.on(END_BATCH_PROCESS, ({ payload }) => {
      this.readUpTo.set(payload.partition, Math.max(this.readUpTo.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1));
      this.wake();
    });
    this.consumer.on(CRASH, ({ payload }) => {
      if (payload.restart || this.closed) return;
      this.fail(explainKafkaError(payload.error, this.context(`reading ${topic}`)));
    });
  }

  /** Start reading from the start, and resolve once the topic is read to its end as of now; resolves with each partition's first offset. */
  async open(): Promise<Map<number, number>> {
    const admin = this.kafka.admin();
    const ends = new Map<number, number>();
    const starts = new Map<number, number>();
    try {
      await admin.connect();
      for (const { partition, low, high } of await topicOffsets(admin, this.topic)) {
        ends.set(partition, Number(high));
        starts.set(partition, Number(low));
      }
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await this.consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      throw explainKafkaError(error, this.context(`starting to read ${this.topic}`));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    try {
      await this.until(() => [...ends].every(([partition, end]) => (this.readUpTo.get(partition) ?? 0) >= end));
    } catch (error) {
      await this.close();
      throw error;
    }
    return starts;
  }

  /** Resolves once `condition` holds on what was read (checked after each fetch); rejects if the topic stopped. */
  until(condition: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ until: condition, resolve, reject }));
  }

  /** Throws why the topic stopped, if it did. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters) waiter.reject(new Error(`${this.topic} was closed`));
    this.waiters = [];
    await this.consumer.disconnect().catch(() => undefined);
  }

  private onBatch({ batch }: EachBatchPayload): Promise<void> {
    if (this.closed || this.failure) return Promise.resolve();
    // A consumer that restarts (a crash kafkajs retries) rejoins its group with no committed offset and reads from the start again: older records are not handed on twice.
    const from = this.readUpTo.get(batch.partition) ?? 0;
    const messages = batch.messages.filter((message) => Number(message.offset) >= from);
    try {
      this.onRecords(messages, batch.partition);
    } catch (error) {
      this.fail(error as Error);
    }
    return Promise.resolve();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (this.failure) waiter.reject(this.failure);
      else if (waiter.until()) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  private context(doing: string) {
    return { brokers: this.settings.brokers, doing, topics: [this.topic], sasl: this.settings.sasl };
  }
}
