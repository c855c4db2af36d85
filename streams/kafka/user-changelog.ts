/**
 * The changelog of user state (serve --scale-out), after Kafka Streams' changelog-backed state
 * stores: a compacted topic partitioned like the ratings, where partition p holds the rows of
 * p's users (src/sharing/user-rows.ts), the latest value per key, and a `~position` record: the
 * ratings offset those rows reach.
 *
 * The rule (README: Scale-out). A batch is applied when its Kafka transaction commits: this
 * worker's new shared-parameter totals (model-updates topic), the user rows it changed, the
 * position of each partition it read, and the group's offsets for those partitions
 * (sendOffsets), all or nothing. The LMDB commit follows; a worker that crashes in between has
 * a state one batch behind the topics, and takes that batch back from them when it starts
 * (its partitions' rows from here, its own totals from the model updates), so the batch is
 * neither lost nor applied twice. Readers use read_committed (kafkajs's default): an aborted or
 * unfinished transaction is never seen. A worker killed inside a transaction holds back every
 * reader of the topics it wrote until the broker aborts it, TRANSACTION_TIMEOUT_MS later.
 *
 * A worker given a partition reads the partition's changelog from where its own state has it
 * (`changelogAt`, stored with each commit) up to a barrier record it writes there itself, and
 * takes in what others wrote since (`restore`).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, Producer } from 'kafkajs';
import kafkajs from './kafkajs.js';
import { pack, unpack } from 'msgpackr';
import type { StateValue } from '../../src/models/model.js';
import { userRowFrom, userRowKey, userRowValue, type UserRow } from '../../src/sharing/user-rows.js';
import { describePositions } from '../../state/positions.js';
import { DEFAULT_RETRY, type KafkaLog } from './client.js';
import type { KafkaSettings, TopicNames } from './config.js';
import { explainKafkaError, hasKafkaErrorType } from './errors.js';
import type { KeyedValue } from './producer.js';

const POSITION_KEY = '~position';
/** A restore's own record, read back to know that everything committed before it was read. */
const BARRIER_KEY = '~barrier';
/** How long the broker lets a transaction stay open before aborting it (a killed worker's). */
export const TRANSACTION_TIMEOUT_MS = 10_000;
/** A transaction that failed is tried again after this pause, doubling up to the max. */
const RETRY_PAUSE_MS = { first: 500, max: 10_000 };
/**
 * Errors that mean another producer took this worker's transactional id: never retried. The
 * broker answers kafkajs's request versions INVALID_PRODUCER_EPOCH where newer clients get
 * PRODUCER_FENCED (code 90, which kafkajs does not know); a transaction the coordinator aborted
 * after its timeout bumps the epoch too, and this producer cannot go on either way.
 */
const FENCED = ['INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'];

export interface BatchTransaction {
  /** This worker's new shared-parameter totals, for the model-updates topic. */
  readonly totals: readonly KeyedValue[];
  /** The user rows changed, by ratings partition. */
  readonly rows: ReadonlyMap<number, readonly UserRow[]>;
  /** Next offset of each ratings partition the batch read: its position records and the group's offsets. */
  readonly positions: ReadonlyMap<number, number>;
  /**
   * Asked once the records are written and before the commit: rejects when this worker may no
   * longer apply the batch (the group dropped it), and the transaction is then aborted. Its
   * rejection is thrown, not retried.
   */
  readonly confirm?: () => Promise<void>;
}

/** `confirm` refused a transaction: its reason is thrown as it is. */
class NotConfirmed extends Error {
  constructor(readonly reason: unknown) {
    super('the transaction was not confirmed');
  }
}

export interface CommittedTransaction {
  /** Bytes of keys and values sent to the changelog (the totals are counted by the model updates). */
  readonly changelogBytes: number;
  /** Per changelog partition written, the offset after this worker's last record there. */
  readonly changelogAt: Map<number, number>;
}

export interface RestoredPartitions {
  /** The latest row of every user key written since `from`, in offset order. */
  readonly rows: UserRow[];
  /** The ratings position the changelog reaches, per partition that has one. */
  readonly positions: Map<number, number>;
  /** How far each partition was read. */
  readonly changelogAt: Map<number, number>;
  readonly records: number;
  readonly bytes: number;
}

export class UserChangelog {
  private constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
    private readonly topics: TopicNames,
    private readonly producer: Producer,
    private readonly log: KafkaLog,
    /** Named in each position record: who applied the batch (for the operator reading the topic). */
    private readonly slot: string,
  ) {}

  /**
   * Connect this worker's transactional producer (its id names its slot, so a restarted worker
   * fences its former self and the broker aborts what that left open) after checking that the
   * changelog has the ratings' partitions.
   */
  static async open(kafka: Kafka, settings: KafkaSettings, topics: TopicNames, slot: string, log: KafkaLog): Promise<UserChangelog> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [topics.ratings, topics.userState] });
      const count = (name: string) => found.find((topic) => topic.name === name)?.partitions.length ?? 0;
      if (count(topics.ratings) !== count(topics.userState)) {
        throw new Error(
          `${topics.userState} has ${count(topics.userState)} partitions but ${topics.ratings} has ${count(topics.ratings)}: ` +
            `partition p of the changelog holds the state of the users of ratings partition p; recreate ${topics.userState} with ${count(topics.ratings)} partitions`,
        );
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const producer = kafka.producer({
      transactionalId: `${settings.topicPrefix}worker-${slot}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      retry: DEFAULT_RETRY,
    });
    try {
      await producer.connect();
      // kafkajs takes the transactional id at the first transaction, not at connect: an empty one takes it now.
      const fence = await producer.transaction();
      await fence.abort();
    } catch (error) {
      throw explainKafkaError(error, {
        brokers: settings.brokers,
        doing: 'connecting the transactional producer',
        topics: [topics.userState],
        sasl: settings.sasl,
      });
    }
    return new UserChangelog(kafka, settings, topics, producer, log, slot);
  }

  /** One batch, all or nothing; tried again (the same records) until the cluster takes it. */
  async commit(batch: BatchTransaction): Promise<CommittedTransaction> {
    const byPartition = new Map<number, Array<{ readonly key: string; readonly value: Buffer | null }>>();
    let changelogBytes = 0;
    const add = (partition: number, key: string, value: StateValue | null) => {
      const bytes = value === null ? null : pack(value);
      let records = byPartition.get(partition);
      if (!records) byPartition.set(partition, (records = []));
      records.push({ key, value: bytes });
      changelogBytes += Buffer.byteLength(key) + (bytes?.length ?? 0);
    };
    for (const [partition, rows] of batch.rows) for (const row of rows) add(partition, userRowKey(row), userRowValue(row));
    for (const [partition, offset] of batch.positions) add(partition, POSITION_KEY, { offset, slot: this.slot });
    if (byPartition.size === 0 && batch.totals.length === 0) return { changelogBytes: 0, changelogAt: new Map() };

    const changelogAt = await this.transact(byPartition, batch.totals, batch.positions, describePositions(batch.positions) || 'an idle commit', batch.confirm);
    return { changelogBytes, changelogAt };
  }

  /**
   * One transaction: `totals` to the model updates, `records` to their changelog partitions, the
   * group's offsets at `positions`; tried again whole until it commits. Resolves with the offset
   * after this worker's last record in each changelog partition written.
   *
   * `confirm` runs between the writes and the commit. A worker that passes it was a member
   * with its records already in the changelog partitions, so a later holder of those
   * partitions, whose restore barrier comes after them, waits for this transaction to end and
   * restores it if it commits. A worker that stood still before it (a stop, a stall past its
   * session timeout) is told so and aborts: its new holder applies the batch.
   */
  private async transact(
    records: ReadonlyMap<number, ReadonlyArray<{ readonly key: string; readonly value: Buffer | null }>>,
    totals: readonly KeyedValue[],
    positions: ReadonlyMap<number, number>,
    what: string,
    confirm?: () => Promise<void>,
  ): Promise<Map<number, number>> {
    for (let attempt = 1, pause = RETRY_PAUSE_MS.first; ; attempt++, pause = Math.min(RETRY_PAUSE_MS.max, pause * 2)) {
      const transaction = await this.producer.transaction().catch((error: unknown) => this.failed(error, attempt));
      if (transaction === undefined) {
        await sleep(pause);
        continue;
      }
      try {
        const changelogAt = new Map<number, number>();
        if (totals.length > 0) await transaction.send({ topic: this.topics.modelUpdates, messages: [...totals], acks: -1 });
        // One partition per send: see producer.ts (tulios/kafkajs#1303).
        for (const [partition, inPartition] of records) {
          const [sent] = await transaction.send({
            topic: this.topics.userState,
            acks: -1,
            messages: inPartition.map(({ key, value }) => ({ key, value, partition })),
          });
          if (sent) changelogAt.set(partition, Number(sent.baseOffset) + inPartition.length);
        }
        if (positions.size > 0) {
          await transaction.sendOffsets({
            consumerGroupId: this.settings.groupId,
            topics: [{ topic: this.topics.ratings, partitions: [...positions].map(([partition, offset]) => ({ partition, offset: String(offset) })) }],
          });
        }
        if (confirm) {
          const refused = await confirm().then(
            () => undefined,
            (error: unknown) => error,
          );
          if (refused !== undefined) {
            await transaction.abort().catch(() => undefined);
            throw new NotConfirmed(refused);
          }
        }
        await transaction.commit();
        if (attempt > 1) this.log(`kafka: the transaction of ${what} committed after ${attempt - 1} failed attempts`);
        return changelogAt;
      } catch (error) {
        if (error instanceof NotConfirmed) throw error.reason;
        await transaction.abort().catch(() => undefined);
        this.failed(error, attempt);
        await sleep(pause);
      }
    }
  }

  /** Send `totals` (a barrier of the model updates) in a transaction of their own. */
  async sendTotals(totals: readonly KeyedValue[]): Promise<void> {
    await this.transact(new Map(), totals, new Map(), 'a barrier');
  }

  /**
   * Read partitions of the changelog from the given offsets up to a barrier: a record this worker
   * writes to each of them in a transaction of its own and reads back. A read_committed reader
   * gets it only once every transaction before it has ended, so by then it has read everything
   * committed to the partitions before the restore (the end offsets the broker reports stop at
   * the first open transaction, and would miss what committed after it). Keeps the latest row
   * per key, and the position the partition reaches.
   */
  async restore(from: ReadonlyMap<number, number>): Promise<RestoredPartitions> {
    const topic = this.topics.userState;
    const context = (doing: string) => ({ brokers: this.settings.brokers, doing, topics: [topic], sasl: this.settings.sasl });
    const nonce = randomUUID();
    const barriers = new Map([...from.keys()].map((partition) => [partition, [{ key: BARRIER_KEY, value: pack(nonce) as Buffer }]]));
    const written = await this.transact(barriers, [], new Map(), 'a restore barrier');
    const positions = new Map<number, number>();
    const read = { records: 0, bytes: 0 };
    const latest = new Map<string, StateValue | null>();
    const reached = new Set<number>();
    const consumer = this.kafka.consumer({
      groupId: `${this.settings.topicPrefix}restore-${randomUUID()}`,
      sessionTimeout: 10_000,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: DEFAULT_RETRY,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => {
          if (!payload.restart) reject(explainKafkaError(payload.error, context(`restoring partitions ${[...from.keys()].join(', ')} of ${topic}`)));
        });
        const start = async () => {
          await consumer.connect();
          await consumer.subscribe({ topic, fromBeginning: true });
          await consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const first = from.get(batch.partition);
              // Another partition, or one read to its barrier: not fetched again.
              if (first === undefined || reached.has(batch.partition)) return consumer.pause([{ topic, partitions: [batch.partition] }]);
              for (const message of batch.messages) {
                if (Number(message.offset) < first || message.key === null) continue;
                const key = message.key.toString('utf8');
                const value = message.value === null ? null : (unpack(message.value) as StateValue);
                if (key === BARRIER_KEY) {
                  if (value !== nonce) continue;
                  reached.add(batch.partition);
                  if (reached.size === from.size) resolve();
                  return;
                }
                read.records++;
                read.bytes += message.key.length + (message.value?.length ?? 0);
                if (key === POSITION_KEY) positions.set(batch.partition, (value as { offset: number }).offset);
                else {
                  // Offset order: re-inserting moves a key to the end, so the latest row of each comes last.
                  latest.delete(key);
                  latest.set(key, value);
                }
              }
            },
          });
          for (const [partition, offset] of from) consumer.seek({ topic, partition, offset: String(offset) });
        };
        start().catch(reject);
      });
    } catch (error) {
      throw explainKafkaError(error, context(`restoring ${topic}`));
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    const rows = [...latest].map(([key, value]) => userRowFrom(key, value));
    return { rows, positions, changelogAt: written, ...read };
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
  }

  /** Log a failed attempt; a fenced producer (another worker holds this slot) is thrown. */
  private failed(error: unknown, attempt: number): undefined {
    const explained = explainKafkaError(error, {
      brokers: this.settings.brokers,
      doing: 'committing a transaction',
      topics: [this.topics.userState],
      sasl: this.settings.sasl,
    });
    if (FENCED.some((type) => hasKafkaErrorType(error, type))) {
      throw new Error(
        `${explained.message}: another worker runs with this state's slot (a copied --state directory?), or the broker aborted this worker's ` +
          `transaction after it stalled past the transaction timeout (${TRANSACTION_TIMEOUT_MS / 1000} s); this one stops`,
      );
    }
    if (attempt === 1 || attempt % 10 === 0) this.log(`kafka warn: ${explained.message} (attempt ${attempt}; trying the same transaction again)`);
    return undefined;
  }
}
