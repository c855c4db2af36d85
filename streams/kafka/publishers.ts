/**
 * What `rxrec produce` writes: rating events (key userId, so one user's events stay in order on
 * one partition) and the catalogue's metadata on the compacted items and users topics. Fields a
 * dataset does not have are left out of the JSON (JSON.stringify drops undefined).
 */
import type { ItemRow, UserRow } from '../../src/datasets/rows.js';
import { encodeRating, type RatingEvent } from '../../src/events/rating.js';
import { TopicWriter, type SharedProducer } from './producer.js';

export class RatingPublisher extends TopicWriter<RatingEvent> {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, (event) => ({ key: event.userId, value: encodeRating(event) }));
  }

  /** Resolves once every event is acknowledged by all in-sync replicas. */
  publish(events: readonly RatingEvent[]): Promise<void> {
    return this.write(events);
  }
}

export class ItemPublisher extends TopicWriter<ItemRow> {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, ({ itemId, title, genres, year }) => ({ key: itemId, value: JSON.stringify({ itemId, title, genres, year }) }));
  }

  publish(items: readonly ItemRow[]): Promise<void> {
    return this.write(items);
  }
}

export class UserPublisher extends TopicWriter<UserRow> {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, ({ userId, age, gender, occupation, zip }) => ({
      key: userId,
      value: JSON.stringify({ userId, age, gender, occupation, zip }),
    }));
  }

  publish(users: readonly UserRow[]): Promise<void> {
    return this.write(users);
  }
}
