/**
 * The ratings topic as a RatingSource: a kafkajs consumer in the workers' consumer group.
 *
 * Exactly-once effect on state rests on where each partition resumes. On every assignment
 * (the first join, each rebalance, each restart after a crash) a partition continues from
 *   - the end of what this source already fetched, when it kept the partition through the
 *     rebalance (its buffered records are still owed to the pipeline);
 *   - else the later of the position stored in LMDB and the end of what it handed out before
 *     (records in flight in the pipeline will be stored);
 *   - else the group's committed offset, else the earliest record.
 * kafkajs applies a seek before its next fetch and drops fetches that raced it; the buffer also
 * refuses anything before a partition's resume point, so nothing is handed out twice.
 *
 * Backpressure: eachBatch only buffers; fetching pauses when the buffer holds `highWaterMark`
 * records and resumes when `poll` has drained it to half. Kafka offsets are committed after
 * each LMDB commit, in the background, only so that lag shows in ordinary tools.
 *
 * A broker that goes away mid-stream makes kafkajs retry, then restart the consumer with backoff
 * (it logs both); `health()` says so meanwhile. Errors kafkajs will not retry make `poll` reject.
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Positions, RawRecord, RatingSource } from '../transport.js';
import { DEFAULT_RETRY, writeToStderr, type KafkaLog } from './client.js';
import { topicNames, type KafkaSettings } from './config.js';
import { explainKafkaError } from './errors.js';
import { ConnectionHealth, type KafkaHealth } from './health.js';
import { RecordBuffer } from './record-buffer.js';

/** Long-poll of one fetch; also how soon a resumed or seeked partition is fetched again. */
const FETCH_WAIT_MS = 500;
/** Healthy consumers fetch every FETCH_WAIT_MS at most; this much silence means trouble. */
const STALE_AFTER_MS = 20_000;
const EMPTY_VALUE = new Uint8Array(0);

export interface KafkaSourceOptions {
  /** Records buffered before fetching pauses (default 10 000); it resumes at half. */
  readonly highWaterMark?: number;
  readonly log?: KafkaLog;
}

export class KafkaRatingSource implements RatingSource {
  readonly streamId: string;
  readonly topic: string;
  private readonly consumer: Consumer;
  private readonly buffer = new RecordBuffer();
  /** Offset after the last record handed to the pipeline, per partition (applied or in flight). */
  private readonly handedOut = new Map<number, number>();
  private readonly connection = new ConnectionHealth(STALE_AFTER_MS);
  private readonly highWaterMark: number;
  private readonly log: KafkaLog;
  private storedPosition: (partition: number) => number | undefined = () => undefined;
  private started = false;
  private closed = false;
  private paused = false;
  private fatal: Error | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly pendingCommits = new Map<number, number>();
  private commitFlush: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly settings: KafkaSettings,
    options: KafkaSourceOptions = {},
  ) {
    this.topic = topicNames(settings.topicPrefix).ratings;
    this.streamId = `kafka:${this.topic}`;
    this.highWaterMark = options.highWaterMark ?? 10_000;
    this.log = options.log ?? writeToStderr;
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      maxWaitTimeInMs: FETCH_WAIT_MS,
      allowAutoTopicCreation: false,
      retry: DEFAULT_RETRY,
    });
    const { GROUP_JOIN, FETCH, HEARTBEAT, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment[this.topic] ?? []));
    this.consumer.on(FETCH, () => this.connection.contact());
    this.consumer.on(HEARTBEAT, () => this.connection.contact());
    this.consumer.on(CRASH, (event) => this.onCrash(event.payload.error, event.payload.restart));
  }

  async start(storedPosition: (partition: number) => number | undefined): Promise<void> {
    if (this.started) throw new Error(`the Kafka source of ${this.topic} was started twice`);
    this.started = true;
    this.storedPosition = storedPosition;
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => this.accept(batch),
      });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      this.fail(explainKafkaError(error, this.errorContext(`starting to consume ${this.topic}`)));
    }
    if (this.fatal) throw this.fatal;
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null> {
    if (!this.started) throw new Error(`poll before start on the Kafka source of ${this.topic}`);
    if (this.closed) return null;
    if (this.fatal) throw this.fatal;
    if (this.buffer.length === 0 && maxWaitMs > 0) await this.arrival(maxWaitMs);
    if (this.closed) return null;
    if (this.fatal) throw this.fatal;
    const records = this.buffer.take(maxRecords);
    for (const record of records) this.handedOut.set(record.partition, record.offset + 1);
    this.applyFlowControl();
    return records;
  }

  async committed(positions: Positions): Promise<void> {
    if (this.closed) return;
    for (const [partition, offset] of positions) this.pendingCommits.set(partition, offset);
    this.scheduleCommit();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    try {
      while (this.commitFlush) await this.commitFlush;
      await this.flushCommits();
    } finally {
      await this.consumer.disconnect().catch(() => undefined);
      this.connection.disconnected();
    }
  }

  health(): KafkaHealth {
    return this.connection.snapshot();
  }

  isConnected(): boolean {
    return this.connection.snapshot().connected;
  }

  /** Records fetched and waiting for `poll`. */
  bufferedRecords(): number {
    return this.buffer.length;
  }

  /** Partitions of the ratings topic this worker holds now. */
  assignment(): number[] {
    return this.buffer.assignedPartitions();
  }

  /** Called synchronously inside kafkajs's join, before it fetches for the new assignment. */
  private onAssignment(partitions: readonly number[]): void {
    try {
      this.buffer.assign(partitions);
      for (const partition of partitions) {
        const kept = this.buffer.nextOffset(partition);
        const resumeAt = kept ?? this.resumePoint(partition);
        if (resumeAt === undefined) continue;
        this.consumer.seek({ topic: this.topic, partition, offset: String(resumeAt) });
        if (kept === undefined) this.buffer.seek(partition, resumeAt);
      }
      this.connection.contact();
      this.applyFlowControl();
    } catch (error) {
      // A throw here would only be logged by kafkajs, and the partitions would start unseeked.
      this.fail(explainKafkaError(error, this.errorContext('resuming assigned partitions')));
    }
  }

  private resumePoint(partition: number): number | undefined {
    const stored = this.storedPosition(partition);
    const handedOut = this.handedOut.get(partition);
    if (stored === undefined) return handedOut;
    return handedOut === undefined ? stored : Math.max(stored, handedOut);
  }

  private accept(batch: EachBatchPayload['batch']): void {
    if (batch.topic !== this.topic || this.closed) return;
    const records: RawRecord[] = batch.messages.map((message) => ({
      partition: batch.partition,
      offset: Number(message.offset),
      key: message.key === null || message.key === undefined ? null : message.key.toString('utf8'),
      value: message.value ?? EMPTY_VALUE,
      origin: this.topic,
    }));
    this.buffer.add(batch.partition, records);
    this.connection.contact();
    this.wake();
    this.applyFlowControl();
  }

  private onCrash(error: Error, restarting: boolean): void {
    const explained = explainKafkaError(error, this.errorContext(`consuming ${this.topic}`));
    this.connection.failed(explained.message);
    // The consumer has left the group: nothing it buffered is assigned any more.
    this.buffer.clear();
    if (!restarting) this.fail(explained);
  }

  private fail(error: Error): void {
    this.fatal ??= error;
    this.wake();
  }

  private applyFlowControl(): void {
    const pause = this.buffer.length >= this.highWaterMark || (this.paused && this.buffer.length > this.highWaterMark / 2);
    if (pause === this.paused) return;
    try {
      if (pause) this.consumer.pause([{ topic: this.topic }]);
      else this.consumer.resume([{ topic: this.topic }]);
      this.paused = pause;
    } catch {
      // Not running (restarting after a crash): the next assignment applies the state again.
    }
  }

  private arrival(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private scheduleCommit(): void {
    if (this.commitFlush) return;
    this.commitFlush = this.flushCommits().finally(() => {
      this.commitFlush = undefined;
      if (this.pendingCommits.size > 0 && !this.closed) this.scheduleCommit();
    });
  }

  /** Commit the newest positions of the partitions still assigned; failures only delay lag figures. */
  private async flushCommits(): Promise<void> {
    while (this.pendingCommits.size > 0) {
      const offsets = [...this.pendingCommits]
        .filter(([partition]) => this.buffer.isAssigned(partition))
        .map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) }));
      this.pendingCommits.clear();
      if (offsets.length === 0) continue;
      try {
        await this.consumer.commitOffsets(offsets);
      } catch (error) {
        const explained = explainKafkaError(error, this.errorContext(`committing offsets of group ${this.settings.groupId}`));
        this.log(`kafka warn: ${explained.message} (positions are safe in the state store; only lag reporting lags)`);
      }
    }
  }

  private errorContext(doing: string) {
    return {
      brokers: this.settings.brokers,
      doing,
      topics: [this.topic],
      groupId: this.settings.groupId,
      sasl: this.settings.sasl,
    };
  }
}
