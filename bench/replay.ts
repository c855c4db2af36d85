/**
 * npm run bench:replay — end-to-end embedded replay throughput on the default synthetic set
 * (ML-100K-shaped): with the default models (what `npm start` runs: the ensemble serving the
 * lists, prequential ranking on the default share) and with Baseline + MF alone; the MF
 * kernel's own learning rate in events/s; and peak RSS. Prints a details object, then as the
 * last line of standard output {"eventsPerSecond", "baselineMfEventsPerSecond",
 * "mfKernelEventsPerSecond", "peakRssMb"}.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHOLE_STARS } from '../src/events/scale.js';
import { BiasedMF } from '../src/models/mf.js';
import { DEFAULT_MODEL_SETTINGS, DEFAULT_RANK_MODEL, type ModelSettings } from '../src/models/registry.js';
import { ML100K_SHAPE } from '../src/datasets/synthetic.js';
import { indexedStream } from './indexed-stream.js';
import { resolveDataset } from '../streams/cli/dataset-spec.js';
import { replay } from '../streams/replay-job.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BASELINE_MF: ModelSettings = { ...DEFAULT_MODEL_SETTINGS, models: ['baseline', 'mf'] };
const BATCH_SIZE = 5000;

async function endToEnd(models: ModelSettings, rankModel: string) {
  const dataset = await resolveDataset('synthetic');
  const runs = [];
  for (let run = 0; run < RUNS; run++) {
    const summary = await replay({
      dataset,
      stateDir: mkdtempSync(join(tmpdir(), 'rxrec-bench-')),
      pacing: { kind: 'max' },
      models,
      rankModel,
      k: 10,
      batchSize: BATCH_SIZE,
      batchWaitMs: 50,
    });
    runs.push(summary);
  }
  return runs;
}

function mfKernel(): { eventsPerSecond: number; events: number } {
  const events = indexedStream(ML100K_SHAPE);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const mf = new BiasedMF({ scale: WHOLE_STARS, seed: 42 }, { factors: DEFAULT_MODEL_SETTINGS.factors });
    const start = performance.now();
    mf.learn(events);
    rates.push(events.length / ((performance.now() - start) / 1000));
  }
  return { eventsPerSecond: median(rates), events: events.length };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const runs = await endToEnd(DEFAULT_MODEL_SETTINGS, DEFAULT_RANK_MODEL);
const baselineMf = await endToEnd(BASELINE_MF, 'mf');
const kernel = mfKernel();
const best = runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
const peakRssMb = process.resourceUsage().maxRSS / 1024;
const round = (x: number | undefined, digits = 0) => (x === undefined ? null : Math.round(x * 10 ** digits) / 10 ** digits);
const rates = (summaries: typeof runs) => summaries.map((r) => round(r.eventsPerSecond));

console.log(
  JSON.stringify({
    dataset: `synthetic ${ML100K_SHAPE.users} users × ${ML100K_SHAPE.items} items, ${ML100K_SHAPE.ratings} ratings, seed ${ML100K_SHAPE.seed}`,
    models: DEFAULT_MODEL_SETTINGS.models,
    rankingShare: DEFAULT_MODEL_SETTINGS.rankingShare,
    batchSize: BATCH_SIZE,
    runs: runs.map((r) => ({ eventsPerSecond: round(r.eventsPerSecond), seconds: round(r.seconds, 3), loadSeconds: round(r.loadSeconds, 3) })),
    baselineMfRuns: rates(baselineMf),
    prequential: Object.fromEntries(
      Object.entries(best.models).map(([name, f]) => [
        name,
        { rmse: round(f.rmse, 4), mae: round(f.mae, 4), hitAt10: round(f.hitAt10, 4), ndcgAt10: round(f.ndcgAt10, 4) },
      ]),
    ),
    publishedHitAt10: round(best.publishedHitAt10, 4),
    mfKernelEvents: kernel.events,
  }),
);
console.log(
  JSON.stringify({
    eventsPerSecond: round(median(runs.map((r) => r.eventsPerSecond))),
    baselineMfEventsPerSecond: round(median(baselineMf.map((r) => r.eventsPerSecond))),
    mfKernelEventsPerSecond: round(kernel.eventsPerSecond),
    peakRssMb: round(peakRssMb, 1),
  }),
);
