/** The two-tower's sparse parameters: one embedding table per id kind. */
import { EmbeddingTable } from './embedding-table.js';
import type { TwoTowerOptions } from './options.js';

export interface TowerTables {
  readonly userId: EmbeddingTable;
  readonly itemId: EmbeddingTable;
  readonly gender: EmbeddingTable;
  readonly occupation: EmbeddingTable;
}

export const TABLE_NAMES = ['userId', 'itemId', 'gender', 'occupation'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/**
 * Id rows start at zero, which is what a dropped id gathers (options.idDropout), so a user or
 * item never trained is exactly its features' placement; the dense layers break the symmetry.
 * The categorical rows start like Keras' Embedding (uniform ±0.05, sd 0.029).
 */
const EMBEDDING_INIT_SD = 0.03;

export function createTables(options: Pick<TwoTowerOptions, 'embedding'>, seed: number): TowerTables {
  const e = options.embedding;
  const table = (dim: number, tableId: number, std: number) => new EmbeddingTable(dim, { seed, tableId: 100 + tableId, std });
  return {
    userId: table(e, 0, 0),
    itemId: table(e, 1, 0),
    gender: table(e / 2, 2, EMBEDDING_INIT_SD),
    occupation: table(e / 2, 3, EMBEDDING_INIT_SD),
  };
}
