/**
 * npm run bench:impute — the impute models' cost. On the default synthetic set (ML-100K-shaped):
 * the embedded replay at the default micro-batch (1,000 events) with Baseline + incremental
 * Soft-Impute, the same replay with online MF in its place, and the fold-in's own cost per
 * micro-batch; on the ML-1M-shaped synthetic set, one batch softImpute-ALS fit at the defaults
 * (λ = 10, rank cap 50, at most 100 iterations) of the per-user-centred matrix. Prints a details
 * object, then as the last line of standard output
 * {"eventsPerSecond", "sgdEventsPerSecond", "msPerBatch", "batchSolveSeconds"}.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ML1M_SHAPE, ML100K_SHAPE, type SyntheticSpec } from '../src/datasets/synthetic.js';
import { indexedStream } from './indexed-stream.js';
import { userCentred } from '../src/eval/batch-impute.js';
import { WHOLE_STARS } from '../src/events/scale.js';
import { ImputeFactors } from '../src/models/impute.js';
import type { IndexedRating } from '../src/models/model.js';
import { DEFAULT_MODEL_SETTINGS, type AvailableModel } from '../src/models/registry.js';
import { SOFT_IMPUTE_DEFAULTS, softImputeAls } from '../src/models/soft-impute.js';
import { resolveDataset } from '../streams/cli/dataset-spec.js';
import { replay } from '../streams/replay-job.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH_SIZE = 1000;

async function replayRate(models: readonly AvailableModel[], rankModel: string): Promise<number[]> {
  const dataset = await resolveDataset('synthetic');
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const summary = await replay({
      dataset,
      stateDir: mkdtempSync(join(tmpdir(), 'rxrec-bench-impute-')),
      pacing: { kind: 'max' },
      models: { ...DEFAULT_MODEL_SETTINGS, models },
      rankModel,
      k: 10,
      batchSize: BATCH_SIZE,
      batchWaitMs: 50,
    });
    rates.push(summary.eventsPerSecond);
  }
  return rates;
}

function foldInMsPerBatch(events: readonly IndexedRating[], variant: 'soft' | 'hard'): number {
  const model = new ImputeFactors({ scale: WHOLE_STARS, seed: 42 }, { variant });
  const started = performance.now();
  for (let start = 0; start < events.length; start += BATCH_SIZE) model.learn(events.slice(start, start + BATCH_SIZE));
  return (performance.now() - started) / Math.ceil(events.length / BATCH_SIZE);
}

function batchSolve(spec: SyntheticSpec) {
  const events = indexedStream(spec);
  const { entries } = userCentred({
    users: Int32Array.from(events, (e) => e.user),
    items: Int32Array.from(events, (e) => e.item),
    ratings: Float64Array.from(events, (e) => e.rating),
  });
  const started = performance.now();
  const fit = softImputeAls(entries, SOFT_IMPUTE_DEFAULTS, (iteration, change) => {
    if (iteration % 10 === 0)
      process.stderr.write(`softImpute-ALS on ${spec.ratings} ratings: iteration ${iteration}, relative change ${change.toExponential(2)}\n`);
  });
  return {
    seconds: (performance.now() - started) / 1000,
    iterations: fit.iterations,
    converged: fit.converged,
    fittedRank: fit.rank,
    ratings: entries.value.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const impute = await replayRate(['baseline', 'impute-soft'], 'impute-soft');
const sgd = await replayRate(['baseline', 'mf'], 'mf');
const hard = await replayRate(['baseline', 'impute-hard'], 'impute-hard');
const stream = indexedStream(ML100K_SHAPE);
const msPerBatch = median(Array.from({ length: RUNS }, () => foldInMsPerBatch(stream, 'soft')));
const hardMsPerBatch = median(Array.from({ length: RUNS }, () => foldInMsPerBatch(stream, 'hard')));
const solve = batchSolve(ML1M_SHAPE);

console.log(
  JSON.stringify({
    replay: `synthetic ${ML100K_SHAPE.users} users × ${ML100K_SHAPE.items} items, ${ML100K_SHAPE.ratings} ratings, micro-batches of ${BATCH_SIZE}`,
    imputeSoftRuns: impute.map((x) => round(x)),
    mfRuns: sgd.map((x) => round(x)),
    imputeHardRuns: hard.map((x) => round(x)),
    hardMsPerBatch: round(hardMsPerBatch, 2),
    batchSolve: { dataset: `synthetic ${ML1M_SHAPE.users} × ${ML1M_SHAPE.items}`, ...SOFT_IMPUTE_DEFAULTS, ...solve, seconds: round(solve.seconds, 2) },
  }),
);
console.log(
  JSON.stringify({
    eventsPerSecond: round(median(impute)),
    sgdEventsPerSecond: round(median(sgd)),
    msPerBatch: round(msPerBatch, 2),
    batchSolveSeconds: round(solve.seconds, 2),
  }),
);
