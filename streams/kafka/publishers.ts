/**
 * What `rxrec produce` writes: rating events (key userId, so one user's events stay in order on
 * one partition) and the catalogue's metadata on the compacted items and users topics. Fields a
 * dataset does not have are left out of the JSON (JSON.stringify drops undefined).
 */
import type { ItemRow, UserRow } from '../../src/datasets/rows.js';
import { encodeRating, type RatingEvent } from '../../src/events/rating.js';
import type { RatingScale } from '../../src/events/scale.js';
import { TopicWriter, type KeyedValue, type SharedProducer } from './producer.js';

export class RatingPublisher extends TopicWriter<RatingEvent> {
  constructor(producer: SharedProducer, topic: string) {
    super(producer, topic, (event) => ratingRecord(event));
  }

  /** Resolves once every event is acknowledged by all in-sync replicas. */
  publish(events: readonly RatingEvent[]): Promise<void> {
    return this.write(events);
  }

  /**
   * Records in order as they are: encoded events (see `ratingRecord`) mixed with bytes that are
   * no event at all (a malformed dataset line goes out as-is, for the worker's dead-letter topic).
   */
  publishRecords(records: readonly KeyedValue[]): Promise<void> {
    return this.writeRecords(records);
  }
}

/**
 * The record header that names the rating scale of the dataset a record was produced from. A
 * worker validating against another scale would send a quarter of a half-star stream to the dlq
 * as off its scale; it stops at the first record with this header that differs instead.
 */
export const SCALE_HEADER = 'rxrec-scale';

/** A rating event as the ratings topic carries it: key userId, value the event's JSON, the scale in a header when known. */
export function ratingRecord(event: RatingEvent, scale?: RatingScale): KeyedValue {
  const record = { key: event.userId, value: encodeRating(event) };
  return scale === undefined ? record : { ...record, headers: { [SCALE_HEADER]: scale.name } };
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
