/**
 * The replay's series for `rxrec report`: every `every` records (at most about 200 points over
 * the stream, and at its end) a point with each model's prequential RMSE and hit@10 so far, the
 * wall-clock time (throughput is the change of position over time between two points of one run)
 * and the event-to-publish latencies since the previous point. Points go to the state store,
 * so a resumed replay continues its series.
 */
import type { Recommender } from '../src/recommender.js';
import type { SeriesPoint, StateStore } from '../state/store.js';
import type { PipelineMetrics } from './metrics.js';

const MIN_SPACING = 1000;
const POINTS = 200;

export class SeriesRecorder {
  private readonly every: number;
  private next: number;
  private latencyBefore: number[];
  private readonly run = Date.now();
  private lastPosition = -1;

  constructor(
    private readonly store: StateStore,
    private readonly metrics: PipelineMetrics,
    total: number,
    resumedFrom: number,
  ) {
    this.every = Math.max(MIN_SPACING, Math.ceil(total / POINTS));
    this.next = (Math.floor(resumedFrom / this.every) + 1) * this.every;
    this.latencyBefore = [...metrics.latencyCounts];
  }

  /** After a batch: a point when the position has passed the next mark, or `last` (the end of the stream). */
  batch(position: number, recommender: Recommender, last = false): void {
    if ((position < this.next && !last) || position === this.lastPosition) return;
    this.lastPosition = position;
    this.next = (Math.floor(position / this.every) + 1) * this.every;
    const { models } = recommender.evaluator.figures();
    const counts = this.metrics.latencyCounts;
    const point: SeriesPoint = {
      position,
      time: Date.now(),
      run: this.run,
      models: Object.fromEntries(Object.entries(models).map(([name, f]) => [name, { rmse: finite(f.rmse), hitAt10: finite(f.hitAt10) }])),
      latency: counts.map((count, bucket) => count - (this.latencyBefore[bucket] ?? 0)),
    };
    this.latencyBefore = [...counts];
    this.store.appendSeriesPoint(point);
  }
}

function finite(x: number | undefined): number | undefined {
  return x !== undefined && Number.isFinite(x) ? x : undefined;
}
