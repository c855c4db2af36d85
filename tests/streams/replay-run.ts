/** The embedded replay as the stream tests run it: a dataset directory as fast as it goes, micro-batches of 250, lists of 10. */
import { openDataset } from '../../src/datasets/detect.js';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';
import { replay, type ReplayOptions } from '../../streams/replay-job.js';

export async function replayDataset(datasetDir: string, stateDir: string, overrides: Partial<ReplayOptions> = {}) {
  return replay({
    dataset: await openDataset(datasetDir),
    stateDir,
    pacing: { kind: 'max' },
    models: DEFAULT_MODEL_SETTINGS,
    rankModel: 'ensemble',
    k: 10,
    batchSize: 250,
    batchWaitMs: 10,
    ...overrides,
  });
}
