/**
 * The model-updates topic: every worker's contributions to the shared parameters (part of
 * serve --scale-out; the rule is src/sharing/contributions.ts). A record is one slot's total
 * for one parameter: key `slot model key`, value the total as float64 bytes, header `at` (ms
 * when it was sent: the delay metric). The topic is compacted: the latest total per key is all
 * anyone needs, so a worker that starts reads the whole topic to learn what every slot has
 * contributed. Once compacted its size is bounded by slots × shared parameters, not by the
 * stream's length; the topic rolls a segment every 10 minutes (segment.ms) so that the cleaner
 * gets to it (Kafka never compacts the active segment).
 *
 * Updates are published in the batch's Kafka transaction, before its LMDB commit
 * (streams/kafka/user-changelog.ts), so a stored state never holds a change the others cannot see. What is read in between batches waits in
 * `pending`, the latest total per key (compacted in memory too), until `take` at the start of
 * the next batch (or an idle poll).
 */
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Contribution } from '../../src/sharing/contributions.js';
import type { KafkaSettings } from './config.js';
import { FollowedTopic } from './followed-topic.js';
import type { KeyedValue } from './producer.js';

/** The barrier record's model name and header (no model is named so: readers skip it). */
const BARRIER_MODEL = '~';
const BARRIER_HEADER = 'barrier';

export interface UpdateCounts {
  /** Records and bytes (keys and values) this worker sent, and records it read. */
  readonly sent: number;
  readonly sentBytes: number;
  readonly read: number;
}

export class ModelUpdates {
  private readonly followed: FollowedTopic;
  private pending = new Map<string, { readonly contribution: Contribution; readonly at: number }>();
  private readonly barriers = new Set<string>();
  private readonly counted = { sent: 0, sentBytes: 0, read: 0 };

  private constructor(
    kafka: Kafka,
    settings: KafkaSettings,
    private readonly topic: string,
  ) {
    this.followed = new FollowedTopic(kafka, settings, topic, (messages, partition) => this.read(messages, partition));
  }

  /** Read the topic to its end (`take` then holds every slot's latest totals) and follow it. */
  static async open(kafka: Kafka, settings: KafkaSettings, topic: string): Promise<ModelUpdates> {
    const updates = new ModelUpdates(kafka, settings, topic);
    await updates.followed.open();
    return updates;
  }

  counts(): UpdateCounts {
    return { ...this.counted };
  }

  /** The records of totals, for the batch's transaction (streams/kafka/user-changelog.ts; then `sent`). */
  records(contributions: readonly Contribution[]): { readonly records: KeyedValue[]; readonly bytes: number } {
    const at = String(Date.now());
    const records: KeyedValue[] = contributions.map(({ slot, model, key, total }) => ({
      key: `${slot} ${model} ${key}`,
      value: Buffer.from(total.buffer, total.byteOffset, total.byteLength),
      headers: { at },
    }));
    return { records, bytes: records.reduce((sum, { key, value }) => sum + Buffer.byteLength(key!) + value.length, 0) };
  }

  /** Count records sent by the caller of `records`. */
  sent(records: number, bytes: number): void {
    this.counted.sent += records;
    this.counted.sentBytes += bytes;
  }

  /** The latest totals read since the last call, with when each was sent. */
  take(): Array<{ readonly contribution: Contribution; readonly at: number }> {
    this.followed.check();
    const taken = [...this.pending.values()];
    this.pending = new Map();
    return taken;
  }

  /**
   * A record that marks a point of the topic (`barrier`): sent in a transaction, it is read back
   * only once every transaction before it has ended, so everything committed before it has been
   * read by then.
   */
  barrierRecord(slot: string, nonce: string): KeyedValue {
    return { key: `${slot} ${BARRIER_MODEL} barrier`, value: Buffer.alloc(0), headers: { at: String(Date.now()), [BARRIER_HEADER]: nonce } };
  }

  /** Resolves once the barrier record with `nonce` is read back. */
  untilBarrier(nonce: string): Promise<void> {
    return this.followed.until(() => this.barriers.has(nonce));
  }

  close(): Promise<void> {
    return this.followed.close();
  }

  private read(messages: readonly KafkaMessage[], partition: number): void {
    for (const message of messages) {
      const key = message.key?.toString('utf8');
      if (message.value === null || key === undefined) continue;
      const barrier = message.headers?.[BARRIER_HEADER];
      if (barrier !== undefined) {
        this.barriers.add(barrier.toString());
        continue;
      }
      const [slot, model, parameter, extra] = key.split(' ');
      if (!slot || !model || !parameter || extra !== undefined || message.value.length % 8 !== 0) {
        throw new Error(`${this.topic} record ${partition}:${message.offset} is not a model update (key '${key}', ${message.value.length} bytes)`);
      }
      // Copied out of kafkajs's buffer, which may be unaligned for a Float64Array.
      const total = new Float64Array(message.value.length / 8);
      new Uint8Array(total.buffer).set(message.value);
      this.pending.set(key, { contribution: { slot, model, key: parameter, total }, at: Number(message.headers?.at?.toString() ?? Date.now()) });
      this.counted.read += 1;
    }
  }
}
