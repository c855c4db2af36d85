/**
 * The bench scripts `npm run bench` runs, in order, with what each measures and on which data.
 * Each script's own repetitions are set to 1 (BENCH_RUNS): the runner repeats whole scripts.
 */
export interface BenchScript {
  readonly name: string;
  /** Compiled file under dist/bench, without .js. */
  readonly file: string;
  readonly what: string;
  readonly data: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

const ONCE = { BENCH_RUNS: '1' };
const ML100K = 'synthetic ML-100K-shaped (943 × 1,682, 100,000 ratings, seed 42)';
const ML1M = 'synthetic ML-1M-shaped (6,040 × 3,706, 1,000,209 ratings, seed 42)';

export const BENCHES: readonly BenchScript[] = [
  {
    name: 'replay',
    file: 'replay',
    what: 'embedded replay end to end, events/s (default models; Baseline + MF), MF kernel, peak RSS',
    data: ML100K,
    env: ONCE,
  },
  {
    name: 'impute',
    file: 'impute',
    what: 'impute models: replay events/s, ms per batch, batch softImpute fit seconds',
    data: `${ML100K}; fit on ${ML1M}`,
    env: ONCE,
  },
  {
    name: 'similarity',
    file: 'similarity',
    what: 'embedded replay with knn-item similarity caches, events/s and peak RSS',
    data: ML1M,
  },
  { name: 'similarity-kernel', file: 'similarity-kernel', what: 'similarity kernel alone, events/s', data: ML1M },
  {
    name: 'kernels',
    file: 'kernels',
    what: 'WebAssembly SIMD kernels against their TypeScript forms, µs per call and speed-up',
    data: 'default catalogue sizes (1,682 items × 20 factors), random values',
  },
  {
    name: 'two-tower',
    file: 'two-tower',
    what: 'two-tower training examples/s per tfjs backend and batch size; retrieval ms per user',
    data: ML100K,
    env: ONCE,
  },
  {
    name: 'serve',
    file: 'serve',
    what: 'GET /recommendations under 1,000 requests/s while a replay runs at 1,000 events/s: requests/s, p50/p99 ms',
    data: ML100K,
  },
  {
    name: 'kafka',
    file: 'kafka',
    what: 'Kafka path: produce → worker → recs topic events/s, latency at 1,000 events/s (starts a local broker unless KAFKA_BROKERS)',
    data: ML100K,
    env: { ...ONCE, BENCH_LATENCY_SECONDS: '15' },
  },
  {
    name: 'scale',
    file: 'scale-out',
    what: 'serve --scale-out with 1, 2 and 3 workers on 6 partitions: events/s, p99 event-to-publish, bytes per event on the model-updates and catalogue topics',
    data: 'the first 20,000 ratings of synthetic ML-100K-shaped (seed 42)',
  },
  {
    name: 'scale-curve',
    file: 'scale',
    what: "the scaling curve's two smaller points (bench:scale-curve runs 10M too, for hours): default replay events/s, µs per event, peak RSS, per-event cost growth",
    data: `${ML100K}; ${ML1M}`,
    args: ['--sizes', '100k,1m'],
  },
  {
    name: 'reference',
    file: 'reference',
    what: 'rxrec beside Surprise, cornac BPR and River on the same splits and stream order (makes a Python venv in bench/reference)',
    data: ML100K,
  },
  { name: 'synthetic', file: 'synthetic-calibration', what: 'synthetic set against the real ML-100K facts: P@10, hit@10, rating shares', data: ML100K },
];
