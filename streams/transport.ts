/**
 * The transport seam. The pipeline pulls micro-batches of raw records from a RatingSource and
 * hands its outputs to sinks; the embedded in-process log and Kafka are two implementations.
 *
 * Positions: a record sits at (partition, offset). The pipeline stores, per partition, the next
 * offset to read in the same LMDB transaction as the model deltas; a source must resume from
 * exactly those positions (`start`, and again on every partition assignment for Kafka).
 */
import type { RejectionKind } from '../src/events/rating.js';
import type { SimilarItemsList } from '../src/recommender.js';

export interface RawRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** Wire bytes (JSON), or an already-decoded candidate event from a local file. */
  readonly value: Uint8Array | string | object;
  /** Where the record came from, for dead letters: 'u.data:17', 'rxrec.ratings'. */
  readonly origin?: string;
  /** A reason the record is known bad before decoding (e.g. a malformed dataset line). */
  readonly malformed?: string;
  /** The kind of that rejection, for the metrics ('malformed_line' when absent). */
  readonly rejection?: RejectionKind;
  /** The rating scale its producer stated (a Kafka record header written by `rxrec produce`). */
  readonly scale?: string;
  /** When the record entered the log (epoch ms): the start of event-to-publish latency. */
  readonly appendedAt?: number;
}

/** Next offset to read, per partition. */
export type Positions = ReadonlyMap<number, number>;

export interface RatingSource {
  /** Names the stream, so stored positions are never applied to another stream. */
  readonly streamId: string;
  /** Topic (or file) name used in dead letters. */
  readonly topic: string;
  /**
   * Begin reading. `storedPosition(p)` gives the next offset stored in LMDB for partition p, or
   * undefined for a partition this state has never seen.
   */
  start(storedPosition: (partition: number) => number | undefined): Promise<void>;
  /**
   * Up to `maxRecords` records, waiting at most `maxWaitMs` for them to arrive: a micro-batch
   * bounded by size and by time. Resolves [] when nothing arrived in time, null at end of stream.
   */
  poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null>;
  /** Called after a batch's LMDB transaction committed `positions`. */
  committed(positions: Positions): Promise<void>;
  close(): Promise<void>;
}

export interface RecommendedItem {
  readonly itemId: string;
  readonly score: number;
  /** Why this item is in the list, in a few words (e.g. 'mf score', 'similar to 50'). */
  readonly why: string;
}

/** Value of the recommendations topic (key = userId). */
export interface RecommendationList {
  readonly userId: string;
  readonly items: readonly RecommendedItem[];
  readonly model: string;
  /** 'partition:offset' of the last record applied before this list was computed. */
  readonly sourceOffset: string;
  readonly eventTs: number;
  readonly publishedAt: number;
}

/** Value of the dead-letter topic (key = original key). */
export interface DeadLetter {
  readonly reason: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly origin?: string;
  readonly key: string | null;
  /** Original bytes as UTF-8 text, or base64 when they are not valid UTF-8; only their start when too long (see rawBytes). */
  readonly raw: string;
  /** Size of the original value in bytes, when `raw` holds only its start (streams/dead-letter.ts bounds a letter). */
  readonly rawBytes?: number;
  /** Size of the original key in bytes, when `key` holds only its start. */
  readonly keyBytes?: number;
}

/** Value of the similar-items topic (key = itemId). */
export type SimilarItems = SimilarItemsList;

export interface RecommendationSink {
  publish(lists: readonly RecommendationList[]): Promise<void>;
  close(): Promise<void>;
}

export interface SimilarItemsSink {
  publish(lists: readonly SimilarItems[]): Promise<void>;
  close(): Promise<void>;
}

export interface DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
}
