/**
 * The embedded pipeline over a test dataset, with the source's `committed` callback — the
 * pipeline's Kafka offset commit (streams/kafka/source.ts implements it as one) — observed.
 */
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { openDataset } from '../../src/datasets/detect.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../src/events/rating.js';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';
import { StateStore } from '../../state/store.js';
import { resumeRecommender, type BoundConfig } from '../../streams/assemble.js';
import { BoundedSource } from '../../streams/bounded-source.js';
import { DeadLetterFile, discardRecommendations } from '../../streams/embedded/file-sinks.js';
import { ReplayLog } from '../../streams/embedded/replay-log.js';
import { PipelineMetrics } from '../../streams/metrics.js';
import { runPipeline } from '../../streams/pipeline.js';
import type { Positions, RatingSource } from '../../streams/transport.js';

export interface PipelineRun {
  /** Records the pipeline took in (applied and rejected). */
  readonly records: number;
  /** Every commit the source was asked for, in order. */
  readonly commits: Positions[];
  /** Stream length. */
  readonly total: number;
}

export interface RunOptions {
  readonly stopAt?: number;
  readonly batchSize?: number;
  /** Called at the moment the pipeline issues the offset commit, before the source handles it. */
  readonly onCommit?: (positions: Positions, stateDir: string) => void;
  /** Called with the open store before the first batch (fault injection). */
  readonly onOpen?: (store: StateStore) => void;
}

/** Run the pipeline from the state's stored position; a failed run rejects with its error (the store closed). */
export async function runEmbedded(datasetDir: string, stateDir: string, options: RunOptions = {}): Promise<PipelineRun> {
  const dataset = await openDataset(datasetDir);
  const store = StateStore.open(stateDir);
  const deadLetters = new DeadLetterFile(join(stateDir, 'dead-letters.jsonl'));
  const commits: Positions[] = [];
  let records = 0;
  try {
    const log = await ReplayLog.load(dataset, { kind: 'max' });
    const config: BoundConfig = { scale: dataset.scale.name, rankModel: 'mf', ...DEFAULT_MODEL_SETTINGS };
    const recommender = resumeRecommender(store, log.streamId, config, 10);
    const bounded = new BoundedSource(log, { endOffset: options.stopAt });
    const source: RatingSource = {
      streamId: bounded.streamId,
      topic: bounded.topic,
      start: (stored) => bounded.start(stored),
      poll: (maxRecords, maxWaitMs) => bounded.poll(maxRecords, maxWaitMs),
      committed: async (positions) => {
        commits.push(new Map(positions));
        options.onCommit?.(positions, stateDir);
        await bounded.committed(positions);
      },
      close: () => bounded.close(),
    };
    await source.start((partition) => store.position(partition));
    options.onOpen?.(store);
    await lastValueFrom(
      runPipeline(
        { source, recommender, store, deadLetters, recommendations: discardRecommendations, metrics: new PipelineMetrics() },
        { scale: dataset.scale, batchSize: options.batchSize ?? 250, batchWaitMs: 10, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES },
      ).pipe(tap((report) => (records += report.records))),
      { defaultValue: undefined },
    );
    return { records, commits, total: log.length };
  } finally {
    await deadLetters.close();
    await store.close();
  }
}
