/**
 * Prometheus metrics (prom-client), prefix rxrec_, base units, counters ending in _total, and no
 * user or item ids as labels (unbounded cardinality). One registry per pipeline so tests and
 * several pipelines in one process do not collide. Node's process metrics keep their standard
 * names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), so the dashboards and
 * alerts written for every Node service read them unchanged.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECTION_KINDS } from '../src/events/rating.js';

/** What rxrec_kafka_errors_total counts, by `kind` (kafkajs instrumentation events). */
export const KAFKA_ERROR_KINDS = ['consumer_crash', 'consumer_request_timeout', 'producer_request_timeout'] as const;
export type KafkaErrorKind = (typeof KAFKA_ERROR_KINDS)[number];

/** Event-to-publish latency buckets (s): up to a minute, since a worker catching up after a restart or an outage publishes late, and that must still be measured. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class PipelineMetrics {
  readonly registry = new Registry();
  readonly consumed = new Counter({ name: 'rxrec_events_consumed_total', help: 'Records read from the source', registers: [this.registry] });
  readonly applied = new Counter({ name: 'rxrec_events_applied_total', help: 'Valid rating events learned by the models', registers: [this.registry] });
  readonly rejected = new Counter({
    name: 'rxrec_events_rejected_total',
    help: 'Records sent to the dead-letter sink, by class of reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'rxrec_batch_size',
    help: 'Records per micro-batch',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'rxrec_stage_duration_seconds',
    help: 'Time spent per micro-batch in each pipeline stage',
    labelNames: ['stage'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly publishLatency = new Histogram({
    name: 'rxrec_event_to_publish_latency_seconds',
    help: 'From a record entering the log to the refreshed list being published',
    buckets: [...LATENCY_BUCKETS],
    registers: [this.registry],
  });
  /** The same observations as counts per bucket (the last one past 60 s), read synchronously by the replay's series. */
  readonly latencyCounts: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);

  observeLatency(seconds: number): void {
    this.publishLatency.observe(seconds);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket++;
    this.latencyCounts[bucket]! += 1;
  }
  readonly rmse = new Gauge({ name: 'rxrec_prequential_rmse', help: 'Prequential RMSE per model', labelNames: ['model'] as const, registers: [this.registry] });
  readonly mae = new Gauge({ name: 'rxrec_prequential_mae', help: 'Prequential MAE per model', labelNames: ['model'] as const, registers: [this.registry] });
  readonly hitRate = new Gauge({
    name: 'rxrec_prequential_hit_rate',
    help: "Prequential hit@k per ranking model: the model's list computed fresh before each sampled relevant event",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly ndcg = new Gauge({
    name: 'rxrec_prequential_ndcg',
    help: "Prequential NDCG@k per ranking model: the model's list computed fresh before each sampled relevant event",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly publishedHitRate = new Gauge({
    name: 'rxrec_published_hit_rate',
    help: 'hit@k of the lists as last published (list staleness: depends on batch size and replay speed)',
    registers: [this.registry],
  });
  readonly publishedNdcg = new Gauge({ name: 'rxrec_published_ndcg', help: 'NDCG@k of the lists as last published', registers: [this.registry] });
  readonly listRefreshes = new Counter({
    name: 'rxrec_list_refreshes_total',
    help: 'Lists recomputed: trigger "event" for users a batch touched, "background" for the oldest others; changed "false" when the order stayed (not published again)',
    labelNames: ['trigger', 'changed'] as const,
    registers: [this.registry],
  });
  readonly oldestListAgeEvents = new Gauge({
    name: 'rxrec_oldest_list_age_events',
    help: 'Events applied since the least recently recomputed list was computed (list staleness)',
    registers: [this.registry],
  });
  readonly oldestListAgeSeconds = new Gauge({
    name: 'rxrec_oldest_list_age_seconds',
    help: 'Age of the least recently recomputed list (list staleness); restored lists count from the restart',
    registers: [this.registry],
  });
  readonly lmdbSize = new Gauge({ name: 'rxrec_lmdb_size_bytes', help: 'Size of the LMDB state file, after the latest commit', registers: [this.registry] });
  readonly consumerLag = new Gauge({
    name: 'rxrec_consumer_lag_records',
    help: 'Records behind the end of the source, summed over partitions',
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: 'rxrec_ready',
    help: '1 while /health/ready answers 200 (state loaded, consumer in touch and caught up within --ready-lag), else 0',
    registers: [this.registry],
  });
  readonly kafkaErrors = new Counter({
    name: 'rxrec_kafka_errors_total',
    help: 'Kafka client errors by kind: consumer_crash (the consumer stopped; kafkajs restarts it when the error is retriable), consumer_request_timeout, producer_request_timeout',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly kafkaRebalances = new Counter({
    name: 'rxrec_kafka_rebalances_total',
    help: 'Times this worker joined its consumer group (the first join, then once per rebalance)',
    registers: [this.registry],
  });

  readonly trainingLagEvents = new Gauge({
    name: 'rxrec_training_lag_events',
    help: 'Events a background learner (two-tower) has been handed but not trained on yet',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly trainingLagSeconds = new Gauge({
    name: 'rxrec_training_lag_seconds',
    help: 'How long the oldest event a background learner has not trained on has waited',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly tfjsStepSeconds = new Gauge({
    name: 'rxrec_tfjs_step_duration_seconds',
    help: 'Mean duration of recent tfjs training steps',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly tfjsBackend = new Gauge({
    name: 'rxrec_tfjs_backend',
    help: 'The tfjs backend a model trains on (1 for the one in use)',
    labelNames: ['model', 'backend'] as const,
    registers: [this.registry],
  });

  /** `processMetrics`: add Node's default process metrics (for the long-running commands). */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
    // Labelled series exist from the start (at 0), so rate() and alerts see them before the first refresh.
    for (const trigger of ['event', 'background']) for (const changed of ['true', 'false']) this.listRefreshes.inc({ trigger, changed }, 0);
    for (const reason of REJECTION_KINDS) this.rejected.inc({ reason }, 0);
    for (const kind of KAFKA_ERROR_KINDS) this.kafkaErrors.inc({ kind }, 0);
  }
}
