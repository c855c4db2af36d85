/**
 * The streaming pipeline, top to bottom as the data flows:
 *
 *   source ─poll─▶ decode + validate ─bad─▶ dead letters
 *                        │
 *                  (scale-out: the batch's new ids get the group's indices; others' updates added in)
 *                        │
 *                  test, then train (every model), refresh touched users' top-k
 *                        │
 *                  (scale-out: one Kafka transaction: this worker's shared-parameter totals,
 *                   the user rows it changed, positions, the group's offsets)
 *                        │
 *                  one LMDB transaction: deltas + histories + evaluation + lists + positions
 *                        │
 *                  publish lists (and changed item neighbour lists) ─▶ acknowledge positions
 *
 * Micro-batches are bounded by size and time by the source's poll(maxRecords, maxWaitMs), and
 * the next one is pulled only when this one is fully through (backpressure).
 */
import { concatMap, defer, finalize, from, map, of, type Observable } from 'rxjs';
import { decodeRating, validateRating, wrongKeyReason, type RatingEvent, type RejectionKind, type ValidationResult } from '../src/events/rating.js';
import type { RatingScale } from '../src/events/scale.js';
import type { IndexedRating } from '../src/models/model.js';
import type { Recommender, StateDelta, UserList } from '../src/recommender.js';
import type { StateStore, UserActivity } from '../state/store.js';
import { deadLetterOf } from './dead-letter.js';
import { listItems, type TitleOf } from './list-entries.js';
import type { PipelineMetrics } from './metrics.js';
import { pullBatches } from './pull.js';
import type { GroupSharing, SharedStateRows } from './scale-out.js';
import type { DeadLetter, DeadLetterSink, RawRecord, RatingSource, RecommendationList, RecommendationSink, SimilarItemsSink } from './transport.js';

export interface PipelineSettings {
  readonly scale: RatingScale;
  readonly batchSize: number;
  readonly batchWaitMs: number;
  readonly maxMessageBytes: number;
  /** Neighbours per published similar-items list. */
  readonly similarK?: number;
}

const DEFAULT_SIMILAR_K = 20;
const REFRESH_SLICE_MS = 2;

/**
 * Wall-clock times of applied-event counts, one mark per batch: turns a list's age in events
 * into seconds. Marks older than the oldest list asked about are dropped, so it holds only the
 * batches the oldest list spans.
 */
class EventClock {
  private readonly events: number[] = [];
  private readonly times: number[] = [];
  private start = 0;

  record(events: number, time: number): void {
    this.events.push(events);
    this.times.push(time);
  }

  /** The time of the first mark at or after `event` (the batch whose end it belongs to). */
  timeAt(event: number): number {
    let lo = this.start;
    let hi = this.events.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid]! >= event) hi = mid;
      else lo = mid + 1;
    }
    this.start = lo;
    if (lo > 4096 && lo > this.events.length / 2) {
      this.events.splice(0, lo);
      this.times.splice(0, lo);
      this.start = 0;
      lo = 0;
    }
    return this.times[lo] ?? this.times[this.times.length - 1] ?? 0;
  }
}

export interface PipelineParts {
  readonly source: RatingSource;
  readonly recommender: Recommender;
  readonly store: StateStore;
  readonly deadLetters: DeadLetterSink;
  readonly recommendations: RecommendationSink;
  /** Where changed item neighbour lists go (when knn-item runs). */
  readonly similarItems?: SimilarItemsSink;
  readonly metrics: PipelineMetrics;
  readonly now?: () => number;
  /** The group this worker forms one recommender with (serve --scale-out): shared indices and parameters. */
  readonly sharing?: GroupSharing;
}

/** What one micro-batch did, for progress displays and tests. */
export interface BatchReport {
  readonly records: number;
  readonly applied: number;
  readonly rejected: number;
  /** The class of each rejected record. */
  readonly rejections: readonly RejectionKind[];
  readonly positions: ReadonlyMap<number, number>;
  readonly lists: readonly RecommendationList[];
  /** Users whose list was recomputed, changed or not (what a serving cache must re-read). */
  readonly refreshed: readonly number[];
}

interface DecodedBatch {
  readonly records: readonly RawRecord[];
  readonly events: RatingEvent[];
  /** The partition of each event's record. */
  readonly partitions: number[];
  readonly letters: DeadLetter[];
  readonly kinds: RejectionKind[];
}

/** What a batch's LMDB commit stores besides its positions and activity. */
interface StoredBatch {
  readonly delta: StateDelta;
  readonly shared: SharedStateRows;
  readonly changelogAt: ReadonlyMap<number, number>;
}

interface LearnedBatch extends DecodedBatch {
  readonly lists: readonly UserList[];
  readonly refreshed: readonly number[];
  readonly positions: Map<number, number>;
  readonly activity: Map<number, UserActivity>;
}

export function runPipeline(parts: PipelineParts, settings: PipelineSettings): Observable<BatchReport> {
  const { source, recommender, store, deadLetters, recommendations, metrics } = parts;
  const now = parts.now ?? Date.now;
  const timed = <T>(stage: string, work: () => T): T => {
    const end = metrics.stageDuration.startTimer({ stage });
    try {
      return work();
    } finally {
      end();
    }
  };

  const decode = (records: readonly RawRecord[]): DecodedBatch =>
    timed('decode', () => {
      const events: RatingEvent[] = [];
      const partitions: number[] = [];
      const letters: DeadLetter[] = [];
      const kinds: RejectionKind[] = [];
      for (const record of records) {
        if (record.scale !== undefined && record.scale !== settings.scale.name) throw new ScaleMismatchError(record, source.topic, settings.scale);
        const result = record.malformed
          ? ({ ok: false, kind: record.rejection ?? 'malformed_line', reason: record.malformed } as const)
          : keyedByUser(
              record,
              typeof record.value === 'string' || record.value instanceof Uint8Array
                ? decodeRating(record.value, settings.scale, settings.maxMessageBytes)
                : validateRating(record.value, settings.scale),
            );
        if (result.ok) {
          events.push(result.event);
          partitions.push(record.partition);
        } else {
          letters.push(deadLetterOf(record, source.topic, result.reason));
          kinds.push(result.kind);
        }
      }
      metrics.consumed.inc(records.length);
      metrics.batchSize.observe(records.length);
      return { records, events, partitions, letters, kinds };
    });

  const sendDeadLetters = async (batch: DecodedBatch): Promise<DecodedBatch> => {
    if (batch.letters.length > 0) {
      await deadLetters.send(batch.letters);
      for (const kind of batch.kinds) metrics.rejected.inc({ reason: kind });
    }
    return batch;
  };

  const { sharing } = parts;
  const shareBefore = async (batch: DecodedBatch): Promise<DecodedBatch> => {
    if (sharing) {
      const end = metrics.stageDuration.startTimer({ stage: 'share' });
      await sharing.beforeBatch(batch.events);
      end();
    }
    return batch;
  };
  // With a group (scale-out), the batch is applied in the group first (one Kafka transaction), then stored.
  const shareAfter = async (batch: LearnedBatch): Promise<LearnedBatch & { stored: StoredBatch }> => {
    const delta = recommender.drainState();
    if (!sharing) return { ...batch, stored: { delta, shared: [], changelogAt: new Map() } };
    const end = metrics.stageDuration.startTimer({ stage: 'share' });
    const { shared, changelogAt } = await sharing.commit(delta, batch.positions, batch.activity);
    end();
    return { ...batch, stored: { delta, shared, changelogAt } };
  };
  // An idle poll adds the others' updates in, and stores what moved (no position changes).
  const idle = async (): Promise<BatchReport> => {
    if (sharing?.idle()) {
      const delta = recommender.drainState();
      const { shared, changelogAt } = await sharing.commit(delta, new Map(), new Map());
      timed('persist', () => commitState({ delta, shared, changelogAt }, new Map(), new Map()));
    }
    return { records: 0, applied: 0, rejected: 0, rejections: [], positions: new Map(), lists: [], refreshed: [] };
  };
  const commitState = ({ delta, shared, changelogAt }: StoredBatch, positions: ReadonlyMap<number, number>, activity: ReadonlyMap<number, UserActivity>) => {
    delta.models.push(...shared);
    store.commit(delta, positions, activity, changelogAt);
    metrics.lmdbSize.set(store.sizeBytes());
  };

  // Lists are refreshed in slices of at most REFRESH_SLICE_MS, yielding to the event loop in
  // between, so HTTP requests are answered while a batch's lists are computed.
  const learn = async (batch: DecodedBatch): Promise<LearnedBatch> => {
    const indexed = recommender.index(batch.events);
    const touched = timed('learn', () => recommender.learnBatch(indexed));
    metrics.applied.inc(batch.events.length);
    const end = metrics.stageDuration.startTimer({ stage: 'refresh' });
    const lists: UserList[] = [];
    const due = recommender.listsDue(indexed.length, touched, sharing && ((user) => sharing.owns(user)));
    let sliceStart = performance.now();
    for (const { user, eventTs, trigger } of due) {
      const items = recommender.refresh(user);
      metrics.listRefreshes.inc({ trigger, changed: String(items !== undefined) });
      if (items) lists.push({ user, items, eventTs });
      if (performance.now() - sliceStart > REFRESH_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    end();
    listClock.record(recommender.eventsApplied, now());
    const refreshed = due.map((d) => d.user);
    return { ...batch, lists, refreshed, positions: nextPositions(batch.records), activity: userActivity(indexed, batch.partitions) };
  };

  const persist = (batch: LearnedBatch & { stored: StoredBatch }): LearnedBatch =>
    timed('persist', () => {
      commitState(batch.stored, batch.positions, batch.activity);
      return batch;
    });

  const publish = async (batch: LearnedBatch): Promise<BatchReport> => {
    const end = metrics.stageDuration.startTimer({ stage: 'publish' });
    const publishedAt = now();
    const sourceOffset = lastOffset(batch.records);
    // Memoised for the batch: the same few items explain many lists, and each read decodes a row.
    const titles = new Map<string, string | undefined>();
    const titleOf: TitleOf = (itemId) => {
      if (!titles.has(itemId)) titles.set(itemId, store.itemLabel(itemId)?.title);
      return titles.get(itemId);
    };
    const lists = batch.lists.map((list) => toRecommendationList(recommender, list, sourceOffset, publishedAt, titleOf, store));
    if (lists.length > 0) await recommendations.publish(lists);
    if (parts.similarItems) {
      const changed = recommender.changedSimilarItems(settings.similarK ?? DEFAULT_SIMILAR_K);
      if (changed.length > 0) await parts.similarItems.publish(changed);
    }
    await source.committed(batch.positions);
    end();
    observeLatency(metrics, batch.records, now());
    updateQualityGauges(metrics, recommender);
    const ages = recommender.listAges();
    metrics.oldestListAgeEvents.set(ages.oldestEvents);
    metrics.oldestListAgeSeconds.set(ages.oldestAtEvent === undefined ? 0 : (now() - listClock.timeAt(ages.oldestAtEvent)) / 1000);
    return {
      records: batch.records.length,
      applied: batch.events.length,
      rejected: batch.letters.length,
      rejections: batch.kinds,
      positions: batch.positions,
      lists,
      refreshed: batch.refreshed,
    };
  };

  // Background learners start before the first batch and stop with the stream. The size gauge
  // starts at the resumed state's size and follows every commit.
  const listClock = new EventClock();
  return defer(() => {
    metrics.lmdbSize.set(store.sizeBytes());
    // Restored lists count from now.
    listClock.record(recommender.eventsApplied, now());
    return from(recommender.start());
  }).pipe(
    concatMap(() =>
      pullBatches(
        () => source.poll(settings.batchSize, settings.batchWaitMs),
        (records) =>
          records.length === 0
            ? defer(() => idle())
            : of(records).pipe(
                map(decode),
                concatMap(sendDeadLetters),
                concatMap(shareBefore),
                concatMap(learn),
                concatMap(shareAfter),
                map(persist),
                concatMap(publish),
              ),
      ),
    ),
    finalize(() => void recommender.close()),
  );
}

/** A valid event whose record is keyed by another user is rejected (see wrongKeyReason). */
function keyedByUser(record: RawRecord, result: ValidationResult): ValidationResult {
  const reason = result.ok ? wrongKeyReason(record.key, result.event) : undefined;
  return reason === undefined ? result : { ok: false, kind: 'wrong_key', reason };
}

/** Per partition, the offset after the last record of the batch. */
function nextPositions(records: readonly RawRecord[]): Map<number, number> {
  const positions = new Map<number, number>();
  for (const { partition, offset } of records) positions.set(partition, Math.max(offset + 1, positions.get(partition) ?? 0));
  return positions;
}

/** Per user of the batch, their newest event ts and the partition their events come from. */
function userActivity(events: readonly IndexedRating[], partitions: readonly number[]): Map<number, UserActivity> {
  const activity = new Map<number, UserActivity>();
  events.forEach(({ user, ts }, i) => {
    activity.set(user, { eventTs: Math.max(ts, activity.get(user)?.eventTs ?? -Infinity), partition: partitions[i]! });
  });
  return activity;
}

function lastOffset(records: readonly RawRecord[]): string {
  const last = records[records.length - 1];
  return last ? `${last.partition}:${last.offset}` : '';
}

function toRecommendationList(
  recommender: Recommender,
  list: UserList,
  sourceOffset: string,
  publishedAt: number,
  titleOf: TitleOf,
  store: StateStore,
): RecommendationList {
  return {
    userId: recommender.catalog.users.idAt(list.user),
    items: listItems(recommender, list.items, titleOf),
    model: recommender.ranker.name,
    sourceOffset,
    // A background refresh follows no event of the user's: their newest one as stored.
    eventTs: list.eventTs ?? store.userActivity(list.user)?.eventTs ?? 0,
    publishedAt,
  };
}

function observeLatency(metrics: PipelineMetrics, records: readonly RawRecord[], publishedAt: number): void {
  for (const record of records) {
    if (record.appendedAt !== undefined) metrics.observeLatency((publishedAt - record.appendedAt) / 1000);
  }
}

function updateQualityGauges(metrics: PipelineMetrics, recommender: Recommender): void {
  const figures = recommender.evaluator.figures();
  const set = (gauge: { set(labels: { model: string }, value: number): void }, model: string, value: number | undefined) => {
    if (value !== undefined && Number.isFinite(value)) gauge.set({ model }, value);
  };
  for (const [model, f] of Object.entries(figures.models)) {
    set(metrics.rmse, model, f.rmse);
    set(metrics.mae, model, f.mae);
    set(metrics.hitRate, model, f.hitAt10);
    set(metrics.ndcg, model, f.ndcgAt10);
  }
  if (Number.isFinite(figures.published.hitAtK)) metrics.publishedHitRate.set(figures.published.hitAtK);
  if (Number.isFinite(figures.published.ndcgAtK)) metrics.publishedNdcg.set(figures.published.ndcgAtK);
  for (const [model, status] of Object.entries(recommender.trainingStatus())) {
    metrics.trainingLagEvents.set({ model }, status.lagEvents);
    metrics.trainingLagSeconds.set({ model }, status.lagSeconds);
    metrics.tfjsStepSeconds.set({ model }, status.stepSeconds);
    if (status.backend === 'not started') continue;
    metrics.tfjsBackend.reset();
    metrics.tfjsBackend.set({ model, backend: status.backend }, 1);
  }
}

/**
 * A record whose producer stated another rating scale than the one this pipeline validates
 * against. Thrown before the batch is applied, so nothing of it is stored or committed: on the
 * wrong scale a quarter of a half-star stream would go to the dead letters as off the scale.
 */
export class ScaleMismatchError extends Error {
  override readonly name = 'ScaleMismatchError';

  constructor(record: RawRecord, topic: string, scale: RatingScale) {
    super(
      `${topic} carries ratings on the ${record.scale} scale (record ${record.partition}:${record.offset}, produced from a ${record.scale} dataset), ` +
        `but this worker validates against ${scale.name}: start it with --scale ${record.scale} and a --state of that scale; nothing of this batch was applied`,
    );
  }
}
