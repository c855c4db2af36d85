import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { GrowableRows } from '../../src/models/packed.js';
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

test('addRows (gathered, tiled) sums what add does row by row, for every rank, twice on one system', () => {
  const rng = createRng(9);
  for (const rank of [1, 2, 3, 5, 8, 20, 21]) {
    const table = new GrowableRows(rank, 40);
    table.ensure(39, (row) => row.forEach((_, f) => (row[f] = rng.normal())));
    const tiled = new RidgeSystem(rank);
    const oneByOne = new RidgeSystem(rank);
    // Twice on one system: the second call must not be misled by what the first left behind.
    for (const count of [37, 5]) {
      const ids = Int32Array.from({ length: 2 * count }, (_, k) => (k % 2 === 0 ? rng.int(40) : -1));
      tiled.reset(0.5);
      oneByOne.reset(0.5);
      tiled.addRows(table, ids, 2, count, 1.5, 0.75);
      for (let k = 0; k < count; k++) oneByOne.add(table.raw, ids[2 * k]! * rank, 1.5, 0.75);
      for (let f = 0; f < rank; f++) {
        assert.ok(Math.abs(tiled.rhs[f]! - oneByOne.rhs[f]!) < 1e-9, `rank ${rank}, rhs ${f}`);
        for (let g = f; g < rank; g++) {
          const [a, b] = [tiled.gram[f * rank + g]!, oneByOne.gram[f * rank + g]!];
          assert.ok(Math.abs(a - b) < 1e-9, `rank ${rank}, count ${count}, gram ${f},${g}: ${a} vs ${b}`);
        }
      }
    }
  }
});
