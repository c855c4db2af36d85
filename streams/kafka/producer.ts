/**
 * One idempotent producer per process, shared by the sinks and publishers: acks from all in-sync
 * replicas, one request in flight (kafkajs keeps idempotent sequence numbers in order only
 * then), and retries, so a broker that goes away mid-stream stalls the sends (and so the
 * pipeline) until it is back instead of losing or duplicating records. kafkajs retries a request
 * itself for a while; when it gives up on an unreachable cluster, the same request is sent again
 * after a pause, for as long as it takes: kafkajs has rolled the sequence numbers back, so the
 * broker recognises a batch it already appended and does not append it twice. Keys are hashed
 * like the Java client does, so every client puts a user on the same partition.
 */
import kafkajs, { type Kafka, type Message, type Producer } from 'kafkajs';
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
  private connecting: Promise<void> | undefined;
  private holders = 0;
  private pendingSends = 0;
  private sendingSince: number | undefined;
  private readonly connection = new ConnectionHealth(Number.POSITIVE_INFINITY);

  constructor(
    kafka: Kafka,
    private readonly settings: KafkaSettings,
    private readonly log: KafkaLog = writeToStderr,
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
    this.connecting ??= this.producer.connect().then(
      () => this.connection.contact(),
      (error: unknown) => {
        this.connecting = undefined;
        const explained = explainKafkaError(error, { brokers: this.settings.brokers, doing: 'connecting the producer', sasl: this.settings.sasl });
        this.connection.failed(explained.message);
        throw explained;
      },
    );
    return this.connecting;
  }

  /** Send records to one topic and wait until all in-sync replicas have them. */
  async send(topic: string, records: readonly KeyedValue[]): Promise<void> {
    if (records.length === 0) return;
    await this.connect();
    if (this.pendingSends++ === 0) this.sendingSince = Date.now();
    try {
      for (const messages of requests(records)) await this.sendUntilDelivered(topic, messages);
    } finally {
      if (--this.pendingSends === 0) this.sendingSince = undefined;
    }
  }

  private async sendUntilDelivered(topic: string, messages: Message[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send({ topic, messages, acks: -1 });
        if (attempt > 0) this.log(`kafka info: delivered to ${topic} again after ${attempt} failed attempt${attempt > 1 ? 's' : ''}`);
        this.connection.contact();
        return;
      } catch (error) {
        const explained = explainKafkaError(error, { brokers: this.settings.brokers, doing: `sending to ${topic}`, topics: [topic], sasl: this.settings.sasl });
        this.connection.failed(explained.message);
        if (!(explained instanceof KafkaUnavailableError)) throw explained;
        const pause = Math.min(RESEND_PAUSE_MS.max, RESEND_PAUSE_MS.first * 2 ** attempt);
        this.log(`kafka warn: ${explained.message}; sending again in ${pause / 1000} s (idempotent: nothing is written twice)`);
        await sleep(pause);
      }
    }
  }

  health(): KafkaHealth {
    const health = this.connection.snapshot();
    const stalled = this.sendingSince !== undefined && Date.now() - this.sendingSince > SEND_STALLED_AFTER_MS;
    return stalled ? { ...health, connected: false } : health;
  }
}

/** The records in order, cut into produce requests of at most MAX_REQUEST_BYTES. */
function* requests(records: readonly KeyedValue[]): Generator<Message[]> {
  let messages: Message[] = [];
  let bytes = 0;
  for (const { key, value, headers } of records) {
    const size = Buffer.byteLength(value) + (key === null ? 0 : Buffer.byteLength(key)) + headerBytes(headers);
    if (messages.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      yield messages;
      messages = [];
      bytes = 0;
    }
    messages.push(headers === undefined ? { key, value } : { key, value, headers: { ...headers } });
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
