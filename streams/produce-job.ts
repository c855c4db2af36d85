/**
 * A MovieLens-shaped dataset onto Kafka: the item and user metadata on their compacted topics,
 * then the ratings in timestamp order (the embedded replay's order and pacing, ReplayLog), key
 * userId, so each user's events reach one partition in order.
 *
 * Sends are batched (up to `batchSize` records per send, cut into requests under the broker's
 * limit) on the idempotent producer (acks from all in-sync replicas, one request in flight,
 * retries without duplicates), so a broker restart mid-run neither loses nor doubles a record.
 *
 * A malformed line of the ratings file (one the rating validator rejects included) is published
 * as-is (its original bytes, no key): it reaches the worker like any bad message, and the worker
 * puts it on the dead-letter topic with the reason and the original bytes. Every rating record
 * carries the dataset's scale in a header (SCALE_HEADER), so a worker running with another scale
 * stops at once instead of rejecting the ratings it cannot place. Running produce twice
 * publishes the stream twice.
 */
import { isMalformed, type Dataset, type ItemRow, type MalformedRow, type UserRow } from '../src/datasets/rows.js';
import type { KafkaLog } from './kafka/client.js';
import type { KafkaSettings } from './kafka/config.js';
import { openProduceTransport } from './kafka/open.js';
import type { KeyedValue } from './kafka/producer.js';
import { ratingRecord } from './kafka/publishers.js';
import type { Pacing } from './embedded/pacing.js';
import { ReplayLog } from './embedded/replay-log.js';
import type { RawRecord } from './transport.js';
import type { RatingEvent } from '../src/events/rating.js';
import type { RatingScale } from '../src/events/scale.js';

export interface ProduceOptions {
  readonly settings: KafkaSettings;
  readonly dataset: Dataset;
  readonly pacing: Pacing;
  /** Most records per send. */
  readonly batchSize: number;
  /** Publish items and users first (default true). */
  readonly metadata?: boolean;
  readonly log?: KafkaLog;
  /** Abort to stop after the send in flight; the summary counts what was acknowledged. */
  readonly stop?: AbortSignal;
  readonly onStart?: (info: { readonly total: number; readonly topic: string; readonly created: readonly string[] }) => void;
  /** After each acknowledged send of ratings. */
  readonly onProgress?: (sent: number, total: number) => void;
}

export interface ProduceSummary {
  readonly topic: string;
  readonly items: number;
  readonly users: number;
  /** Ratings records published, malformed lines included. */
  readonly ratings: number;
  /** Malformed lines of the ratings file published as-is. */
  readonly malformed: number;
  /** Lines of the item and user files that could not be read (reported, not published). */
  readonly skippedMetadata: number;
  readonly total: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

export async function produce(options: ProduceOptions): Promise<ProduceSummary> {
  const transport = await openProduceTransport(options.settings, options.log);
  try {
    let items = 0;
    let users = 0;
    let skippedMetadata = 0;
    if (options.metadata ?? true) {
      const itemRows = await publishAll(options.dataset.items(), options.batchSize, (rows: ItemRow[]) => transport.items.publish(rows));
      const userRows = await publishAll(options.dataset.users(), options.batchSize, (rows: UserRow[]) => transport.users.publish(rows));
      items = itemRows.published;
      users = userRows.published;
      skippedMetadata = itemRows.malformed + userRows.malformed;
    }

    const log = await ReplayLog.load(options.dataset, options.pacing);
    await log.start(() => undefined);
    options.onStart?.({ total: log.length, topic: transport.topics.ratings, created: transport.created });
    const started = performance.now();
    let ratings = 0;
    let malformed = 0;
    for (;;) {
      if (options.stop?.aborted) break;
      const records = await log.poll(options.batchSize, 100);
      if (records === null) break;
      if (records.length === 0) continue;
      await transport.ratings.publishRecords(records.map((record) => wireRecord(record, options.dataset.scale)));
      ratings += records.length;
      malformed += records.filter((record) => record.malformed !== undefined).length;
      options.onProgress?.(ratings, log.length);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      topic: transport.topics.ratings,
      items,
      users,
      ratings,
      malformed,
      skippedMetadata,
      total: log.length,
      seconds,
      eventsPerSecond: seconds > 0 ? ratings / seconds : 0,
    };
  } finally {
    await transport.close();
  }
}

/** A replayed record as the ratings topic carries it, with the dataset's scale; a malformed line as its original bytes. */
function wireRecord(record: RawRecord, scale: RatingScale): KeyedValue {
  if (record.malformed !== undefined) return { key: record.key, value: Buffer.from(record.value as Uint8Array) };
  return ratingRecord(record.value as RatingEvent, scale);
}

async function publishAll<T extends object>(
  rows: AsyncIterable<T | MalformedRow>,
  batchSize: number,
  publish: (rows: T[]) => Promise<void>,
): Promise<{ published: number; malformed: number }> {
  let batch: T[] = [];
  let published = 0;
  let malformed = 0;
  for await (const row of rows) {
    if (isMalformed(row)) {
      malformed++;
      continue;
    }
    batch.push(row);
    if (batch.length >= batchSize) {
      await publish(batch);
      published += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) await publish(batch);
  return { published: published + batch.length, malformed };
}
