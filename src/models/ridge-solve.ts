/**
 * Ridge regression of one factor row, the inner step of ALS fold-in: solve
 *
 *   (Σ_k b_k b_kᵀ + λ I) a = Σ_k x_k b_k
 *
 * for a, given the normal equations' sums, by an in-place Cholesky factorisation of the r × r
 * system. Written on flat Float64Arrays rather than through ml-matrix objects: a fold-in solves
 * one such system per touched row, and at r = 20 ml-matrix's CholeskyDecomposition costs about
 * 44 µs a solve (object and array-of-arrays allocation), this about 2 µs. The tests check it
 * against ml-matrix.
 */
import { KernelMemory, simdKernels } from '../kernels/wasm-kernels.js';
import type { GrowableRows } from './packed.js';

/** Reusable buffers for rows of width r: the Gram matrix (upper triangle used), right-hand side, solution. */
export class RidgeSystem {
  readonly gram: Float64Array;
  readonly rhs: Float64Array;
  readonly solution: Float64Array;
  /** r rounded up to whole tiles (4 rows, 2 columns), and addRows' column sums and tiles at that width. */
  private readonly paddedRank: number;
  private readonly sums: Float64Array;
  private readonly tiles: Float64Array;
  /** With the kernels, the system lives in a memory of its own that never grows (so these views stay valid), where the solve runs. */
  private readonly systemMemory: KernelMemory | undefined;

  constructor(
    readonly rank: number,
    simd = simdKernels,
  ) {
    this.paddedRank = Math.ceil(rank / 4) * 4;
    this.sums = new Float64Array(this.paddedRank);
    this.tiles = new Float64Array(this.paddedRank * this.paddedRank);
    this.systemMemory = simd ? new KernelMemory(rank * (rank + 2)) : undefined;
    const system = this.systemMemory?.f64 ?? new Float64Array(rank * (rank + 2));
    this.gram = system.subarray(0, rank * rank);
    this.rhs = system.subarray(rank * rank, rank * (rank + 1));
    this.solution = system.subarray(rank * (rank + 1), rank * (rank + 2));
  }

  /** Start a system: Gram = base + λ I (base: an r × r upper triangle shared by every row, as implicit ALS's YᵀY), rhs = 0. */
  reset(lambda: number, base?: Float64Array): void {
    if (base) this.gram.set(base);
    else this.gram.fill(0);
    this.rhs.fill(0);
    for (let f = 0; f < this.rank; f++) this.gram[f * this.rank + f] += lambda;
  }

  /** Add one observation x with regressor row `row` (read from `row[offset..offset+r)`), weighted `weight` in the Gram matrix. */
  add(row: Float64Array, offset: number, x: number, weight = 1): void {
    const { rank, gram, rhs } = this;
    for (let f = 0; f < rank; f++) {
      const bf = row[offset + f];
      rhs[f] += x * bf;
      const wf = weight * bf;
      const at = f * rank;
      for (let g = f; g < rank; g++) gram[at + g] += wf * row[offset + g];
    }
  }

  /**
   * `add(table.raw, ids[k * stride] * r, x, weight)` for k < count, computed another way: an
   * item sweep adds hundreds of rows at once, so their column sums and Gram entries are summed
   * in 4 × 2 register tiles (GrowableRows.gramSums, in place by the SIMD kernel), then added.
   * The same sums in another order: equal to `add`'s within rounding.
   */
  addRows(table: GrowableRows, ids: Int32Array, stride: number, count: number, x: number, weight = 1): void {
    if (table.width !== this.rank) throw new RangeError(`addRows: a table ${table.width} wide for a system of rank ${this.rank}`);
    const { rank: r, gram, rhs, sums, tiles } = this;
    const width = this.paddedRank;
    table.gramSums(ids, stride, count, width, sums, tiles);
    for (let f = 0; f < r; f++) rhs[f] += x * sums[f]!;
    for (let f = 0; f < r; f += 4) {
      for (let g = f; g < r; g += 2) {
        for (let row = f; row < f + 4; row++) {
          const at = row * width + g;
          addUpper(gram, r, row, g, weight * tiles[at]!, weight * tiles[at + 1]!);
        }
      }
    }
  }

  /**
   * Solve into `solution` (the Gram matrix is overwritten). A pivot that rounding has made
   * non-positive (only possible with λ ≈ 0 and collinear rows) is floored at a tiny fraction
   * of the diagonal's scale, so that the solve stays finite (not small: keep λ > 0 for that).
   */
  solve(): Float64Array {
    const { rank: r, gram: a, rhs, solution: x } = this;
    if (this.systemMemory) {
      this.systemMemory.choleskySolve(0, r * r, r * (r + 1), r);
      return x;
    }
    let scale = 0;
    for (let f = 0; f < r; f++) scale = Math.max(scale, a[f * r + f]);
    const floor = Math.max(scale, 1e-300) * 1e-12;
    // Upper Cholesky in place: A = Uᵀ U, U stored in the upper triangle.
    for (let j = 0; j < r; j++) {
      let d = a[j * r + j];
      for (let k = 0; k < j; k++) d -= a[k * r + j] * a[k * r + j];
      const pivot = d > floor ? Math.sqrt(d) : Math.sqrt(floor);
      a[j * r + j] = pivot;
      for (let i = j + 1; i < r; i++) {
        let s = a[j * r + i];
        for (let k = 0; k < j; k++) s -= a[k * r + j] * a[k * r + i];
        a[j * r + i] = s / pivot;
      }
    }
    // Uᵀ y = rhs, then U x = y.
    for (let i = 0; i < r; i++) {
      let s = rhs[i];
      for (let k = 0; k < i; k++) s -= a[k * r + i] * x[k];
      x[i] = s / a[i * r + i];
    }
    for (let i = r - 1; i >= 0; i--) {
      let s = x[i];
      for (let k = i + 1; k < r; k++) s -= a[i * r + k] * x[k];
      x[i] = s / a[i * r + i];
    }
    return x;
  }
}

/** gram[row][col] += v0 and gram[row][col + 1] += v1, for the entries of the r × r upper triangle among them. */
function addUpper(gram: Float64Array, r: number, row: number, col: number, v0: number, v1: number): void {
  if (row >= r) return;
  if (col >= row && col < r) gram[row * r + col] += v0;
  if (col + 1 >= row && col + 1 < r) gram[row * r + col + 1] += v1;
}
