/**
 * One embedded replay: a dataset through the pipeline into the state directory, resuming from
 * the position stored there. Used by `rxrec replay`, the tests and the benchmarks alike.
 */
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import type { Dataset } from '../src/datasets/rows.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../src/events/rating.js';
import type { ModelFigures } from '../src/eval/prequential.js';
import type { ModelSettings } from '../src/models/registry.js';
import type { Recommender } from '../src/recommender.js';
import type { TrainingStatus } from '../src/models/model.js';
import { StateStore } from '../state/store.js';
import { resumeRecommender, type BoundConfig } from './assemble.js';
import { DeadLetterFile, discardRecommendations, JsonLinesFile } from './embedded/file-sinks.js';
import type { RecommendationList, RecommendationSink, SimilarItems } from './transport.js';
import type { Pacing } from './embedded/pacing.js';
import { ReplayLog } from './embedded/replay-log.js';
import { BoundedSource } from './bounded-source.js';
import type { ServedState } from './served-list.js';
import { PipelineMetrics } from './metrics.js';
import { SeriesRecorder } from './series.js';
import { runPipeline, type BatchReport } from './pipeline.js';
import { datasetSideRows, keepItems, keepUsers } from './side-features.js';

export interface ReplayOptions {
  readonly dataset: Dataset;
  readonly stateDir: string;
  /** Discard the state in stateDir first. */
  readonly fresh?: boolean;
  readonly pacing: Pacing;
  readonly models: ModelSettings;
  /** The model whose scores make the published lists. */
  readonly rankModel: string;
  readonly k: number;
  readonly batchSize: number;
  readonly batchWaitMs: number;
  readonly maxMessageBytes?: number;
  /** JSON-lines file for the lists ('-' for stdout); none when undefined. */
  readonly out?: string;
  /** JSON-lines file for changed item neighbour lists (similar-items contract); none when undefined. */
  readonly similarOut?: string;
  /** Defaults to <stateDir>/dead-letters.jsonl. */
  readonly deadLetterPath?: string;
  /** Stop once this many records of the log have been applied (for tests and partial runs). */
  readonly stopAtOffset?: number;
  /** Aborted: stop after the batch in flight, its state and lists stored (a graceful stop; a later run resumes). */
  readonly signal?: AbortSignal;
  /** Background list refreshes per applied event (default DEFAULT_BACKGROUND_REFRESH). */
  readonly backgroundRefresh?: number;
  readonly metrics?: PipelineMetrics;
  readonly onLoadProgress?: (rowsRead: number) => void;
  /** Called once the state is loaded, before the first batch (e.g. to start the HTTP API). */
  readonly onStart?: (info: {
    resumedFrom: number;
    total: number;
    streamId: string;
    recommender: Recommender;
    metrics: PipelineMetrics;
    /** Item labels, users' activity and positions, for lists served on request. */
    state: ServedState;
  }) => void | Promise<void>;
  readonly onBatch?: (report: BatchReport, progress: ReplayProgress) => void;
  /**
   * Called with the summary once the stream has ended, while the state is still open: what it
   * awaits (e.g. serving the finished state until interrupted) happens before the state closes.
   */
  readonly onEnd?: (summary: ReplaySummary) => void | Promise<void>;
}

export interface ReplayProgress {
  /** Records of the log applied so far (including those of earlier runs on this state). */
  readonly position: number;
  readonly total: number;
  readonly recommender: Recommender;
}

export interface ReplaySummary {
  readonly events: number;
  readonly rejected: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly models: Record<string, ModelFigures>;
  /** The serving model's prequential hit@k / NDCG@k (fresh lists). */
  readonly rankModel: string;
  readonly hitAt10: number;
  readonly ndcgAt10: number;
  /** Against the lists as published: list staleness. */
  readonly publishedHitAt10: number;
  readonly publishedNdcgAt10: number;
  readonly loadSeconds: number;
  readonly resumedFrom: number;
  readonly position: number;
  readonly total: number;
  readonly deadLetterPath: string;
  /** Background learners (two-tower): how far behind the stream they were when it ended, their backend and steps. */
  readonly training: Record<string, TrainingStatus>;
}

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const loadStart = performance.now();
  const fresh = options.fresh ?? false;
  const store = StateStore.open(options.stateDir, { fresh });
  // A fresh start begins the output files anew too; a resumed one appends to them.
  const write = fresh ? 'truncate' : 'append';
  let deadLetters: DeadLetterFile | undefined;
  let recommendations: RecommendationSink | undefined;
  let similarItems: JsonLinesFile<SimilarItems> | undefined;
  try {
    deadLetters = new DeadLetterFile(options.deadLetterPath ?? join(options.stateDir, 'dead-letters.jsonl'), write);
    recommendations = options.out === undefined ? discardRecommendations : new JsonLinesFile<RecommendationList>(options.out, write);
    similarItems = options.similarOut === undefined ? undefined : new JsonLinesFile<SimilarItems>(options.similarOut, write);
    const log = await ReplayLog.load(options.dataset, options.pacing, { onProgress: options.onLoadProgress });
    const config: BoundConfig = { scale: options.dataset.scale.name, rankModel: options.rankModel, ...options.models };
    const recommender = resumeRecommender(store, log.streamId, config, options.k, { backgroundRefresh: options.backgroundRefresh });
    if (store.position(0) === undefined) await keepSideFeatures(store, options.dataset, recommender);

    const source = new BoundedSource(log, { endOffset: options.stopAtOffset, signal: options.signal });
    await source.start((partition) => store.position(partition));
    const resumedFrom = store.position(0) ?? 0;
    const metrics = options.metrics ?? new PipelineMetrics();
    await options.onStart?.({
      resumedFrom,
      total: log.length,
      streamId: log.streamId,
      recommender,
      metrics,
      state: store,
    });
    const loadSeconds = (performance.now() - loadStart) / 1000;

    let events = 0;
    let rejected = 0;
    let position = resumedFrom;
    const series = new SeriesRecorder(store, metrics, log.length, resumedFrom);
    const runStart = performance.now();
    await lastValueFrom(
      runPipeline(
        { source, recommender, store, deadLetters, recommendations, similarItems, metrics },
        {
          scale: options.dataset.scale,
          batchSize: options.batchSize,
          batchWaitMs: options.batchWaitMs,
          maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
        },
      ).pipe(
        tap((report) => {
          events += report.applied;
          rejected += report.rejected;
          position = report.positions.get(0) ?? position;
          series.batch(position, recommender);
          options.onBatch?.(report, { position, total: log.length, recommender });
        }),
      ),
      { defaultValue: undefined },
    );
    const seconds = (performance.now() - runStart) / 1000;
    if (events + rejected > 0) series.batch(position, recommender, true);
    const figures = recommender.evaluator.figures();
    const summary: ReplaySummary = {
      events,
      rejected,
      seconds,
      eventsPerSecond: seconds > 0 ? (events + rejected) / seconds : 0,
      models: figures.models,
      rankModel: recommender.ranker.name,
      hitAt10: figures.models[recommender.ranker.name]?.hitAt10 ?? NaN,
      ndcgAt10: figures.models[recommender.ranker.name]?.ndcgAt10 ?? NaN,
      publishedHitAt10: figures.published.hitAtK,
      publishedNdcgAt10: figures.published.ndcgAtK,
      loadSeconds,
      resumedFrom,
      position,
      total: log.length,
      deadLetterPath: deadLetters.path,
      training: recommender.trainingStatus(),
    };
    await options.onEnd?.(summary);
    return summary;
  } finally {
    try {
      await Promise.all([deadLetters?.close(), recommendations?.close(), similarItems?.close()]);
    } finally {
      await store.close();
    }
  }
}

/** The dataset's item and user files (none for formats without users), into the state and the catalogue. */
async function keepSideFeatures(store: StateStore, dataset: Dataset, recommender: Recommender): Promise<void> {
  const { items, users } = await datasetSideRows(dataset);
  keepItems(store, recommender.catalog.features, items);
  keepUsers(store, recommender.catalog.features, users);
}
