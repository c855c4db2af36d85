/** What `--dataset` names: a MovieLens-shaped directory, or 'synthetic' (generated once, then cached). */
import { openDataset } from '../../src/datasets/detect.js';
import type { Dataset } from '../../src/datasets/rows.js';

export async function resolveDataset(spec: string): Promise<Dataset> {
  return openDataset(spec);
}
