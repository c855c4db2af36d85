/**
 * The Kafka transport assembled for the commands: topics checked (created when missing), then
 * the ratings source and the sinks of `rxrec serve`, or the publishers of `rxrec produce`, each
 * set on one shared producer.
 */
import type { Kafka, RetryOptions } from 'kafkajs';
import { kafkaClient, type KafkaLog } from './client.js';
import { topicNames, type KafkaSettings, type TopicNames } from './config.js';
import type { KafkaHealth } from './health.js';
import { SharedProducer } from './producer.js';
import { ItemPublisher, RatingPublisher, UserPublisher } from './publishers.js';
import { KafkaDeadLetterSink, KafkaRecommendationSink, KafkaSimilarItemsSink } from './sinks.js';
import { KafkaRatingSource, type KafkaSourceOptions } from './source.js';
import { ensureTopics, scaleOutTopicSpecs, topicSpecs } from './topics.js';
import { CatalogueLog } from './catalogue.js';
import { ModelUpdates } from './model-updates.js';
import type { Catalog } from '../../src/catalog.js';

export interface KafkaServeTransport {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  /** Topics this start created (empty when they all existed). */
  readonly created: readonly string[];
  readonly source: KafkaRatingSource;
  readonly recommendations: KafkaRecommendationSink;
  readonly similarItems: KafkaSimilarItemsSink;
  readonly deadLetters: KafkaDeadLetterSink;
  health(): { readonly consumer: KafkaHealth; readonly producer: KafkaHealth };
  /**
   * serve --scale-out: read the shared catalogue into `catalog`, then the model updates, each to
   * its end, and follow both (their topics were checked with the others); closed with the transport.
   */
  openScaleOut(catalog: Catalog): Promise<{ readonly catalogue: CatalogueLog; readonly updates: ModelUpdates }>;
  /** Closes the source and the sinks (each may also be closed on its own). */
  close(): Promise<void>;
}

export interface KafkaProduceTransport {
  readonly kafka: Kafka;
  readonly topics: TopicNames;
  readonly created: readonly string[];
  readonly ratings: RatingPublisher;
  readonly items: ItemPublisher;
  readonly users: UserPublisher;
  /** Closes the three publishers. */
  close(): Promise<void>;
}

export interface ServeTransportOptions extends KafkaSourceOptions {
  /** Retries of the first contact (checking the topics), bounded by what is left of --connect-timeout. */
  readonly connectRetry?: RetryOptions;
  /** One of several workers forming one recommender: the catalogue and model-updates topics are checked (created when missing) too. */
  readonly scaleOut?: boolean;
}

export async function openServeTransport(settings: KafkaSettings, options: ServeTransportOptions = {}): Promise<KafkaServeTransport> {
  const specs = [...topicSpecs(settings), ...(options.scaleOut ? scaleOutTopicSpecs(settings) : [])];
  const { kafka, topics, created, producer } = await prepare(settings, options.log, options.connectRetry, specs);
  let catalogue: CatalogueLog | undefined;
  let updates: ModelUpdates | undefined;
  let retained = false;
  // Scaled out, a partition new to this worker waits until its users' state is restored from the changelog.
  const source = new KafkaRatingSource(kafka, settings, { ...options, restoreFirst: options.scaleOut, offsetsInTransactions: options.scaleOut });
  const observe = options.onClientEvent;
  if (observe) producer.onRequestTimeout(() => observe('producer_request_timeout'));
  const recommendations = new KafkaRecommendationSink(producer, topics.recs);
  const similarItems = new KafkaSimilarItemsSink(producer, topics.similarItems);
  const deadLetters = new KafkaDeadLetterSink(producer, topics.dlq);
  return {
    kafka,
    topics,
    created,
    source,
    recommendations,
    similarItems,
    deadLetters,
    health: () => ({ consumer: source.health(), producer: producer.health() }),
    openScaleOut: async (catalog) => {
      if (!options.scaleOut) throw new Error('the transport was opened without scaleOut');
      producer.retain();
      retained = true;
      catalogue = await CatalogueLog.open(kafka, settings, topics.catalogue, producer, catalog);
      updates = await ModelUpdates.open(kafka, settings, topics.modelUpdates);
      return { catalogue, updates };
    },
    close: async () => {
      try {
        await source.close();
      } finally {
        // Even when the source's close fails: a followed topic's consumer left open keeps restarting.
        await Promise.allSettled([catalogue?.close(), updates?.close()]);
        await Promise.all([recommendations.close(), similarItems.close(), deadLetters.close(), retained && producer.release()]);
      }
    },
  };
}

export async function openProduceTransport(settings: KafkaSettings, log?: KafkaLog): Promise<KafkaProduceTransport> {
  const { kafka, topics, created, producer } = await prepare(settings, log);
  const ratings = new RatingPublisher(producer, topics.ratings);
  const items = new ItemPublisher(producer, topics.items);
  const users = new UserPublisher(producer, topics.users);
  return {
    kafka,
    topics,
    created,
    ratings,
    items,
    users,
    close: async () => {
      await Promise.all([ratings.close(), items.close(), users.close()]);
    },
  };
}

/**
 * Fails early, with one clear line, on a wrong address, refused credentials or a bad topic. The
 * first contact (the admin) has its own client, so `connectRetry` bounds it alone: the source
 * and the producer keep the default retries for outages later on.
 */
async function prepare(settings: KafkaSettings, log?: KafkaLog, connectRetry?: RetryOptions, specs = topicSpecs(settings)) {
  const kafka = kafkaClient(settings, log);
  const admin = (connectRetry === undefined ? kafka : kafkaClient(settings, log, connectRetry)).admin();
  let created: string[];
  try {
    created = await ensureTopics(admin, settings, specs);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const producer = new SharedProducer(kafka, settings, log);
  await producer.connect();
  return { kafka, topics: topicNames(settings.topicPrefix), created, producer };
}
