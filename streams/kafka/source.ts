/**
 * The ratings topic as a RatingSource: a kafkajs consumer in the workers' consumer group.
 *
 * Where a partition resumes. Across the group every event must be applied exactly once, and
 * each worker keeps its own state, so on every assignment (the first join, each rebalance, each
 * restart after a crash) a partition continues from the LATER of
 *   - the group's committed offset: where the last worker that held the partition stopped (a
 *     worker that gets a partition back after another one moved it forward must not re-apply
 *     the other's events), else the partition's earliest record;
 *   - this worker's floor: the position stored in LMDB, or the end of what it handed out before
 *     when that is later (records in flight in the pipeline will be stored). A worker that
 *     crashed between its LMDB commit and its Kafka commit resumes from LMDB (stored ≥ committed).
 * kafkajs itself fetches from the group's offset; the buffer refuses every record below the
 * floor. When the group's offset is below the floor, the partition is also seeked to the floor
 * so the gap is not fetched only to be dropped. A partition kept through a rebalance continues
 * from the end of what was fetched.
 *
 * Hand-over. eachBatch resolves only once the pipeline has stored the batch's records in LMDB
 * and their offsets are committed to Kafka. kafkajs rejoins a rebalancing group only after every
 * eachBatch has resolved, so a partition moves to another worker only with everything handed out
 * for it applied and committed: the next holder starts exactly where this one stopped. The same
 * wait is the backpressure: kafkajs fetches again only when the pipeline has taken in the last
 * fetch (at most maxBytes, 10 MB by default, is buffered). While it waits, it heartbeats, so a
 * slow batch does not cost the worker its membership.
 *
 * Lag. The records between each assigned partition's position and its high watermark (from the
 * fetched batches, and from the broker at each assignment), summed: `lag()`.
 *
 * A broker that goes away mid-stream makes kafkajs retry, then restart the consumer with backoff
 * (it logs both); `health()` says so meanwhile. Errors kafkajs will not retry make `poll` reject.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Positions, RawRecord, RatingSource } from '../transport.js';
import { describePositions } from '../../state/positions.js';
import type { KafkaErrorKind } from '../metrics.js';
import { DEFAULT_RETRY, writeToStderr, type KafkaLog } from './client.js';
import { topicNames, type KafkaSettings } from './config.js';
import { explainKafkaError, hasKafkaErrorType } from './errors.js';
import { ConnectionHealth, type KafkaHealth } from './health.js';
import { SCALE_HEADER } from './publishers.js';
import { RecordBuffer } from './record-buffer.js';

/** Long-poll of one fetch; also how soon a resumed or seeked partition is fetched again. */
const FETCH_WAIT_MS = 500;
/**
 * A consumer in touch with the broker fetches every FETCH_WAIT_MS when idle and heartbeats every
 * heartbeat interval (at most 3 s) while a batch is in the pipeline; two heartbeat intervals
 * without either mean the broker is gone. So readiness turns 503 within 6 s of an outage at the
 * default session timeout (4 s at --session-timeout-ms 6000).
 */
const STALE_AFTER_HEARTBEATS = 2;
/** kafkajs's default: a member silent this long is dropped from the group, its partitions reassigned. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const EMPTY_VALUE = new Uint8Array(0);
/** A failed offset commit is retried after 250 ms, doubling up to 5 s; on close, at most 5 attempts in all. */
const COMMIT_RETRY_MS = 250;
const COMMIT_RETRY_MAX_MS = 5_000;
const CLOSE_COMMIT_ATTEMPTS = 5;

export interface KafkaSourceOptions {
  readonly log?: KafkaLog;
  /**
   * How long the group waits for a silent member (one that crashed) before its partitions go to
   * the others; at least the broker's group.min.session.timeout.ms (6 s by default).
   */
  readonly sessionTimeoutMs?: number;
  /** Called with the partitions of the ratings topic each time the group assigns them. */
  readonly onAssignment?: (partitions: readonly number[]) => void;
  /** Called at each group join and each client error of the consumer and the producer, for the worker's metrics. */
  readonly onClientEvent?: (event: KafkaClientEvent) => void;
  /**
   * serve --scale-out: a partition new to this worker is held (paused, nothing handed out) until
   * its user state is restored from the changelog (`toRestore`, then `restored`).
   */
  readonly restoreFirst?: boolean;
  /**
   * serve --scale-out: each batch's offsets are committed in its Kafka transaction (sendOffsets,
   * streams/kafka/user-changelog.ts), so `committed` only lets the batches resolve. A commit of
   * its own, outside the transaction, could land after a later holder's and move the group back.
   */
  readonly offsetsInTransactions?: boolean;
}

/** What a worker counts of its Kafka clients' life: group joins (rxrec_kafka_rebalances_total) and errors (rxrec_kafka_errors_total). */
export type KafkaClientEvent = 'group_join' | KafkaErrorKind;

/** The coordinator's answers to a member it no longer has. */
const DROPPED_MEMBER = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'];

/** How often the event loop's stand-stills are looked for (see confirmMembership). */
const STALL_TICK_MS = 250;

/** The group dropped this worker while it held fetched records (see confirmMembership). */
export class GroupMembershipLost extends Error {
  constructor(groupId: string, why: string) {
    super(
      `the group ${groupId} dropped this worker while it held a batch (${why}); it stops without committing the batch, which the partitions' new holders apply. ` +
        `Start it again: it restores its partitions from the changelog (a longer --session-timeout-ms suits a worker that stalls)`,
    );
    this.name = 'GroupMembershipLost';
  }
}

interface SettleWaiter {
  readonly partition: number;
  readonly until: number;
  release(): void;
}

export class KafkaRatingSource implements RatingSource {
  readonly streamId: string;
  readonly topic: string;
  private readonly consumer: Consumer;
  private admin: Admin | undefined;
  private readonly buffer = new RecordBuffer();
  /** Offset after the last record handed to the pipeline, per partition (applied or in flight). */
  private readonly handedOut = new Map<number, number>();
  /** Offset after the last record fetched and accepted since the partition was assigned. */
  private readonly fetchedUpTo = new Map<number, number>();
  /** Positions the pipeline has stored in LMDB. */
  private readonly applied = new Map<number, number>();
  /** Positions whose Kafka commit has been attempted: eachBatch waits for these. */
  private readonly released = new Map<number, number>();
  /** Where each assigned partition started in this assignment, once known from the broker. */
  private readonly startPositions = new Map<number, number>();
  private readonly highWatermarks = new Map<number, number>();
  /** Partitions assigned anew and not fetched yet, with where this worker's state of them ends. */
  private readonly firstFetchFrom = new Map<number, number>();
  private readonly connection: ConnectionHealth;
  /** As last logged (undefined before the first poll). */
  private wasConnected: boolean | undefined;
  private readonly heartbeatIntervalMs: number;
  private readonly sessionTimeoutMs: number;
  private readonly log: KafkaLog;
  private readonly onAssignmentCallback: ((partitions: readonly number[]) => void) | undefined;
  private storedPosition: (partition: number) => number | undefined = () => undefined;
  private started = false;
  private finishing = false;
  private closed = false;
  private inGroup = false;
  private generation = 0;
  private fatal: Error | undefined;
  private readonly arrivalWaiters = new Set<() => void>();
  private readonly settleWaiters = new Set<SettleWaiter>();
  private readonly pendingCommits = new Map<number, number>();
  private commitFlush: Promise<void> | undefined;
  private readonly restoreFirst: boolean;
  private readonly offsetsInTransactions: boolean;
  /** Partitions held until their user state is restored (restoreFirst). */
  private readonly restoring = new Set<number>();
  /** The heartbeat of the consumer's latest fetch (kafkajs hands one to each eachBatch). */
  private heartbeat: (() => Promise<void>) | undefined;
  /** When the stall ticker last ran, and the longest the event loop stood still since the last confirmMembership. */
  private lastTick = performance.now();
  private longestStallMs = 0;
  private readonly stallTicker: NodeJS.Timeout;

  constructor(
    private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
    options: KafkaSourceOptions = {},
  ) {
    this.topic = topicNames(settings.topicPrefix).ratings;
    this.streamId = `kafka:${this.topic}`;
    this.log = options.log ?? writeToStderr;
    this.onAssignmentCallback = options.onAssignment;
    this.restoreFirst = options.restoreFirst ?? false;
    this.offsetsInTransactions = options.offsetsInTransactions ?? false;
    const sessionTimeout = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.sessionTimeoutMs = sessionTimeout;
    this.heartbeatIntervalMs = Math.min(3_000, Math.floor(sessionTimeout / 3));
    this.connection = new ConnectionHealth(Math.max(STALE_AFTER_HEARTBEATS * this.heartbeatIntervalMs, 2 * FETCH_WAIT_MS));
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: FETCH_WAIT_MS,
      allowAutoTopicCreation: false,
      retry: DEFAULT_RETRY,
    });
    this.stallTicker = setInterval(() => {
      const now = performance.now();
      this.longestStallMs = Math.max(this.longestStallMs, now - this.lastTick - STALL_TICK_MS);
      this.lastTick = now;
    }, STALL_TICK_MS).unref();
    const { GROUP_JOIN, FETCH, HEARTBEAT, CRASH, REQUEST_TIMEOUT } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (event) => this.onAssignment(event.payload.memberAssignment[this.topic] ?? []));
    this.consumer.on(FETCH, () => this.connection.contact());
    this.consumer.on(HEARTBEAT, () => this.connection.contact());
    this.consumer.on(CRASH, (event) => this.onCrash(event.payload.error, event.payload.restart));
    const observe = options.onClientEvent;
    if (observe) {
      this.consumer.on(GROUP_JOIN, () => observe('group_join'));
      this.consumer.on(CRASH, () => observe('consumer_crash'));
      this.consumer.on(REQUEST_TIMEOUT, () => observe('consumer_request_timeout'));
    }
  }

  async start(storedPosition: (partition: number) => number | undefined): Promise<void> {
    if (this.started) throw new Error(`the Kafka source of ${this.topic} was started twice`);
    this.started = true;
    this.storedPosition = storedPosition;
    try {
      const partitions = await this.partitionCount();
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        // Every partition of a fetch is handed to the buffer at once; each waits for its commit.
        partitionsConsumedConcurrently: partitions,
        eachBatch: (payload) => this.onBatch(payload),
      });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      this.fail(explainKafkaError(error, this.errorContext(`starting to consume ${this.topic}`)));
    }
    if (this.fatal) throw this.fatal;
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null> {
    if (!this.started) throw new Error(`poll before start on the Kafka source of ${this.topic}`);
    if (this.closed || this.finishing || this.restoring.size > 0) return null;
    if (this.fatal) throw this.fatal;
    if (this.buffer.length === 0 && maxWaitMs > 0) await this.arrival(maxWaitMs);
    if (this.closed || this.finishing || this.restoring.size > 0) return null;
    if (this.fatal) throw this.fatal;
    this.logContactChange();
    const records = this.buffer.take(maxRecords);
    for (const record of records) this.handedOut.set(record.partition, record.offset + 1);
    return records;
  }

  /** One log line when the cluster goes quiet (readiness turns 503 with it) and one when it answers again. */
  private logContactChange(): void {
    const { connected, lastError } = this.connection.snapshot();
    if (connected === this.wasConnected) return;
    if (this.wasConnected !== undefined || !connected) {
      this.log(
        connected
          ? `kafka: in touch with the cluster again (${this.topic})`
          : `kafka warn: no exchange with the cluster for ${this.connection.staleAfterMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}: not ready until it answers`,
      );
    }
    this.wasConnected = connected;
  }

  async committed(positions: Positions): Promise<void> {
    if (this.closed) return;
    for (const [partition, offset] of positions) this.applied.set(partition, Math.max(offset, this.applied.get(partition) ?? 0));
    if (this.offsetsInTransactions) return this.release([...positions]);
    for (const [partition, offset] of positions) this.pendingCommits.set(partition, offset);
    this.scheduleCommit();
  }

  /**
   * Hand out nothing more: `poll` resolves null from now on, so the pipeline completes once the
   * batch in flight is through. `close` then commits its offsets and leaves the group.
   */
  finish(): void {
    this.finishing = true;
    this.wake();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.stallTicker);
    this.wake();
    try {
      while (this.commitFlush) await this.commitFlush;
      await this.flushCommits();
    } finally {
      // Records fetched but never handed out stay uncommitted: the partition's next holder reads them.
      this.releaseSettled(true);
      await this.consumer.disconnect().catch(() => undefined);
      await this.admin?.disconnect().catch(() => undefined);
      this.connection.disconnected();
      this.inGroup = false;
    }
  }

  health(): KafkaHealth {
    return this.connection.snapshot();
  }

  isConnected(): boolean {
    return this.connection.snapshot().connected;
  }

  /** Records fetched and waiting for `poll`. */
  bufferedRecords(): number {
    return this.buffer.length;
  }

  /**
   * Partitions held until their user state is restored (restoreFirst), with where this worker's
   * state of them ends; `poll` resolves null while there are any, so the pipeline stops after
   * the batch in flight.
   */
  toRestore(): number[] {
    return [...this.restoring];
  }

  /** The state of `partitions` is restored (the stored positions moved): fetch them from there. */
  restored(partitions: readonly number[]): void {
    const resumed = new Map<number, number>();
    for (const partition of partitions) {
      if (!this.restoring.delete(partition) || !this.buffer.isAssigned(partition)) continue;
      const floor = this.floor(partition) ?? 0;
      this.firstFetchFrom.set(partition, floor);
      this.buffer.seek(partition, floor);
      resumed.set(partition, floor);
    }
    if (resumed.size === 0) return;
    this.consumer.resume([{ topic: this.topic, partitions: [...resumed.keys()] }]);
    for (const [partition, floor] of resumed) this.consumer.seek({ topic: this.topic, partition, offset: String(floor) });
    void this.inspect(this.generation);
  }

  /**
   * Resolves while this consumer is still a member of its group; rejects with
   * GroupMembershipLost when it cannot be: the process stood still (a pause, a stopped or
   * stalled machine) for its session timeout or longer since the last call, so no heartbeat
   * reached the group meanwhile, or the coordinator answers a heartbeat that the member is
   * unknown or of an old generation (heartbeats that failed for that long). Its partitions went
   * to others, who apply what it fetched. kafkajs sends a heartbeat only if none went out within
   * the heartbeat interval, and one sent before a stand-still may answer after it, so the
   * stand-still is measured here. A rebalance in progress or an unreachable coordinator is not a
   * loss (the group waits for this member to rejoin; a commit then fails on its own).
   */
  async confirmMembership(): Promise<void> {
    this.throwIfStoodStill();
    this.longestStallMs = 0;
    if (this.closed || !this.heartbeat) return;
    try {
      await this.heartbeat();
    } catch (error) {
      const dropped = DROPPED_MEMBER.find((type) => hasKafkaErrorType(error, type));
      if (dropped) throw new GroupMembershipLost(this.settings.groupId, `${dropped}: it went ${this.sessionTimeoutMs / 1000} s or more without a heartbeat`);
    }
    // A stand-still while the heartbeat was out: its answer may have been waiting from before.
    this.throwIfStoodStill();
  }

  private throwIfStoodStill(): void {
    // The stand-still up to now counts too: after one, this may run before the ticker does.
    const stood = Math.max(this.longestStallMs, performance.now() - this.lastTick - STALL_TICK_MS);
    if (this.closed || stood < this.sessionTimeoutMs) return;
    this.longestStallMs = 0;
    throw new GroupMembershipLost(
      this.settings.groupId,
      `the process stood still for ${(stood / 1000).toFixed(1)} s, at least its session timeout of ${this.sessionTimeoutMs / 1000} s, so no heartbeat reached the group`,
    );
  }

  /** Partitions of the ratings topic this worker holds now. */
  assignment(): number[] {
    return this.buffer.assignedPartitions();
  }

  /**
   * Records not yet applied on the partitions this worker holds, up to their high watermarks;
   * undefined until the group has assigned partitions and their offsets are known.
   */
  lag(): number | undefined {
    if (!this.inGroup) return undefined;
    let total = 0;
    for (const partition of this.buffer.assignedPartitions()) {
      const end = this.highWatermarks.get(partition);
      const start = this.startPositions.get(partition);
      if (end === undefined || start === undefined) return undefined;
      total += Math.max(0, end - Math.max(start, this.applied.get(partition) ?? 0));
    }
    return total;
  }

  /** Called synchronously inside kafkajs's join, before it fetches for the new assignment. */
  private onAssignment(partitions: readonly number[]): void {
    try {
      const generation = ++this.generation;
      this.buffer.assign(partitions);
      for (const partition of [...this.fetchedUpTo.keys(), ...this.startPositions.keys()]) {
        if (!this.buffer.isAssigned(partition)) {
          this.fetchedUpTo.delete(partition);
          this.startPositions.delete(partition);
          this.highWatermarks.delete(partition);
        }
      }
      for (const partition of [...this.firstFetchFrom.keys()]) if (!this.buffer.isAssigned(partition)) this.firstFetchFrom.delete(partition);
      for (const partition of [...this.restoring]) if (!this.buffer.isAssigned(partition)) this.restoring.delete(partition);
      for (const partition of partitions) {
        const fetched = this.fetchedUpTo.get(partition);
        // Kept through the rebalance: kafkajs would restart it from the group's offset.
        if (fetched !== undefined) this.consumer.seek({ topic: this.topic, partition, offset: String(fetched) });
        else if (this.restoreFirst) this.restoring.add(partition);
        else {
          const floor = this.floor(partition);
          this.firstFetchFrom.set(partition, floor ?? 0);
          if (floor !== undefined) this.buffer.seek(partition, floor);
        }
      }
      // Paused until restored; a partition paused for an earlier assignment and kept through this one stays so.
      if (this.restoring.size > 0) this.consumer.pause([{ topic: this.topic, partitions: [...this.restoring] }]);
      this.inGroup = true;
      this.connection.contact();
      this.releaseSettled();
      this.onAssignmentCallback?.(this.buffer.assignedPartitions());
      void this.inspect(generation);
    } catch (error) {
      // A throw here would only be logged by kafkajs, and the partitions would start unseeked.
      this.fail(explainKafkaError(error, this.errorContext('resuming assigned partitions')));
    }
  }

  /** The lowest offset this worker may hand out next on a newly assigned partition. */
  private floor(partition: number): number | undefined {
    const stored = this.storedPosition(partition);
    const handedOut = this.handedOut.get(partition);
    if (stored === undefined) return handedOut;
    return handedOut === undefined ? stored : Math.max(stored, handedOut);
  }

  /**
   * The assigned partitions' offsets at the broker: the start of the lag figures, and a seek to
   * the floor where the group's offset lies below it. Retried until it succeeds or the
   * assignment changes.
   */
  private async inspect(generation: number): Promise<void> {
    for (let attempt = 0; !this.closed && generation === this.generation; attempt++) {
      try {
        this.admin ??= this.kafka.admin();
        await this.admin.connect();
        const [ends, [group]] = await Promise.all([
          this.admin.fetchTopicOffsets(this.topic),
          this.admin.fetchOffsets({ groupId: this.settings.groupId, topics: [this.topic] }),
        ]);
        if (this.closed || generation !== this.generation) return;
        const committed = new Map((group?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
        for (const { partition, low, high } of ends) {
          if (!this.buffer.isAssigned(partition)) continue;
          const groupOffset = Math.max(committed.get(partition) ?? -1, Number(low));
          const floor = this.floor(partition);
          this.startPositions.set(partition, Math.max(groupOffset, floor ?? 0));
          this.highWatermarks.set(partition, Math.max(Number(high), this.highWatermarks.get(partition) ?? 0));
          if (floor !== undefined && groupOffset < floor && !this.fetchedUpTo.has(partition)) {
            this.consumer.seek({ topic: this.topic, partition, offset: String(floor) });
          }
        }
        return;
      } catch (error) {
        const explained = explainKafkaError(error, this.errorContext(`reading the offsets of ${this.topic}`));
        if (attempt === 0) this.log(`kafka warn: ${explained.message} (retrying; lag is unknown meanwhile)`);
        await sleep(Math.min(10_000, 500 * 2 ** attempt));
      }
    }
  }

  private async partitionCount(): Promise<number> {
    const admin = (this.admin ??= this.kafka.admin());
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [this.topic] });
    return Math.max(1, topics[0]?.partitions.length ?? 1);
  }

  private async onBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    this.heartbeat = heartbeat;
    const until = this.accept(batch);
    if (until !== undefined) await this.settled(batch.partition, until, heartbeat);
  }

  /** Buffer a fetched batch; the offset after its last accepted record, if any was accepted. */
  private accept(batch: EachBatchPayload['batch']): number | undefined {
    if (batch.topic !== this.topic || this.closed) return undefined;
    const high = Number(batch.highWatermark);
    if (this.buffer.isAssigned(batch.partition) && high > (this.highWatermarks.get(batch.partition) ?? -1)) this.highWatermarks.set(batch.partition, high);
    const records: RawRecord[] = batch.messages.map((message) => {
      const scale = message.headers?.[SCALE_HEADER];
      const record: RawRecord = {
        partition: batch.partition,
        offset: Number(message.offset),
        key: message.key === null || message.key === undefined ? null : message.key.toString('utf8'),
        value: message.value ?? EMPTY_VALUE,
        origin: this.topic,
        appendedAt: Number(message.timestamp),
      };
      return scale === undefined ? record : { ...record, scale: scale.toString() };
    });
    this.noteResumePoint(batch.partition, records);
    const skipped = this.buffer.add(batch.partition, records);
    this.connection.contact();
    if (skipped === records.length) return undefined;
    const until = records[records.length - 1]!.offset + 1;
    this.fetchedUpTo.set(batch.partition, until);
    this.wake();
    return until;
  }

  /**
   * The first fetch of a partition new to this worker starts at the group's offset (or the
   * topic's start). When that lies past where this worker's state ends, the events between were
   * applied by another worker, whose state keeps them (each worker keeps its own state): said once.
   */
  private noteResumePoint(partition: number, records: readonly RawRecord[]): void {
    const from = this.firstFetchFrom.get(partition);
    if (from === undefined || records.length === 0 || !this.buffer.isAssigned(partition)) return;
    this.firstFetchFrom.delete(partition);
    const start = records[0]!.offset;
    if (start <= from) return;
    this.log(
      `kafka warn: partition ${partition} resumes at offset ${start}, where another worker left it; ` +
        `its ${start - from} events from offset ${from} are in that worker's state, not this one's (its users' histories and lists here lack them)`,
    );
  }

  /** Resolves once the pipeline stored everything before `until` and its Kafka commit was tried. */
  private settled(partition: number, until: number, heartbeat: () => Promise<void>): Promise<void> {
    if ((this.released.get(partition) ?? -1) >= until || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const beat = setInterval(() => heartbeat().catch(() => undefined), this.heartbeatIntervalMs);
      const waiter: SettleWaiter = {
        partition,
        until,
        release: () => {
          clearInterval(beat);
          this.settleWaiters.delete(waiter);
          resolve();
        },
      };
      this.settleWaiters.add(waiter);
    });
  }

  private releaseSettled(all = false): void {
    for (const waiter of [...this.settleWaiters]) {
      if (all || !this.buffer.isAssigned(waiter.partition) || (this.released.get(waiter.partition) ?? -1) >= waiter.until) waiter.release();
    }
  }

  private onCrash(error: Error, restarting: boolean): void {
    const explained = explainKafkaError(error, this.errorContext(`consuming ${this.topic}`));
    this.connection.failed(explained.message);
    // The consumer has left the group: nothing it buffered is assigned any more.
    this.buffer.clear();
    this.fetchedUpTo.clear();
    this.startPositions.clear();
    this.inGroup = false;
    this.releaseSettled(true);
    if (!restarting) this.fail(explained);
  }

  private fail(error: Error): void {
    this.fatal ??= error;
    this.wake();
  }

  private arrival(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.arrivalWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.arrivalWaiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.arrivalWaiters]) waiter();
  }

  private scheduleCommit(): void {
    if (this.commitFlush) return;
    this.commitFlush = this.flushCommits().finally(() => {
      this.commitFlush = undefined;
      if (this.pendingCommits.size > 0 && !this.closed) this.scheduleCommit();
    });
  }

  /**
   * Commit the newest positions of the partitions still assigned, then let their batches'
   * eachBatch resolve. A commit that fails is retried with backoff, and for up to a session
   * timeout the batches it covers stay unresolved: kafkajs cannot rejoin a rebalance before they
   * resolve, so a partition is handed over only once the group's offset agrees with the state
   * (else its next holder would re-apply what this worker applied). Heartbeats go on meanwhile
   * (see `settled`). Commits that fail for longer (kafkajs keeps asking a group coordinator that
   * is gone until it returns) no longer hold the stream: the group has dropped this member by
   * then unless its coordinator is back, so the worker consumes on, says what a hand-over would
   * re-apply, and keeps retrying. A partition the group took away cannot be committed any more.
   */
  private async flushCommits(): Promise<void> {
    let failingSince: number | undefined;
    let holding = true;
    for (let failures = 0; this.pendingCommits.size > 0;) {
      const positions = [...this.pendingCommits].filter(([partition]) => this.buffer.isAssigned(partition));
      this.pendingCommits.clear();
      if (positions.length === 0) break;
      try {
        await this.consumer.commitOffsets(positions.map(([partition, offset]) => ({ topic: this.topic, partition, offset: String(offset) })));
      } catch (error) {
        for (const [partition, offset] of positions) this.pendingCommits.set(partition, Math.max(offset, this.pendingCommits.get(partition) ?? 0));
        if (this.closed && failures >= CLOSE_COMMIT_ATTEMPTS - 1) {
          this.log(`kafka error: the offsets of ${describePositions(positions)} were not committed; the partitions' next holder re-applies their last batches`);
          return;
        }
        failingSince ??= performance.now();
        if (failures === 0) {
          const explained = explainKafkaError(error, this.errorContext(`committing offsets of group ${this.settings.groupId}`));
          this.log(
            `kafka warn: ${explained.message} (retrying; ${describePositions(positions)} stay with this worker until committed, for up to ${this.sessionTimeoutMs / 1000} s)`,
          );
        }
        if (holding && performance.now() - failingSince >= this.sessionTimeoutMs) {
          holding = false;
          this.log(
            `kafka warn: offsets still not committed after ${this.sessionTimeoutMs / 1000} s: consuming on and retrying; ` +
              `a partition the group moves meanwhile is re-applied by its next holder from its last committed offset (${describePositions(positions)} here)`,
          );
        }
        if (!holding) this.release(positions);
        await sleep(Math.min(COMMIT_RETRY_MAX_MS, COMMIT_RETRY_MS * 2 ** failures++));
        continue;
      }
      if (failures > 0) this.log(`kafka: committed ${describePositions(positions)} after ${failures} failed attempt${failures === 1 ? '' : 's'}`);
      failures = 0;
      failingSince = undefined;
      holding = true;
      this.release(positions);
    }
  }

  /** Let the batches up to these positions resolve their eachBatch. */
  private release(positions: ReadonlyArray<[number, number]>): void {
    for (const [partition, offset] of positions) this.released.set(partition, Math.max(offset, this.released.get(partition) ?? 0));
    this.releaseSettled();
  }

  private errorContext(doing: string) {
    return {
      brokers: this.settings.brokers,
      doing,
      topics: [this.topic],
      groupId: this.settings.groupId,
      sasl: this.settings.sasl,
    };
  }
}
