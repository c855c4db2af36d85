/**
 * npm run bench:two-tower — the two-tower's cost. Training examples per second at the seeds'
 * tower sizes (E = 64, 128/64/32, final 128) with batches of 256 and 1,024 (a step is a quarter
 * new events and three quarters replayed, as by default), on each tfjs backend that starts here,
 * each in a thread of its own; and retrieval: the milliseconds per user of a top-100 list over
 * the whole catalogue by blocked matrix products, for every user of the ML-100K-shaped synthetic
 * set. Prints details on standard error, then as the last line of standard output
 * {"backends": {"<name>": {"batch256": x, "batch1024": x}}, "retrievalMsPerUser": x}.
 */
import { Worker } from 'node:worker_threads';
import { ML100K_SHAPE } from '../src/datasets/synthetic.js';
import { featuredSyntheticStream } from '../src/datasets/synthetic-stream.js';
import { WHOLE_STARS } from '../src/events/scale.js';
import { BACKEND_CHOICES } from '../src/models/two-tower/options.js';
import { TwoTower } from '../src/models/two-tower/two-tower.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH_SIZES = [256, 1024];

function measure(backend: string): Promise<{ rates?: Record<string, number>; failed?: string }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./two-tower-worker.js', import.meta.url), { workerData: { backend, batchSizes: BATCH_SIZES, seconds: SECONDS } });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const backends: Record<string, Record<string, number>> = {};
for (const backend of BACKEND_CHOICES.filter((name) => name !== 'auto')) {
  const result = await measure(backend);
  if (result.failed) {
    process.stderr.write(`${backend}: not available here (${result.failed})\n`);
    continue;
  }
  backends[backend] = result.rates!;
  process.stderr.write(`${backend}: ${JSON.stringify(result.rates)} training examples/s\n`);
}

const { catalog, events } = featuredSyntheticStream(ML100K_SHAPE);
const model = new TwoTower({ scale: WHOLE_STARS, seed: 42, features: catalog.features }, { trainIn: 'inline', backend: 'wasm' });
await model.start();
for (const event of events.slice(0, 20_000)) model.learn([event]);
await model.flush();
const users = Array.from({ length: catalog.users.size }, (_, user) => user);
const items = catalog.items.size;
const timings: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = performance.now();
  model.retrieve(users, items, 100);
  timings.push((performance.now() - started) / users.length);
}
await model.close();
const retrievalMsPerUser = Math.round(median(timings) * 1000) / 1000;
process.stderr.write(`retrieval: top-100 of ${items} items for ${users.length} users, ${timings.map((t) => t.toFixed(3)).join(' / ')} ms per user\n`);
process.stdout.write(JSON.stringify({ backends, retrievalMsPerUser }) + '\n');
