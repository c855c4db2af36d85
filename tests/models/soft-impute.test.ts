import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import {
  HARD_IMPUTE_DEFAULTS,
  lowRankEntry,
  SOFT_IMPUTE_DEFAULTS,
  softImputeAls,
  softImputeDense,
  type ImputeOptions,
  type LowRankFit,
  type SparseEntries,
} from '../../src/models/soft-impute.js';
import { createRng } from '../../src/random.js';

const ROWS = 60;
const COLUMNS = 40;

interface Cell {
  readonly row: number;
  readonly column: number;
  readonly value: number;
}

interface Problem {
  readonly x: SparseEntries;
  readonly heldOut: readonly Cell[];
}

/**
 * ROWS × COLUMNS of rank 3 (N(0, 1) factors) plus N(0, 0.1²) noise; each cell observed with
 * probability 0.4, else held out with probability 1/3 (20 % of all cells). Every row is then
 * centred by its observed mean, as the caller does, so predicting 0 is predicting the row mean.
 */
function lowRankProblem(seed: number): Problem {
  const rng = createRng(seed);
  const rank = 3;
  const left = Array.from({ length: ROWS }, () => Array.from({ length: rank }, () => rng.normal()));
  const right = Array.from({ length: COLUMNS }, () => Array.from({ length: rank }, () => rng.normal()));
  const observed: Cell[] = [];
  const heldOut: Cell[] = [];
  for (let row = 0; row < ROWS; row++) {
    for (let column = 0; column < COLUMNS; column++) {
      let value = 0.1 * rng.normal();
      for (let k = 0; k < rank; k++) value += left[row]![k]! * right[column]![k]!;
      const draw = rng.next();
      if (draw < 0.4) observed.push({ row, column, value });
      else if (draw < 0.6) heldOut.push({ row, column, value });
    }
  }
  const mean = Array.from({ length: ROWS }, (_, row) => {
    const values = observed.filter((cell) => cell.row === row).map((cell) => cell.value);
    return values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);
  });
  const centre = (cell: Cell): Cell => ({ ...cell, value: cell.value - mean[cell.row]! });
  const centred = observed.map(centre);
  return {
    x: {
      rows: ROWS,
      columns: COLUMNS,
      row: Int32Array.from(centred, (cell) => cell.row),
      column: Int32Array.from(centred, (cell) => cell.column),
      value: Float64Array.from(centred, (cell) => cell.value),
    },
    heldOut: heldOut.map(centre),
  };
}

interface Reference {
  readonly z: number[][];
  readonly singularValues: number[];
  readonly iterations: number;
}

/**
 * Mazumder, Hastie, Tibshirani (2010) written out plainly, independent of the product code:
 * from Z = 0, Z ← SVD of (observed values, Z elsewhere) with the singular values soft-thresholded
 * by λ (λ > 0) or kept (λ = 0), the top `rank` only; stop once ‖ΔZ‖²_F / ‖Z‖²_F ≤ threshold.
 */
function referenceImpute(x: SparseEntries, { lambda, rank, maxIterations, threshold }: ImputeOptions): Reference {
  const observed: Array<Array<number | undefined>> = Array.from({ length: x.rows }, () => new Array<number | undefined>(x.columns).fill(undefined));
  for (let k = 0; k < x.value.length; k++) observed[x.row[k]!]![x.column[k]!] = x.value[k]!;
  let z: number[][] = Array.from({ length: x.rows }, () => new Array<number>(x.columns).fill(0));
  let singularValues: number[] = [];
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    const filled = z.map((zRow, i) => zRow.map((zij, j) => observed[i]![j] ?? zij));
    const svd = new SingularValueDecomposition(new Matrix(filled), { autoTranspose: true });
    const kept = svd.diagonal.slice(0, rank).map((sigma) => (lambda > 0 ? Math.max(sigma - lambda, 0) : sigma));
    singularValues = kept.filter((sigma) => sigma > 0);
    const left = svd.leftSingularVectors;
    const right = svd.rightSingularVectors;
    const next = z.map((zRow, i) => zRow.map((_, j) => kept.reduce((sum, sigma, k) => sum + left.get(i, k) * sigma * right.get(j, k), 0)));
    let change = 0;
    let size = 0;
    for (let i = 0; i < x.rows; i++) {
      for (let j = 0; j < x.columns; j++) {
        change += (next[i]![j]! - z[i]![j]!) ** 2;
        size += z[i]![j]! ** 2;
      }
    }
    z = next;
    if (change / Math.max(size, 1e-9) <= threshold) return { z, singularValues, iterations: iteration };
  }
  return { z, singularValues, iterations: maxIterations };
}

function rmse(cells: readonly Cell[], predict: (row: number, column: number) => number): number {
  return Math.sqrt(cells.reduce((sum, cell) => sum + (cell.value - predict(cell.row, cell.column)) ** 2, 0) / cells.length);
}

function maxDifference(cells: readonly Cell[], fit: LowRankFit, reference: Reference): number {
  return Math.max(...cells.map((cell) => Math.abs(lowRankEntry(fit, cell.row, cell.column) - reference.z[cell.row]![cell.column]!)));
}

/** Asserts the same rank and singular values within a relative `tolerance`; returns the largest relative difference. */
function assertSingularValues(fit: LowRankFit, reference: Reference, tolerance: number, what: string): number {
  assert.equal(fit.rank, reference.singularValues.length, `${what}: rank`);
  return Math.max(
    ...[...fit.d].map((d, k) => {
      const expected = reference.singularValues[k]!;
      const relative = Math.abs(d - expected) / expected;
      assert.ok(relative <= tolerance, `${what}: singular value ${k} ${d} vs reference ${expected}`);
      return relative;
    }),
  );
}

const problem = lowRankProblem(7);
/** λ = 5 keeps 3 directions (singular values 36, 27, 26) with a clear gap to the rest: well conditioned. */
const SOFT = { ...SOFT_IMPUTE_DEFAULTS, lambda: 5, rank: 10 };

test('soft-impute: Soft-Impute (defaults) and Hard-Impute (rank 3) beat predicting 0 on held-out entries', () => {
  const zero = rmse(problem.heldOut, () => 0);
  const soft = softImputeAls(problem.x, SOFT_IMPUTE_DEFAULTS);
  const hard = softImputeAls(problem.x, HARD_IMPUTE_DEFAULTS);
  const softError = rmse(problem.heldOut, (row, column) => lowRankEntry(soft, row, column));
  const hardError = rmse(problem.heldOut, (row, column) => lowRankEntry(hard, row, column));
  console.log(
    `held-out RMSE: predict 0 ${zero.toFixed(3)}, Soft-Impute λ = 10 ${softError.toFixed(3)} (rank ${soft.rank}), Hard-Impute rank 3 ${hardError.toFixed(3)}`,
  );
  // λ = 10 takes a quarter and more off this small matrix's singular values (~50), and the row
  // centring adds a fourth direction that rank 3 leaves out; both still cut the error by far.
  assert.ok(softError < 0.8 * zero, `Soft-Impute ${softError} vs predicting 0 ${zero}`);
  assert.ok(hardError < 0.35 * zero, `Hard-Impute ${hardError} vs predicting 0 ${zero}`);
});

test('soft-impute: softImputeAls reaches the dense Mazumder iteration’s solution (Soft-Impute λ = 5, Hard-Impute rank 3)', () => {
  for (const [what, options] of [
    ['soft', SOFT],
    ['hard', HARD_IMPUTE_DEFAULTS],
  ] as const) {
    // Both run to convergence: the reference to ‖ΔZ‖²/‖Z‖² ≤ 1e-16 (it is then ~1e-14 from its
    // limit), the ALS until its change, a difference of terms of size ‖Z‖² computed from the
    // factors, reaches its rounding floor (~1e-15, a step ‖ΔZ‖_F ≈ 1e-8 ‖Z‖_F ≈ 5e-7). The ALS's
    // remaining error is that step over one minus its linear rate: measured 2e-6 for λ = 5 and
    // 6e-5 for Hard-Impute, whose rate is close to 1. The tolerances, on entries of size ~2, leave
    // a factor 15–50 for other platforms; a wrong step (shrinkage, residual) is off by 1e-2 or more.
    const reference = referenceImpute(problem.x, { ...options, maxIterations: 3000, threshold: 1e-16 });
    const fit = softImputeAls(problem.x, { ...options, maxIterations: 3000, threshold: 1e-15 });
    const difference = maxDifference(problem.heldOut, fit, reference);
    assert.ok(difference < (what === 'soft' ? 1e-4 : 1e-3), `${what}: max difference ${difference}`);
    const relative = assertSingularValues(fit, reference, what === 'soft' ? 1e-6 : 1e-5, what);
    console.log(
      `${what}: ALS ${fit.iterations} iterations, reference ${reference.iterations}; held-out max |ALS − reference| ${difference.toExponential(2)}, singular values ${relative.toExponential(2)} relative`,
    );
  }
});

test('soft-impute: softImputeDense follows the reference iteration step for step', () => {
  for (const [what, options] of [
    ['soft', SOFT],
    ['hard', HARD_IMPUTE_DEFAULTS],
  ] as const) {
    // The same iteration on the same SVD code: only the order of sums could differ (measured: none).
    const reference = referenceImpute(problem.x, options);
    const fit = softImputeDense(problem.x, options);
    const difference = maxDifference(problem.heldOut, fit, reference);
    assert.equal(fit.iterations, reference.iterations, what);
    assert.ok(difference < 1e-9, `${what}: max difference ${difference}`);
    const relative = assertSingularValues(fit, reference, 1e-9, what);
    console.log(
      `${what}: ${fit.iterations} iterations each; held-out max difference ${difference.toExponential(2)}, singular values ${relative.toExponential(2)} relative`,
    );
  }
});

test('soft-impute: the same seed gives identical factors, and onIteration sees every iteration', () => {
  const changes: number[] = [];
  const first = softImputeAls(problem.x, SOFT, (iteration, change) => {
    assert.equal(iteration, changes.length + 1);
    changes.push(change);
  });
  const second = softImputeAls(problem.x, SOFT);
  assert.deepEqual(second, first);
  assert.equal(changes.length, first.iterations);
  assert.equal(changes.at(-1), first.relativeChange);
  assert.equal(first.converged, first.relativeChange <= SOFT.threshold);
});

test('soft-impute: factors are finite, the rank cap holds, and a very large λ gives Z = 0', () => {
  for (const impute of [softImputeAls, softImputeDense]) {
    // λ = 0.5 keeps more than 2 directions, so the cap binds.
    const capped = impute(problem.x, { ...SOFT_IMPUTE_DEFAULTS, lambda: 0.5, rank: 2 });
    assert.equal(capped.rank, 2, impute.name);
    assert.equal(capped.u.length, ROWS * 2);
    assert.equal(capped.v.length, COLUMNS * 2);
    assert.equal(capped.d.length, 2);
    for (const factor of [capped.u, capped.d, capped.v]) assert.ok(factor.every(Number.isFinite), impute.name);
    assert.ok(capped.d[0]! >= capped.d[1]! && capped.d[1]! > 0, `${impute.name}: d ${[...capped.d]}`);

    const zero = impute(problem.x, { ...SOFT_IMPUTE_DEFAULTS, lambda: 1e6 });
    assert.equal(zero.rank, 0, impute.name);
    assert.equal(zero.u.length + zero.d.length + zero.v.length, 0);
    assert.ok(problem.heldOut.every((cell) => lowRankEntry(zero, cell.row, cell.column) === 0));
  }
});

test('soft-impute: bad input throws a clear error', () => {
  const x = { rows: 2, columns: 2, row: Int32Array.of(0, 1, 0), column: Int32Array.of(1, 0, 1), value: Float64Array.of(1, 2, 3) };
  for (const impute of [softImputeAls, softImputeDense]) {
    assert.throws(() => impute(x, SOFT_IMPUTE_DEFAULTS), /\(0, 1\) is observed more than once/);
    assert.throws(() => impute({ ...x, rows: 1 }, SOFT_IMPUTE_DEFAULTS), /entry 1 at \(1, 0\) is outside 1 × 2/);
    assert.throws(() => impute(problem.x, { ...SOFT_IMPUTE_DEFAULTS, rank: 0 }), /rank must be a positive integer/);
  }
  const large = { rows: 3000, columns: 2000, row: new Int32Array(0), column: new Int32Array(0), value: new Float64Array(0) };
  assert.throws(() => softImputeDense(large, SOFT_IMPUTE_DEFAULTS), /use softImputeAls/);
});
