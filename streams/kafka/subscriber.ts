/**
 * Reading output topics as they change, for `rxrec subscribe` and for checking what the sinks
 * wrote. Each subscription is its own consumer group and commits nothing, so every subscriber
 * sees every record and leaves no offsets behind.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { KafkaSettings } from './config.js';
import { explainKafkaError, KafkaError } from './errors.js';

export interface SubscribedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** The value as UTF-8 text (JSON in the contract), null for a tombstone. */
  readonly value: string | null;
}

export interface SubscribeOptions {
  readonly topics: readonly string[];
  /** Read each topic from its start (a compacted topic then replays the latest value per key). */
  readonly fromBeginning: boolean;
}

export class TopicSubscription {
  private constructor(private readonly consumer: Consumer) {}

  static async open(
    kafka: Kafka,
    settings: KafkaSettings,
    options: SubscribeOptions,
    onRecord: (record: SubscribedRecord) => void,
  ): Promise<TopicSubscription> {
    await assertTopicsExist(kafka, settings, options.topics);
    const groupId = `${settings.topicPrefix}subscriber-${randomUUID()}`;
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) =>
          onRecord({
            topic,
            partition,
            offset: Number(message.offset),
            key: message.key?.toString('utf8') ?? null,
            value: message.value?.toString('utf8') ?? null,
          }),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw explainKafkaError(error, { brokers: settings.brokers, doing: 'subscribing', topics: options.topics, groupId, sasl: settings.sasl });
    }
    return new TopicSubscription(consumer);
  }

  close(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** A missing topic is one clear error at once (kafkajs would retry its metadata for seconds). */
async function assertTopicsExist(kafka: Kafka, settings: KafkaSettings, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  let existing: Set<string>;
  try {
    await admin.connect();
    existing = new Set(await admin.listTopics());
  } catch (error) {
    throw explainKafkaError(error, { brokers: settings.brokers, doing: 'listing topics', topics, sasl: settings.sasl });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.length > 0) {
    throw new KafkaError(
      `topic(s) ${missing.join(', ')} do not exist at ${settings.brokers.join(',')}: rxrec creates its topics when a worker (rxrec serve) or rxrec produce first starts; or check --topic-prefix / RXREC_TOPIC_PREFIX`,
    );
  }
}
