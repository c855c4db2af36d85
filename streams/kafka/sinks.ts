/**
 * The pipeline's outputs on Kafka, in the topic contract's shapes: top-k lists (key userId) and
 * neighbour lists (key itemId) on compacted topics, so a re-published list simply replaces the
 * older one, and dead letters (key = the rejected record's key) on the delete-policy dlq.
 */
import type { DeadLetter, DeadLetterSink, RecommendationList, RecommendationSink, SimilarItems, SimilarItemsSink } from '../transport.js';
import { TopicWriter, type SharedProducer } from './producer.js';

export class KafkaRecommendationSink extends TopicWriter<RecommendationList> implements RecommendationSink {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, (list) => ({ key: list.userId, value: JSON.stringify(recommendationValue(list)) }));
  }

  publish(lists: readonly RecommendationList[]): Promise<void> {
    return this.write(lists);
  }
}

export class KafkaSimilarItemsSink extends TopicWriter<SimilarItems> implements SimilarItemsSink {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, (list) => ({ key: list.itemId, value: JSON.stringify(similarItemsValue(list)) }));
  }

  publish(lists: readonly SimilarItems[]): Promise<void> {
    return this.write(lists);
  }
}

export class KafkaDeadLetterSink extends TopicWriter<DeadLetter> implements DeadLetterSink {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, (letter) => ({ key: letter.key, value: JSON.stringify(deadLetterValue(letter)) }));
  }

  send(letters: readonly DeadLetter[]): Promise<void> {
    return this.write(letters);
  }
}

/** Only the contract's fields, in its order, whatever else the object carries. */
function recommendationValue(list: RecommendationList): RecommendationList {
  return {
    userId: list.userId,
    items: list.items.map(({ itemId, score, why }) => ({ itemId, score, why })),
    model: list.model,
    sourceOffset: list.sourceOffset,
    eventTs: list.eventTs,
    publishedAt: list.publishedAt,
  };
}

function similarItemsValue(list: SimilarItems): SimilarItems {
  return {
    itemId: list.itemId,
    neighbours: list.neighbours.map(({ itemId, sim, support }) => ({ itemId, sim, support })),
  };
}

/**
 * The contract's fields, the key included (it is also the message key); `origin` is left out when
 * unknown, `rawBytes` and `keyBytes` when nothing was cut (JSON drops undefined).
 */
function deadLetterValue({ reason, topic, partition, offset, origin, key, raw, rawBytes, keyBytes }: DeadLetter): DeadLetter {
  return { reason, topic, partition, offset, origin, key, raw, rawBytes, keyBytes };
}
