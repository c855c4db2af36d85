/**
 * An embedding table outside tfjs: a growable Float32Array with one row per id, created on
 * first sight (seeded, so a row's start depends only on its coordinates), and its own sparse
 * optimizer: lazy Adam, whose moments and step count are per row and advance only when the row
 * is in a batch (Kingma & Ba 2015 with TF Addons' LazyAdam's row-wise update). tfjs sees only
 * the rows gathered for a batch, as inputs, and hands back their gradients; the vocabulary is
 * therefore never fixed, and no gradient of `gather` is ever computed.
 */
import { resized } from '../../typed-arrays.js';
import { seededNormal } from '../seeded-init.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;
/** Rows per checkpoint block: a changed row rewrites its block. */
export const BLOCK_ROWS = 128;

export interface TableInit {
  readonly seed: number;
  /** Distinguishes tables in the seeded initialisation. */
  readonly tableId: number;
  /** Standard deviation of the initial values (0: zeros). */
  readonly std: number;
}

/** A row's values, moments and step count, packed for checkpoints: [values | m | v | steps]. */
export type PackedRows = Float32Array;

export class EmbeddingTable {
  private values: Float32Array;
  private m: Float32Array;
  private v: Float32Array;
  private steps: Float32Array;
  private rows = 0;
  /** Rows changed since serving last took them, and checkpoint blocks changed since the last checkpoint. */
  private readonly dirty = new Set<number>();
  private readonly dirtyBlocks = new Set<number>();

  constructor(
    readonly dim: number,
    private readonly init: TableInit,
    initialRows = 256,
  ) {
    this.values = new Float32Array(initialRows * dim);
    this.m = new Float32Array(initialRows * dim);
    this.v = new Float32Array(initialRows * dim);
    this.steps = new Float32Array(initialRows);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Rows 0..index exist afterwards. */
  ensure(index: number): void {
    if (index < this.rows) return;
    const capacity = this.steps.length;
    if (index >= capacity) {
      const grown = Math.max(index + 1, capacity * 2);
      this.values = resized(this.values, grown * this.dim);
      this.m = resized(this.m, grown * this.dim);
      this.v = resized(this.v, grown * this.dim);
      this.steps = resized(this.steps, grown);
    }
    const { seed, tableId, std } = this.init;
    for (let row = this.rows; row <= index; row++) {
      if (std > 0) for (let c = 0; c < this.dim; c++) this.values[row * this.dim + c] = seededNormal(std, seed, tableId, row, c);
    }
    this.rows = index + 1;
  }

  /** The initial value of a row not created yet (what `ensure` would give it), without creating it. */
  initialValue(row: number, column: number): number {
    return this.init.std > 0 ? seededNormal(this.init.std, this.init.seed, this.init.tableId, row, column) : 0;
  }

  /** A live view of one row's values. */
  row(index: number): Float32Array {
    return this.values.subarray(index * this.dim, (index + 1) * this.dim);
  }

  /** Rows `indices[b]` into `out` (B × dim, row-major), creating rows on first sight; index -1 gathers zeros. */
  gather(indices: Int32Array, out: Float32Array): void {
    for (let b = 0; b < indices.length; b++) {
      const index = indices[b]!;
      if (index < 0) {
        out.fill(0, b * this.dim, (b + 1) * this.dim);
        continue;
      }
      this.ensure(index);
      out.set(this.values.subarray(index * this.dim, (index + 1) * this.dim), b * this.dim);
    }
  }

  /**
   * One lazy-Adam step on the rows of a batch: `grads` (B × dim) holds d loss / d row for each
   * gathered position; gradients of a row gathered several times are summed first. Positions
   * with index -1 (dropped rows) are skipped.
   */
  applyGradients(indices: Int32Array, grads: Float32Array, learningRate: number): void {
    const { dim } = this;
    const summed = new Map<number, Float32Array>();
    for (let b = 0; b < indices.length; b++) {
      const index = indices[b]!;
      if (index < 0) continue;
      let sum = summed.get(index);
      if (!sum) summed.set(index, (sum = new Float32Array(dim)));
      for (let c = 0; c < dim; c++) sum[c]! += grads[b * dim + c]!;
    }
    for (const [index, grad] of summed) {
      const t = ++this.steps[index]!;
      const correction1 = 1 - BETA1 ** t;
      const correction2 = 1 - BETA2 ** t;
      const offset = index * dim;
      for (let c = 0; c < dim; c++) {
        const g = grad[c]!;
        const m = (this.m[offset + c] = BETA1 * this.m[offset + c]! + (1 - BETA1) * g);
        const v = (this.v[offset + c] = BETA2 * this.v[offset + c]! + (1 - BETA2) * g * g);
        this.values[offset + c]! -= (learningRate * (m / correction1)) / (Math.sqrt(v / correction2) + EPSILON);
      }
      this.dirty.add(index);
      this.dirtyBlocks.add(Math.floor(index / BLOCK_ROWS));
    }
  }

  /** Checkpoint blocks (BLOCK_ROWS rows each) changed since the last call. */
  drainDirtyBlocks(): number[] {
    const blocks = [...this.dirtyBlocks].sort((a, b) => a - b);
    this.dirtyBlocks.clear();
    return blocks;
  }

  /** Block `block`'s rows with their optimizer state. */
  packBlock(block: number): PackedRows {
    return this.pack(block * BLOCK_ROWS, Math.min(this.rows, (block + 1) * BLOCK_ROWS));
  }

  unpackBlock(block: number, packed: PackedRows): void {
    this.unpack(block * BLOCK_ROWS, packed);
  }

  /** Rows updated since the last call. */
  drainDirty(): number[] {
    const rows = [...this.dirty].sort((a, b) => a - b);
    this.dirty.clear();
    return rows;
  }

  /** Values of `rows`, concatenated (what serving needs). */
  valuesOf(rows: readonly number[]): Float32Array {
    const out = new Float32Array(rows.length * this.dim);
    rows.forEach((row, i) => out.set(this.row(row), i * this.dim));
    return out;
  }

  /** Set `rows`' values from `values` (rows.length × dim), creating rows as needed. */
  setValues(rows: ArrayLike<number>, values: Float32Array): void {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      this.ensure(row);
      this.values.set(values.subarray(i * this.dim, (i + 1) * this.dim), row * this.dim);
    }
  }

  /** Rows `from`..`to`-1 with their optimizer state, for a checkpoint block. */
  pack(from: number, to: number): PackedRows {
    const { dim } = this;
    const count = to - from;
    const out = new Float32Array(count * (3 * dim + 1));
    out.set(this.values.subarray(from * dim, to * dim), 0);
    out.set(this.m.subarray(from * dim, to * dim), count * dim);
    out.set(this.v.subarray(from * dim, to * dim), 2 * count * dim);
    out.set(this.steps.subarray(from, to), 3 * count * dim);
    return out;
  }

  /** Inverse of `pack`. */
  unpack(from: number, packed: PackedRows): void {
    const { dim } = this;
    const count = packed.length / (3 * dim + 1);
    if (!Number.isInteger(count)) throw new Error(`a stored block of a ${dim}-wide table has ${packed.length} values`);
    this.ensure(from + count - 1);
    this.values.set(packed.subarray(0, count * dim), from * dim);
    this.m.set(packed.subarray(count * dim, 2 * count * dim), from * dim);
    this.v.set(packed.subarray(2 * count * dim, 3 * count * dim), from * dim);
    this.steps.set(packed.subarray(3 * count * dim), from);
  }
}
