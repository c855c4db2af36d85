/** One backend's training speed, in a thread of its own (a tfjs backend is chosen per thread). */
import { parentPort, workerData } from 'node:worker_threads';
import { ML100K_SHAPE } from '../src/datasets/synthetic.js';
import { featuredSyntheticStream } from '../src/datasets/synthetic-stream.js';
import { initBackend } from '../src/models/two-tower/backend.js';
import { FeatureEncoder, FIELDS } from '../src/models/two-tower/encoding.js';
import { checkTwoTowerOptions, newPerStep, TWO_TOWER_DEFAULTS, type BackendChoice } from '../src/models/two-tower/options.js';
import { TowerTrainer } from '../src/models/two-tower/trainer.js';

const { backend, batchSizes, seconds } = workerData as { backend: BackendChoice; batchSizes: number[]; seconds: number };
try {
  await initBackend(backend);
  const { catalog, events } = featuredSyntheticStream(ML100K_SHAPE);
  const rates: Record<string, number> = {};
  for (const batchSize of batchSizes) {
    const options = checkTwoTowerOptions({ ...TWO_TOWER_DEFAULTS, batchSize });
    const encoded = new FeatureEncoder(options.genreSlots, catalog.features).encode(events, () => 3.5);
    const trainer = new TowerTrainer(options, 42);
    const chunk = newPerStep(options) * FIELDS;
    let at = 0;
    const step = () => {
      if ((at + 1) * chunk > encoded.length) at = 0;
      trainer.add(encoded.subarray(at * chunk, (at + 1) * chunk));
      at++;
    };
    // Warm-up: the reservoir fills and the backend compiles its kernels.
    for (let k = 0; k < 5; k++) step();
    const before = trainer.steps;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) step();
    const elapsed = (performance.now() - started) / 1000;
    rates[`batch${batchSize}`] = Math.round(((trainer.steps - before) * batchSize) / elapsed);
    trainer.dispose();
  }
  parentPort!.postMessage({ rates });
} catch (error) {
  parentPort!.postMessage({ failed: (error as Error).message });
}
