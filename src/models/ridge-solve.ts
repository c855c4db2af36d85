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

/** Reusable buffers for rows of width r: the Gram matrix (upper triangle used), right-hand side, solution. */
export class RidgeSystem {
  readonly gram: Float64Array;
  readonly rhs: Float64Array;
  readonly solution: Float64Array;

  constructor(readonly rank: number) {
    this.gram = new Float64Array(rank * rank);
    this.rhs = new Float64Array(rank);
    this.solution = new Float64Array(rank);
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
   * Solve into `solution` (the Gram matrix is overwritten). A pivot that rounding has made
   * non-positive (only possible with λ ≈ 0 and collinear rows) is floored at a tiny fraction
   * of the diagonal's scale, so that the solve stays finite (not small: keep λ > 0 for that).
   */
  solve(): Float64Array {
    const { rank: r, gram: a, rhs, solution: x } = this;
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
