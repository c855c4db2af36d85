/**
 * One idempotent producer per process, shared by the sinks and publishers: acks from all in-sync
 * replicas, one request in flight (kafkajs keeps idempotent sequence numbers in order only
 * then), and retries, so a broker that goes away mid-stream stalls the sends (and so the
 * pipeline) until it is back instead of losing or duplicating records. kafkajs retries a request
 * itself for a while; when it gives up on an unreachable cluster, the same request is sent again
 * after a pause, for as long as it takes: kafkajs has rolled the sequence numbers back, so the
 * broker recognises a batch it already appended and does not append it twice. Keys are hashed
 * like the Java client does, so every client puts a user on the same partition.
 *
 * Each kafkajs send carries one partition's records. kafkajs 2.2.4 keeps, across the retries of
 * one send, the answer of every broker that answered: when a partition's leader moves to a
 * broker that already acknowledged the send's other partitions, the retry skips that broker and
 * the partition's records are lost while the send resolves (tulios/kafkajs#1303; seen here when
 * a broker of a three-node cluster stopped: 16 records of one partition gone). With one
 * partition per send, the only answer kept is the one for these records.
 */
import type { Kafka, Message, PartitionMetadata, Producer } from 'kafkajs';
import kafkajs from './kafkajs.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RETRY, writeToStderr, type KafkaLog } from './client.js';
import type { KafkaSettings } from './config.js';
import { explainKafkaError, KafkaUnavailableError } from './errors.js';
import { ConnectionHealth, type KafkaHealth } from './health.js';

/** A send that has not been acknowledged for this long means the broker is unreachable. */
const SEND_STALLED_AFTER_MS = 15_000;
/**
 * Bytes of keys and values per produce request. The broker caps one partition's batch at 1 MB by
 * default (message.max.bytes); a request under half that fits even when every record of it goes
 * to one partition.
 */
const MAX_REQUEST_BYTES = 512 * 1024;
/** How long the producer's connect is tried again while the cluster cannot be reached. */
const CONNECT_BUDGET_MS = 30_000;
/** Pause before sending a request again after kafkajs gave up on the cluster: doubling, capped. */
const RESEND_PAUSE_MS = { first: 1_000, max: 10_000 };

export interface KeyedValue {
  readonly key: string | null;
  /** JSON text, or bytes sent as they are (a malformed dataset line). */
  readonly value: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export class SharedProducer {
  private readonly producer: Producer;
  /** The partitioner kafkajs would apply, applied here to split a send by partition. */
  private readonly partitioner = kafkajs.Partitioners.DefaultPartitioner();
  private readonly partitionCounts = new Map<string, number>();
  private connecting: Promise<void> | undefined;
  private holders = 0;
  private pendingSends = 0;
  private sendingSince: number | undefined;
  private readonly connection = new ConnectionHealth(Number.POSITIVE_INFINITY);

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
    private readonly log: KafkaLog = writeToStderr,
    /** How long connecting is tried again while the cluster cannot be reached (see connectWithin). */
    private readonly connectBudgetMs = CONNECT_BUDGET_MS,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      // Connecting stays bounded (the client's retry); a request is retried until the broker is back.
      retry: { ...DEFAULT_RETRY, retries: Number.MAX_SAFE_INTEGER },
    });
  }

  /** Call `listener` at each produce request that timed out (the worker counts them). */
  onRequestTimeout(listener: () => void): void {
    this.producer.on(this.producer.events.REQUEST_TIMEOUT, listener);
  }

  /** Count a user (sink or publisher); the producer disconnects when the last one releases it. */
  retain(): this {
    this.holders++;
    return this;
  }

  async release(): Promise<void> {
    this.holders--;
    if (this.holders > 0 || this.connecting === undefined) return;
    const connecting = this.connecting;
    this.connecting = undefined;
    await connecting.catch(() => undefined);
    await this.producer.disconnect();
    this.connection.disconnected();
  }

  connect(): Promise<void> {
    this.connecting ??= this.connectWithin(this.connectBudgetMs).catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  /**
   * kafkajs's connect (its own retries), again after a pause while the cluster cannot be reached,
   * for up to `budgetMs`: a broker of several that just stopped is still in the metadata for
   * seconds (until the controller fences it), and kafkajs's few retries may all pick it. Other
   * errors are thrown at once. A connect that fails leaves no socket open, so a command that
   * reports it can exit.
   */
  private async connectWithin(budgetMs: number): Promise<void> {
    const since = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.connect();
        this.connection.contact();
        if (attempt > 0) this.log(`kafka info: the producer connected after ${attempt} failed attempt${attempt > 1 ? 's' : ''}`);
        return;
      } catch (error) {
        const explained = explainKafkaError(error, { brokers: this.settings.brokers, doing: 'connecting the producer', sasl: this.settings.sasl });
        this.connection.failed(explained.message);
        await this.producer.disconnect().catch(() => undefined);
        const pause = Math.min(RESEND_PAUSE_MS.max, RESEND_PAUSE_MS.first * 2 ** attempt);
        if (!(explained instanceof KafkaUnavailableError) || performance.now() - since + pause > budgetMs) throw explained;
        this.log(`kafka warn: ${explained.message}; trying again in ${pause / 1000} s`);
        await sleep(pause);
      }
    }
  }

  /** Send records to one topic and wait until all in-sync replicas have them. */
  async send(topic: string, records: readonly KeyedValue[]): Promise<void> {
    if (records.length === 0) return;
    await this.connect();
    if (this.pendingSends++ === 0) this.sendingSince = Date.now();
    try {
      const partitions = await this.untilAnswered(`reading the partitions of ${topic}`, topic, () => this.partitionCount(topic));
      const byPartition = this.byPartition(topic, partitions, records);
      // Partitions in parallel (the leaders may differ), each partition's records in order.
      await Promise.all(
        [...byPartition].map(async ([partition, inPartition]) => {
          for (const messages of requests(inPartition, partition)) {
            await this.untilAnswered(`sending to ${topic}`, topic, () => this.producer.send({ topic, messages, acks: -1 }));
          }
        }),
      );
    } finally {
      if (--this.pendingSends === 0) this.sendingSince = undefined;
    }
  }

  /** `request` until it is answered, again after a pause while the cluster is unreachable. */
  private async untilAnswered<T>(doing: string, topic: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await request();
        if (attempt > 0) this.log(`kafka info: ${doing} succeeded again after ${attempt} failed attempt${attempt > 1 ? 's' : ''}`);
        this.connection.contact();
        return answer;
      } catch (error) {
        const explained = explainKafkaError(error, { brokers: this.settings.brokers, doing, topics: [topic], sasl: this.settings.sasl });
        this.connection.failed(explained.message);
        if (!(explained instanceof KafkaUnavailableError)) throw explained;
        const pause = Math.min(RESEND_PAUSE_MS.max, RESEND_PAUSE_MS.first * 2 ** attempt);
        this.log(`kafka warn: ${explained.message}; trying again in ${pause / 1000} s (idempotent: nothing is written twice)`);
        await sleep(pause);
      }
    }
  }

  /** Partitions of a topic rxrec writes to; read once (the contract never adds partitions to a topic in use). */
  private async partitionCount(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count === 0) throw new Error(`no partitions of ${topic} in the cluster's metadata`);
      this.partitionCounts.set(topic, count);
      return count;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The records per partition, in order, as kafkajs's partitioner would place them. */
  private byPartition(topic: string, partitions: number, records: readonly KeyedValue[]): Map<number, KeyedValue[]> {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }) as PartitionMetadata);
    const grouped = new Map<number, KeyedValue[]>();
    for (const record of records) {
      const partition = this.partitioner({ topic, partitionMetadata, message: { key: record.key, value: null } });
      const inPartition = grouped.get(partition);
      if (inPartition) inPartition.push(record);
      else grouped.set(partition, [record]);
    }
    return grouped;
  }

  health(): KafkaHealth {
    const health = this.connection.snapshot();
    const stalled = this.sendingSince !== undefined && Date.now() - this.sendingSince > SEND_STALLED_AFTER_MS;
    return stalled ? { ...health, connected: false } : health;
  }
}

/** The records in order, cut into produce requests of at most MAX_REQUEST_BYTES, for one partition. */
function* requests(records: readonly KeyedValue[], partition: number): Generator<Message[]> {
  let messages: Message[] = [];
  let bytes = 0;
  for (const { key, value, headers } of records) {
    const size = Buffer.byteLength(value) + (key === null ? 0 : Buffer.byteLength(key)) + headerBytes(headers);
    if (messages.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      yield messages;
      messages = [];
      bytes = 0;
    }
    messages.push(headers === undefined ? { key, value, partition } : { key, value, partition, headers: { ...headers } });
    bytes += size;
  }
  if (messages.length > 0) yield messages;
}

function headerBytes(headers: KeyedValue['headers']): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers ?? {})) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** Values of one kind to one topic, each made a keyed record by `toRecord`. */
export class TopicWriter<T> {
  private readonly producer: SharedProducer;
  private closed = false;

  constructor(
    producer: SharedProducer,
    readonly topic: string,
    private readonly toRecord: (value: T) => KeyedValue,
  ) {
    this.producer = producer.retain();
  }

  protected write(values: readonly T[]): Promise<void> {
    return this.producer.send(this.topic, values.map(this.toRecord));
  }

  /** Records already keyed and encoded, as they are. */
  protected writeRecords(records: readonly KeyedValue[]): Promise<void> {
    return this.producer.send(this.topic, records);
  }

  /** Releases this writer's hold on the shared producer; closing twice releases once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.release();
  }
}
