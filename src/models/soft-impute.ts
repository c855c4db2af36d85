/**
 * Soft-Impute and Hard-Impute: batch matrix completion of a centred users × items matrix X,
 * observed on the entries Ω, by a low-rank Z.
 *
 *   Soft-Impute:  minimise ½‖P_Ω(X − Z)‖²_F + λ‖Z‖_*            (‖Z‖_* = Σ_j σ_j(Z), nuclear norm)
 *   Hard-Impute:  minimise ½‖P_Ω(X − Z)‖²_F  subject to rank(Z) ≤ J   (λ = 0 below)
 *
 * P_Ω keeps the observed entries and zeroes the others. Both algorithms iterate on the filled-in
 * matrix X* = P_Ω(X) + P_Ω⊥(Z): the observations where there are some, the current Z elsewhere.
 *
 * softImputeAls (Hastie, Mazumder, Lee, Zadeh 2015, Algorithm 3.1, as R softImpute's
 * Ssimpute.als): Z = U diag(d) Vᵀ with U (n × J), V (m × J) orthonormal. Alternately V is refitted
 * with U fixed and U with V fixed, each a ridge regression of X* (penalty λ) followed by a thin
 * SVD that re-orthonormalises. X* is never formed: it is sparse plus low rank, X* = R + Z with
 * R = P_Ω(X − Z), so X*ᵀU = RᵀU + V diag(d) costs O(|Ω| J + m J). The loop stops once the
 * relative change ‖Z_old − Z‖²_F / ‖Z_old‖²_F (from the factors) is at most `threshold`; for
 * λ > 0 a last unpenalised U step and d ← max(d − λ, 0) give the soft-thresholded SVD, which is
 * the Soft-Impute solution whenever that has rank < J (otherwise the rank-J-restricted one). λ = 0
 * is Hard-Impute at rank J. Per iteration O(|Ω| J + (n + m) J²) time, O((n + m) J) memory.
 *
 * softImputeDense (Mazumder, Hastie, Tibshirani 2010, Algorithm 1 at one λ): from Z = 0, Z ← the
 * SVD of the dense X* with singular values soft-thresholded by λ (λ > 0) or truncated to the
 * top J (λ = 0), until ‖Z_new − Z‖²_F / ‖Z‖²_F ≤ threshold. A full SVD of n × m per iteration:
 * for small catalogues and for checking the ALS; it refuses more than 4e6 cells.
 *
 * Parameters (SOFT_IMPUTE_DEFAULTS / HARD_IMPUTE_DEFAULTS):
 *   lambda         10 / 0      λ, taken off every singular value; those grow with the matrix (the
 *                              tests' 60 × 40 rank-3 one: ≈ 50), so a λ bites harder on small ones
 *   rank           50 / 3      J: a cap on rank(Z) for Soft-Impute, the rank for Hard-Impute;
 *                              at most min(rows, columns) is used
 *   maxIterations  100
 *   threshold      1e-5        stop at relative change ≤ threshold (R softImpute's default)
 *   seed           42          the ALS's random orthonormal start (the dense algorithm starts at 0)
 * The seed studies used λ = 10 and rank 3 with 100 iterations.
 *
 * The fit keeps only nonzero singular values: rank ≤ J, d descending, u rows × rank and
 * v columns × rank row-major, so Z[i][j] = Σ_k u[i·rank + k] d[k] v[j·rank + k] (lowRankEntry).
 * Each (row, column) may be observed once: a duplicate would count twice in the fit, so it throws.
 *
 * References: R. Mazumder, T. Hastie, R. Tibshirani, "Spectral regularization algorithms for
 * learning large incomplete matrices", JMLR 11, 2010; T. Hastie, R. Mazumder, J. D. Lee, R. Zadeh,
 * "Matrix completion and low-rank SVD via fast alternating least squares", JMLR 16, 2015; the R
 * package softImpute (T. Hastie, R. Mazumder), softImpute(type = "als").
 *
 * Example (a rank-1 completion: the second row is twice the first):
 *   const x = { rows: 2, columns: 2, row: Int32Array.of(0, 0, 1), column: Int32Array.of(0, 1, 0), value: Float64Array.of(1, -1, 2) };
 *   const fit = softImputeAls(x, { ...HARD_IMPUTE_DEFAULTS, rank: 1, threshold: 1e-10 });
 *   lowRankEntry(fit, 1, 1); // −1.9998 (53 iterations; the default 1e-5 stops at −1.95)
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { createRng } from '../random.js';
import { gramUpper } from './gram.js';

/** Observed entries of a users × items matrix, already centred (per-user mean removed) by the caller. */
export interface SparseEntries {
  readonly rows: number;
  readonly columns: number;
  readonly row: Int32Array;
  readonly column: Int32Array;
  readonly value: Float64Array;
}

export interface ImputeOptions {
  /** Soft threshold λ on the singular values (0 = Hard-Impute). */
  readonly lambda: number;
  /** Maximum rank J (Hard-Impute: the fixed rank). */
  readonly rank: number;
  readonly maxIterations: number;
  /** Stop once the relative change of Z is at most this. */
  readonly threshold: number;
  /** Seed of the ALS's random orthonormal start. */
  readonly seed: number;
}

/** Z = U diag(d) Vᵀ. u: rows × rank row-major, v: columns × rank row-major, d descending and positive. */
export interface LowRankFit {
  readonly rank: number;
  readonly u: Float64Array;
  readonly d: Float64Array;
  readonly v: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  /** The last ‖Z_old − Z‖²_F / max(‖Z_old‖²_F, 1e-9); from the ALS's factors, within ~1e-15 of rounding (it can dip below 0). */
  readonly relativeChange: number;
}

export const SOFT_IMPUTE_DEFAULTS: ImputeOptions = { lambda: 10, rank: 50, maxIterations: 100, threshold: 1e-5, seed: 42 };
export const HARD_IMPUTE_DEFAULTS: ImputeOptions = { ...SOFT_IMPUTE_DEFAULTS, lambda: 0, rank: 3 };

const DENSE_CELL_LIMIT = 4e6;

/**
 * Singular values below this fraction of the largest are taken as 0: computed from the Gram
 * matrix they have relative error ≈ ε (σ₁/σ)², 2e-4 at 1e-6 and no correct digit at 1e-8. Such
 * a column stays 0 afterwards (with λ > 0 it would only have kept shrinking).
 */
const ZERO_SINGULAR_VALUE = 1e-6;

/** R softImpute's floor on ‖Z_old‖²_F in the relative change. */
const CHANGE_FLOOR = 1e-9;

export function softImputeAls(x: SparseEntries, options: ImputeOptions, onIteration?: (iteration: number, relativeChange: number) => void): LowRankFit {
  validate(x, options, 'softImputeAls');
  const { byRow, byColumn } = groupEntries(x, 'softImputeAls');
  const { rows: n, columns: m } = x;
  const { lambda, maxIterations, threshold } = options;
  const J = Math.min(options.rank, n, m);

  let u: Float64Array = randomOrthonormal(n, J, options.seed);
  let v = new Float64Array(m * J);
  const d = new Float64Array(J).fill(1);
  const uOld = new Float64Array(n * J);
  const vOld = new Float64Array(m * J);
  const dOld = new Float64Array(J);
  const a = new Float64Array(n * J);
  const b = new Float64Array(m * J);
  const q = new Float64Array(J * J);
  const scratch = new Float64Array(Math.max(n, m) * J);
  let uSpare: Float64Array = new Float64Array(n * J);
  let vSpare = new Float64Array(m * J);

  /** V step: B = X*ᵀU (shrunk by d/(d+λ)) = P diag(σ) Qᵀ; V ← P, d ← σ, U ← U Q. */
  const stepV = (): void => {
    fillFromFactors(b, byColumn, v, u, d, scratch);
    if (lambda > 0) shrinkColumns(b, d, lambda);
    thinSvd(b, m, J, v, d, q);
    multiplyInto(u, n, J, q, uSpare);
    [u, uSpare] = [uSpare, u];
  };
  /** U step: A = X* V (shrunk when `shrink`) = P diag(σ) Qᵀ; U ← P, d ← σ, V ← V Q. */
  const stepU = (shrink: boolean): void => {
    fillFromFactors(a, byRow, u, v, d, scratch);
    if (shrink) shrinkColumns(a, d, lambda);
    thinSvd(a, n, J, u, d, q);
    multiplyInto(v, m, J, q, vSpare);
    [v, vSpare] = [vSpare, v];
  };

  let iterations = 0;
  let relativeChange = Infinity;
  while (relativeChange > threshold && iterations < maxIterations) {
    uOld.set(u);
    vOld.set(v);
    dOld.set(d);
    stepV();
    stepU(lambda > 0);
    iterations += 1;
    relativeChange = relativeChangeOfFactors(uOld, dOld, vOld, u, d, v, n, m, J);
    onIteration?.(iterations, relativeChange);
  }
  if (lambda > 0) {
    stepU(false);
    for (let j = 0; j < J; j++) d[j] = Math.max(d[j] - lambda, 0);
  }
  return compact(u, d, v, n, m, J, iterations, relativeChange <= threshold, relativeChange);
}

export function softImputeDense(x: SparseEntries, options: ImputeOptions): LowRankFit {
  validate(x, options, 'softImputeDense');
  const { rows: n, columns: m } = x;
  if (n * m > DENSE_CELL_LIMIT) {
    throw new RangeError(
      `softImputeDense: ${n} × ${m} is over the ${DENSE_CELL_LIMIT} dense cells it allows; use softImputeAls, which never forms the dense matrix`,
    );
  }
  const { lambda, maxIterations, threshold } = options;
  const J = Math.min(options.rank, n, m);

  const filled = new Float64Array(n * m);
  const observed = new Uint8Array(n * m);
  for (let k = 0; k < x.value.length; k++) {
    const cell = x.row[k] * m + x.column[k];
    if (observed[cell]) throw duplicateCell('softImputeDense', x.row[k], x.column[k]);
    filled[cell] = x.value[k];
    observed[cell] = 1;
  }
  let z = new Float64Array(n * m);
  let zNew = new Float64Array(n * m);
  const d = new Float64Array(J);
  const u = new Float64Array(n * J);
  const v = new Float64Array(m * J);

  let iterations = 0;
  let relativeChange = Infinity;
  while (relativeChange > threshold && iterations < maxIterations) {
    for (let cell = 0; cell < n * m; cell++) if (!observed[cell]) filled[cell] = z[cell];
    const svd = new SingularValueDecomposition(Matrix.from1DArray(n, m, filled), { autoTranspose: true });
    const left = svd.leftSingularVectors;
    const right = svd.rightSingularVectors;
    for (let j = 0; j < J; j++) {
      d[j] = lambda > 0 ? Math.max(svd.diagonal[j] - lambda, 0) : svd.diagonal[j];
      for (let i = 0; i < n; i++) u[i * J + j] = left.get(i, j);
      for (let i = 0; i < m; i++) v[i * J + j] = right.get(i, j);
    }
    let difference = 0;
    let previous = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < m; c++) {
        let entry = 0;
        for (let j = 0; j < J; j++) entry += u[i * J + j] * d[j] * v[c * J + j];
        const cell = i * m + c;
        zNew[cell] = entry;
        difference += (entry - z[cell]) ** 2;
        previous += z[cell] ** 2;
      }
    }
    [z, zNew] = [zNew, z];
    iterations += 1;
    relativeChange = difference / Math.max(previous, CHANGE_FLOOR);
  }
  return compact(u, d, v, n, m, J, iterations, relativeChange <= threshold, relativeChange);
}

/** Z[row][column] of a fit. */
export function lowRankEntry(fit: LowRankFit, row: number, column: number): number {
  const { rank, u, d, v } = fit;
  let sum = 0;
  for (let k = 0, i = row * rank, j = column * rank; k < rank; k++) sum += u[i + k] * d[k] * v[j + k];
  return sum;
}

function validate(x: SparseEntries, options: ImputeOptions, caller: string): void {
  const { rows, columns, row, column, value } = x;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`${caller}: rows and columns must be positive integers, got ${rows} × ${columns}`);
  }
  if (row.length !== value.length || column.length !== value.length) {
    throw new RangeError(`${caller}: row, column and value must have one length, got ${row.length}, ${column.length}, ${value.length}`);
  }
  const { lambda, rank, maxIterations, threshold, seed } = options;
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new RangeError(`${caller}: lambda must be a finite number ≥ 0, got ${lambda}`);
  if (!(Number.isInteger(rank) && rank >= 1)) throw new RangeError(`${caller}: rank must be a positive integer, got ${rank}`);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1))
    throw new RangeError(`${caller}: maxIterations must be a positive integer, got ${maxIterations}`);
  if (!(threshold >= 0)) throw new RangeError(`${caller}: threshold must be ≥ 0, got ${threshold}`);
  if (!Number.isInteger(seed)) throw new RangeError(`${caller}: seed must be an integer, got ${seed}`);
  for (let k = 0; k < value.length; k++) {
    const r = row[k];
    const c = column[k];
    if (r < 0 || r >= rows || c < 0 || c >= columns) throw new RangeError(`${caller}: entry ${k} at (${r}, ${c}) is outside ${rows} × ${columns}`);
    if (!Number.isFinite(value[k])) throw new RangeError(`${caller}: entry ${k} at (${r}, ${c}) has value ${value[k]}`);
  }
}

/** A seeded Gaussian n × J, orthonormalised by modified Gram–Schmidt (row-major). */
function randomOrthonormal(n: number, J: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const u = new Float64Array(n * J);
  for (let e = 0; e < n * J; e++) u[e] = rng.normal();
  for (let j = 0; j < J; j++) {
    for (let l = 0; l < j; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i * J + j] * u[i * J + l];
      for (let i = 0; i < n; i++) u[i * J + j] -= dot * u[i * J + l];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += u[i * J + j] ** 2;
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < n; i++) u[i * J + j] *= scale;
  }
  return u;
}

/** The entries of one orientation: side = the rows of the matrix being accumulated. */
interface Oriented {
  readonly side: Int32Array;
  readonly across: Int32Array;
  readonly value: Float64Array;
}

/**
 * The entries in (row, column) and in (column, row) order, by three stable counting sorts:
 * grouped by the side being accumulated, the residual pass runs twice as fast (measured on 1M
 * entries). A cell observed twice shows as two neighbours in row order.
 */
function groupEntries(x: SparseEntries, caller: string): { byRow: Oriented; byColumn: Oriented } {
  const { rows, columns, row, column, value } = x;
  const identity = new Int32Array(value.length);
  for (let k = 0; k < identity.length; k++) identity[k] = k;
  const rowMajor = countingOrder(row, rows, countingOrder(column, columns, identity));
  const columnMajor = countingOrder(column, columns, rowMajor);
  for (let k = 1; k < rowMajor.length; k++) {
    const e = rowMajor[k];
    const f = rowMajor[k - 1];
    if (row[e] === row[f] && column[e] === column[f]) throw duplicateCell(caller, row[e], column[e]);
  }
  const orient = (order: Int32Array, side: Int32Array, across: Int32Array): Oriented => {
    const oriented = { side: new Int32Array(order.length), across: new Int32Array(order.length), value: new Float64Array(order.length) };
    for (let k = 0; k < order.length; k++) {
      const e = order[k];
      oriented.side[k] = side[e];
      oriented.across[k] = across[e];
      oriented.value[k] = value[e];
    }
    return oriented;
  };
  return { byRow: orient(rowMajor, row, column), byColumn: orient(columnMajor, column, row) };
}

/** `order` stably sorted by keys[order[k]] ∈ 0 .. buckets − 1. */
function countingOrder(keys: Int32Array, buckets: number, order: Int32Array): Int32Array {
  const start = new Int32Array(buckets + 1);
  for (let k = 0; k < order.length; k++) start[keys[order[k]] + 1] += 1;
  for (let bucket = 0; bucket < buckets; bucket++) start[bucket + 1] += start[bucket];
  const sorted = new Int32Array(order.length);
  for (let k = 0; k < order.length; k++) sorted[start[keys[order[k]]]++] = order[k];
  return sorted;
}

function duplicateCell(caller: string, row: number, column: number): RangeError {
  return new RangeError(`${caller}: (${row}, ${column}) is observed more than once; keep one value per cell`);
}

/**
 * out = X*·other on one side, X* = R + Z with Z = own diag(d) otherᵀ in this orientation:
 * out[i] = own[i] diag(d) + Σ_{k: side_k = i} r_k other[across_k], r_k = value_k − Z at entry k.
 * The residual and the sparse product share one pass over the entries.
 */
function fillFromFactors(
  out: Float64Array,
  { side, across, value }: Oriented,
  own: Float64Array,
  other: Float64Array,
  d: Float64Array,
  scratch: Float64Array,
): void {
  const J = d.length;
  const scaled = scratch.subarray(0, own.length);
  for (let i = 0; i < own.length; i += J) for (let j = 0; j < J; j++) scaled[i + j] = own[i + j] * d[j];
  out.set(scaled);
  for (let k = 0; k < value.length; k++) {
    const i = side[k] * J;
    const o = across[k] * J;
    let z = 0;
    for (let j = 0; j < J; j++) z += scaled[i + j] * other[o + j];
    const residual = value[k] - z;
    for (let j = 0; j < J; j++) out[i + j] += residual * other[o + j];
  }
}

/** Column j of a row-major k × J matrix times d_j / (d_j + λ): the ridge shrinkage of the ALS step. */
function shrinkColumns(matrix: Float64Array, d: Float64Array, lambda: number): void {
  const J = d.length;
  const factor = d.map((dj) => dj / (dj + lambda));
  for (let e = 0; e < matrix.length; e++) matrix[e] *= factor[e % J];
}

/**
 * Thin SVD M = P diag(σ) Qᵀ of a row-major k × J matrix, σ descending, through the J × J Gram
 * matrix MᵀM = Q diag(σ²) Qᵀ and P = M Q diag(1/σ): at 1682 × 100, ml-matrix's SVD takes 0.8 s
 * and the eigendecomposition of the Gram matrix 80 ms. Columns of P with σ ≈ 0 are zero.
 */
function thinSvd(matrix: Float64Array, k: number, J: number, p: Float64Array, sigma: Float64Array, q: Float64Array): void {
  const gram = gramUpper(new Float64Array(J * J), matrix, k, J);
  for (let a = 0; a < J; a++) for (let b = 0; b < a; b++) gram[a * J + b] = gram[b * J + a];

  const evd = new EigenvalueDecomposition(Matrix.from1DArray(J, J, gram), { assumeSymmetric: true });
  const eigenvalues = evd.realEigenvalues;
  const vectors = evd.eigenvectorMatrix;
  const order = Array.from({ length: J }, (_, j) => j).sort((i, j) => eigenvalues[j] - eigenvalues[i]);
  const largest = Math.sqrt(Math.max(eigenvalues[order[0]], 0));
  const inverse = new Float64Array(J);
  for (let j = 0; j < J; j++) {
    const s = Math.sqrt(Math.max(eigenvalues[order[j]], 0));
    sigma[j] = s > ZERO_SINGULAR_VALUE * largest ? s : 0;
    inverse[j] = sigma[j] > 0 ? 1 / sigma[j] : 0;
    for (let a = 0; a < J; a++) q[a * J + j] = vectors.get(a, order[j]);
  }
  multiplyInto(matrix, k, J, q, p);
  for (let e = 0; e < p.length; e++) p[e] *= inverse[e % J];
}

/** out = matrix · q for a row-major k × J matrix and a J × J q. */
function multiplyInto(matrix: Float64Array, k: number, J: number, q: Float64Array, out: Float64Array): void {
  out.fill(0);
  for (let i = 0; i < k; i++) {
    const row = i * J;
    for (let a = 0; a < J; a++) {
      const value = matrix[row + a];
      if (value === 0) continue;
      const g = a * J;
      for (let j = 0; j < J; j++) out[row + j] += value * q[g + j];
    }
  }
}

/**
 * ‖Z_old − Z‖²_F / max(‖Z_old‖²_F, 1e-9) from the factors (R softImpute's Frob): with U, V
 * orthonormal ‖Z‖²_F = ‖d‖², and ⟨Z, Z_old⟩ = Σ_{j,l} d_j d_old,l (UᵀU_old)_{jl} (VᵀV_old)_{jl}.
 */
function relativeChangeOfFactors(
  uOld: Float64Array,
  dOld: Float64Array,
  vOld: Float64Array,
  u: Float64Array,
  d: Float64Array,
  v: Float64Array,
  n: number,
  m: number,
  J: number,
): number {
  const cu = crossGram(u, uOld, n, J);
  const cv = crossGram(v, vOld, m, J);
  let inner = 0;
  let oldSquared = 0;
  let newSquared = 0;
  for (let j = 0; j < J; j++) {
    oldSquared += dOld[j] ** 2;
    newSquared += d[j] ** 2;
    for (let l = 0; l < J; l++) inner += d[j] * dOld[l] * cu[j * J + l] * cv[j * J + l];
  }
  return (oldSquared + newSquared - 2 * inner) / Math.max(oldSquared, CHANGE_FLOOR);
}

/** Aᵀ B for row-major k × J matrices A, B. */
function crossGram(a: Float64Array, b: Float64Array, k: number, J: number): Float64Array {
  const out = new Float64Array(J * J);
  for (let i = 0; i < k; i++) {
    const row = i * J;
    for (let j = 0; j < J; j++) {
      const value = a[row + j];
      if (value === 0) continue;
      const g = j * J;
      for (let l = 0; l < J; l++) out[g + l] += value * b[row + l];
    }
  }
  return out;
}

/** The fit with only the columns whose singular value is positive (d is descending). */
function compact(
  u: Float64Array,
  d: Float64Array,
  v: Float64Array,
  n: number,
  m: number,
  J: number,
  iterations: number,
  converged: boolean,
  relativeChange: number,
): LowRankFit {
  let rank = 0;
  while (rank < J && d[rank] > 0) rank += 1;
  const take = (factor: Float64Array, k: number): Float64Array => {
    const out = new Float64Array(k * rank);
    for (let i = 0; i < k; i++) out.set(factor.subarray(i * J, i * J + rank), i * rank);
    return out;
  };
  return { rank, u: take(u, n), d: d.slice(0, rank), v: take(v, m), iterations, converged, relativeChange };
}
