import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_ROWS, EmbeddingTable } from '../../../src/models/two-tower/embedding-table.js';

const init = { seed: 7, tableId: 3, std: 0.1 };

test('rows are created on first sight, with a start that depends only on their coordinates', () => {
  const inOrder = new EmbeddingTable(4, init, 2);
  inOrder.ensure(2);
  inOrder.ensure(9);
  const atOnce = new EmbeddingTable(4, init, 2);
  atOnce.ensure(9);
  assert.equal(atOnce.rowCount, 10);
  for (let row = 0; row < 10; row++) assert.deepEqual([...inOrder.row(row)], [...atOnce.row(row)]);
  assert.equal(atOnce.initialValue(12, 1), new EmbeddingTable(4, init).initialValue(12, 1), 'a row not yet created has the same start');
  const out = new Float32Array(8);
  atOnce.gather(Int32Array.from([30, -1]), out);
  assert.equal(atOnce.rowCount, 31, 'gather grows the table');
  assert.deepEqual([...out.subarray(4)], [0, 0, 0, 0], 'index -1 gathers zeros');
});

test("lazy Adam: a row's step follows Adam on its own gradients, summed over repeats; other rows and dropped positions stay", () => {
  const table = new EmbeddingTable(2, { ...init, std: 0 });
  table.ensure(3);
  const lr = 0.01;
  const reference = [0, 0];
  const m = [0, 0];
  const v = [0, 0];
  const gradients = [
    [0.5, -1],
    [0.2, 0.3],
    [-0.4, 0.1],
  ];
  gradients.forEach((g, step) => {
    // Row 1 appears twice in the batch: its gradients add up. Row 2 is dropped (-1).
    const half = g.map((x) => x / 2);
    table.applyGradients(Int32Array.from([1, -1, 1]), Float32Array.from([...half, 9, 9, ...half]), lr);
    const t = step + 1;
    for (let c = 0; c < 2; c++) {
      m[c] = 0.9 * m[c]! + 0.1 * g[c]!;
      v[c] = 0.999 * v[c]! + 0.001 * g[c]! ** 2;
      reference[c]! -= (lr * (m[c]! / (1 - 0.9 ** t))) / (Math.sqrt(v[c]! / (1 - 0.999 ** t)) + 1e-7);
    }
  });
  table.row(1).forEach((value, c) => assert.ok(Math.abs(value - reference[c]!) < 1e-6, `column ${c}: ${value} against ${reference[c]}`));
  assert.deepEqual([...table.row(0), ...table.row(2)], [0, 0, 0, 0]);
  assert.deepEqual(table.drainDirty(), [1]);
  assert.deepEqual(table.drainDirty(), []);
});

test('a checkpoint block restores values, moments and step counts exactly', () => {
  const table = new EmbeddingTable(3, init);
  table.ensure(BLOCK_ROWS + 5);
  table.applyGradients(Int32Array.from([2, BLOCK_ROWS + 1]), Float32Array.from([1, 2, 3, -1, -2, -3]), 0.1);
  assert.deepEqual(table.drainDirtyBlocks(), [0, 1]);
  const copy = new EmbeddingTable(3, init);
  copy.unpackBlock(0, table.packBlock(0));
  copy.unpackBlock(1, table.packBlock(1));
  assert.equal(copy.rowCount, BLOCK_ROWS + 6);
  // The same next step on both: equal only if the moments and step counts came back too.
  for (const t of [table, copy]) t.applyGradients(Int32Array.from([2]), Float32Array.from([0.3, 0.3, 0.3]), 0.1);
  assert.deepEqual([...copy.row(2)], [...table.row(2)]);
  assert.deepEqual([...copy.row(BLOCK_ROWS + 1)], [...table.row(BLOCK_ROWS + 1)]);
});
