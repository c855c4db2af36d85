/**
 * What `--dataset` names: a MovieLens-shaped directory, or 'synthetic' — the ML-100K-shaped
 * synthetic set, generated once into the cache (atomically: into a temporary folder, then
 * renamed) and reused after that.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset } from '../../src/datasets/detect.js';
import type { Dataset } from '../../src/datasets/rows.js';
import { GENERATOR_VERSION, ML100K_SHAPE } from '../../src/datasets/synthetic.js';
import { writeSyntheticDataset } from '../datasets/write-synthetic.js';
import { cacheDir } from './defaults.js';

export const SYNTHETIC = 'synthetic';

export async function resolveDataset(spec: string): Promise<Dataset> {
  return openDataset(spec === SYNTHETIC ? await ensureSynthetic() : spec);
}

/** The default synthetic set's folder, generating it on first use. */
export async function ensureSynthetic(): Promise<string> {
  const { users, items, ratings, seed } = ML100K_SHAPE;
  const dir = join(cacheDir(), 'synthetic', `ml-100k-shaped-${users}x${items}x${ratings}-seed${seed}-v${GENERATOR_VERSION}`);
  if (existsSync(join(dir, 'u.data'))) return dir;
  const partial = `${dir}.partial-${process.pid}`;
  await mkdir(partial, { recursive: true });
  process.stderr.write(`generating the synthetic dataset (${ratings} ratings) into ${dir}\n`);
  try {
    await writeSyntheticDataset(partial, ML100K_SHAPE);
    renameSync(partial, dir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return dir;
}
