import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { RidgeSystem } from '../../src/models/ridge-solve.js';
import { createRng } from '../../src/random.js';

test('ridge solves match ml-matrix on random systems of several sizes', () => {
  const rng = createRng(5);
  for (const rank of [1, 3, 10, 20]) {
    const system = new RidgeSystem(rank);
    const lambda = 0.5;
    system.reset(lambda);
    const rows: number[][] = [];
    const xs: number[] = [];
    for (let k = 0; k < 2 * rank + 3; k++) {
      const row = Array.from({ length: rank }, () => rng.normal());
      const x = rng.normal();
      rows.push(row);
      xs.push(x);
      system.add(Float64Array.from([9, ...row]), 1, x);
    }
    const a = new Matrix(rows);
    const gram = a.transpose().mmul(a).add(Matrix.eye(rank).mul(lambda));
    const rhs = a.transpose().mmul(Matrix.columnVector(xs));
    const expected = new CholeskyDecomposition(gram).solve(rhs).to1DArray();
    const solved = Array.from(system.solve());
    for (let f = 0; f < rank; f++) assert.ok(Math.abs(solved[f]! - expected[f]!) < 1e-9, `rank ${rank}, column ${f}: ${solved[f]} vs ${expected[f]}`);
  }
});

test('a singular system without ridge stays finite', () => {
  const system = new RidgeSystem(3);
  system.reset(0);
  // One observation: rank-1 Gram matrix, two directions with zero pivots.
  system.add(Float64Array.from([1, 2, 3]), 0, 4);
  const solution = system.solve();
  assert.ok(solution.every(Number.isFinite), `${solution}`);
});
