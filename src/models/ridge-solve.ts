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

/** Reusable buffers for rows of width r: the Gram matrix (upper triangle used), right-hand side, solution. */
export class RidgeSystem {
  readonly gram: Float64Array;
  readonly rhs: Float64Array;
  readonly solution: Float64Array;
  /** r rounded up to whole tiles (4 rows, 2 columns), and addRows' gathered rows of that width. */
  private readonly paddedRank: number;
  private block = new Float64Array(0);

  /** Where the SIMD kernels run: a memory holding their column sums, Gram tiles, then the gathered block. */
  private readonly kernels: KernelMemory | undefined;
  private readonly systemMemory: KernelMemory | undefined;

  constructor(
    readonly rank: number,
    simd = simdKernels,
  ) {
    this.paddedRank = Math.ceil(rank / 4) * 4;
    this.kernels = simd ? new KernelMemory(this.blockAt) : undefined;
    // With the kernels, the system itself lives in a memory of its own that never grows (so these views stay valid), where the solve runs.
    this.systemMemory = simd ? new KernelMemory(rank * (rank + 2)) : undefined;
    const system = this.systemMemory?.f64 ?? new Float64Array(rank * (rank + 2));
    this.gram = system.subarray(0, rank * rank);
    this.rhs = system.subarray(rank * rank, rank * (rank + 1));
    this.solution = system.subarray(rank * (rank + 1), rank * (rank + 2));
  }

  /** The kernels' layout: column sums at 0, Gram tiles after them, the block after those. */
  private get blockAt(): number {
    return this.paddedRank * (this.paddedRank + 1);
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
   * `add(rows, ids[k * stride] * r, x, weight)` for k < count, computed another way: an item
   * sweep adds hundreds of rows at once, so they are gathered into one contiguous block and the
   * Gram entries summed in 4 × 2 register tiles (each pass over the block adds 8 entries from 6
   * loads, against 1 entry a load and a store per row one at a time: about 3× faster at r = 20).
   * The same sums in another order: equal to `add`'s within rounding.
   */
  addRows(rows: Float64Array, ids: Int32Array, stride: number, count: number, x: number, weight = 1): void {
    if (this.kernels) return this.addRowsSimd(this.kernels, rows, ids, stride, count, x, weight);
    const { rank: r, gram, rhs } = this;
    const width = this.paddedRank;
    if (this.block.length < count * width) this.block = new Float64Array(Math.max(count * width, 2 * this.block.length));
    const block = this.block;
    // Gathered rows of `width` columns, the padding zero (filled when the block grew, never written since).
    for (let k = 0; k < count; k++) {
      const from = ids[k * stride]! * r;
      const to = k * width;
      for (let f = 0; f < r; f++) block[to + f] = rows[from + f]!;
    }
    const end = count * width;
    for (let f = 0; f < r; f++) {
      let sum = 0;
      for (let at = f; at < end; at += width) sum += block[at]!;
      rhs[f] += x * sum;
    }
    // Tiles of rows f..f+3 by columns g, g+1 (g ≥ f, so the upper triangle and a little below it).
    for (let f = 0; f < r; f += 4) {
      for (let g = f; g < r; g += 2) {
        let a0 = 0,
          a1 = 0,
          b0 = 0,
          b1 = 0,
          c0 = 0,
          c1 = 0,
          d0 = 0,
          d1 = 0;
        for (let at = 0; at < end; at += width) {
          const y0 = block[at + g]!;
          const y1 = block[at + g + 1]!;
          const x0 = block[at + f]!;
          const x1 = block[at + f + 1]!;
          const x2 = block[at + f + 2]!;
          const x3 = block[at + f + 3]!;
          a0 += x0 * y0;
          a1 += x0 * y1;
          b0 += x1 * y0;
          b1 += x1 * y1;
          c0 += x2 * y0;
          c1 += x2 * y1;
          d0 += x3 * y0;
          d1 += x3 * y1;
        }
        const w = weight;
        addUpper(gram, r, f, g, w * a0, w * a1);
        addUpper(gram, r, f + 1, g, w * b0, w * b1);
        addUpper(gram, r, f + 2, g, w * c0, w * c1);
        addUpper(gram, r, f + 3, g, w * d0, w * d1);
      }
    }
  }

  /**
   * addRows by the SIMD kernel: the same gathered block, column sums and tiles, each sum in the
   * same order, so the same numbers. The block's padding columns are zero from the memory's
   * start (or growth) and never written.
   */
  private addRowsSimd(kernels: KernelMemory, rows: Float64Array, ids: Int32Array, stride: number, count: number, x: number, weight: number): void {
    const { rank: r, gram, rhs } = this;
    const width = this.paddedRank;
    const blockAt = this.blockAt;
    const memory = kernels.reserve(blockAt + count * width);
    for (let k = 0; k < count; k++) {
      const from = ids[k * stride]! * r;
      const to = blockAt + k * width;
      for (let f = 0; f < r; f++) memory[to + f] = rows[from + f]!;
    }
    const tilesAt = width;
    kernels.gramSums(blockAt, width, count, 0, tilesAt);
    for (let f = 0; f < r; f++) rhs[f] += x * memory[f]!;
    for (let f = 0; f < r; f += 4) {
      for (let g = f; g < r; g += 2) {
        for (let row = f; row < f + 4; row++) {
          const at = tilesAt + row * width + g;
          addUpper(gram, r, row, g, weight * memory[at]!, weight * memory[at + 1]!);
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
