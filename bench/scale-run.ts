/** One size of bench:scale-curve: the default replay of a dataset folder, in a process of its own; prints its figures as JSON. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../src/datasets/detect.js';
import { DEFAULT_MODEL_SETTINGS, DEFAULT_RANK_MODEL } from '../src/models/registry.js';
import { replay } from '../streams/replay-job.js';

let lastShown = 0;
const started = performance.now();
const stateDir = mkdtempSync(join(tmpdir(), 'rxrec-scale-'));
try {
  const summary = await replay({
    dataset: await openDataset(process.argv[2]!),
    stateDir,
    pacing: { kind: 'max' },
    models: DEFAULT_MODEL_SETTINGS,
    rankModel: DEFAULT_RANK_MODEL,
    k: 10,
    batchSize: 5000,
    batchWaitMs: 50,
    // The 10M stream replays for over an hour: a line on standard error every 5 % of it.
    onBatch: (_report, { position, total }) => {
      const step = Math.max(1, Math.round(total / 20));
      if (Math.floor(position / step) > Math.floor(lastShown / step)) {
        lastShown = position;
        process.stderr.write(`  ${position} of ${total} events, ${Math.round((performance.now() - started) / 1000)} s\n`);
      }
    },
  });
  console.log(
    JSON.stringify({
      events: summary.events,
      eventsPerSecond: Math.round(summary.eventsPerSecond),
      microsPerEvent: Math.round((summary.seconds / summary.events) * 1e6 * 10) / 10,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      seconds: Math.round(summary.seconds * 10) / 10,
    }),
  );
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
