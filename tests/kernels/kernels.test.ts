/**
 * The WebAssembly SIMD kernels against the TypeScript forms they replace: equal results bit for
 * bit (the sums run in the same order), so every figure stays what it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelMemory, simdKernels } from '../../src/kernels/wasm-kernels.js';
import { writeSyntheticDataset } from '../../streams/datasets/write-synthetic.js';
import { dotScores } from '../../src/models/dot-scores.js';
import { GrowableRows } from '../../src/models/packed.js';
import { addOuterUpper, gramUpper, rowsGramUpper, tableGramUpper } from '../../src/models/gram.js';
import { RidgeSystem } from '../../src/models/ridge-solve.js';
import { topK, topKExcluding } from '../../src/ranking/top-k.js';
import { createRng } from '../../src/random.js';

test('the SIMD kernels run on this Node (else the tests below would compare the TypeScript forms with themselves)', () => {
  assert.equal(simdKernels, true);
});

test('a table in kernel memory scores the catalogue as dotScores does, bit for bit, and keeps its rows when it grows', () => {
  const rng = createRng(3);
  for (const width of [1, 2, 3, 20, 21]) {
    // 4 rows at first: the later ones grow the memory several times.
    const simd = new GrowableRows(width, 4, true);
    const plain = new GrowableRows(width, 4, false);
    const init = (row: Float64Array) => row.forEach((_, f) => (row[f] = rng.normal()));
    for (const rows of [1, 3, 7, 40, 333]) {
      const before = simd.rowCount > 0 ? simd.row(0).slice() : undefined;
      simd.ensure(rows - 1, init);
      plain.ensure(rows - 1, (row, index) => row.set(simd.row(index)));
      if (before) assert.deepEqual(simd.row(0), before, 'row 0 after growing');
      const user = Float64Array.from({ length: width + 2 }, () => rng.normal());
      for (const offset of width > 1 ? [0, 1] : [0]) {
        for (const length of new Set([width - offset, Math.max(1, width - offset - 1)])) {
          for (const count of new Set([0, 1, rows - 1, rows])) {
            const expected = new Float64Array(count);
            dotScores(user, 2, plain.raw, width, offset, length, count, expected);
            const fromPlain = new Float64Array(count);
            plain.dotScores(user, 2, offset, length, count, fromPlain);
            const fromSimd = new Float64Array(count);
            simd.dotScores(user, 2, offset, length, count, fromSimd);
            assert.deepEqual(fromPlain, expected);
            assert.deepEqual(fromSimd, expected, `width ${width}, offset ${offset}, length ${length}, count ${count}`);
          }
        }
      }
    }
  }
});

test('dotScores refuses rows the table does not have (the kernel would read its scratch)', () => {
  const table = new GrowableRows(3, 4, true);
  table.ensure(1, (row) => row.fill(1));
  assert.throws(() => table.dotScores(new Float64Array(3), 0, 0, 3, 3, new Float64Array(3)), RangeError);
  assert.throws(() => table.dotScores(new Float64Array(3), 0, 1, 3, 2, new Float64Array(2)), RangeError);
});

test('gramSums refuses a row the table does not have and a width that is no whole tile (the kernel would read its scratch)', () => {
  for (const simd of [true, false]) {
    const table = new GrowableRows(3, 4, simd);
    table.ensure(1, (row) => row.fill(1));
    const [sums, tiles] = [new Float64Array(4), new Float64Array(16)];
    table.gramSums(Int32Array.of(1, 0), 1, 2, 4, sums, tiles);
    assert.deepEqual([...sums.subarray(0, 3)], [2, 2, 2], `simd ${simd}`);
    assert.throws(() => table.gramSums(Int32Array.of(0, 2), 1, 2, 4, sums, tiles), RangeError, `simd ${simd}: row 2`);
    assert.throws(() => table.gramSums(Int32Array.of(-1), 1, 1, 4, sums, tiles), RangeError, `simd ${simd}: row -1`);
    assert.throws(() => table.gramSums(Int32Array.of(0), 1, 1, 3, sums, tiles), RangeError, `simd ${simd}: width 3`);
    assert.throws(() => table.gramSums(Int32Array.of(0), 0, 1, 4, sums, tiles), RangeError, `simd ${simd}: stride 0`);
  }
});

test('gramSums that grows its memory (many ids) leaves the table readable and sums what the TypeScript form does', () => {
  const rng = createRng(5);
  const [simdTable, plainTable] = [true, false].map((simd) => new GrowableRows(20, 8, simd));
  const values = Float64Array.from({ length: 8 * 20 }, () => rng.normal());
  for (const table of [simdTable!, plainTable!]) table.ensure(7, (row, index) => row.set(values.subarray(index * 20, (index + 1) * 20)));
  // 40,000 ids: far more scratch than a table of 8 rows had, so the kernel's memory grows.
  const ids = Int32Array.from({ length: 40_000 }, () => rng.int(8));
  const [simdSums, plainSums] = [new Float64Array(20), new Float64Array(20)];
  const [simdTiles, plainTiles] = [new Float64Array(400), new Float64Array(400)];
  simdTable!.gramSums(ids, 1, ids.length, 20, simdSums, simdTiles);
  plainTable!.gramSums(ids, 1, ids.length, 20, plainSums, plainTiles);
  assert.deepEqual(simdSums, plainSums);
  assert.deepEqual(simdTiles, plainTiles);
  assert.deepEqual(simdTable!.raw.subarray(0, 160), values, 'the rows, read through raw after the growth');
  assert.deepEqual(simdTable!.row(7), values.subarray(140, 160));
});

test("addRows by the kernel (rows read in place) sums what the TypeScript tiles do, bit for bit, for every rank and the table's last rows", () => {
  const rng = createRng(9);
  for (const rank of [1, 2, 3, 5, 8, 20, 21]) {
    // The same rows in a table the kernel reads in place and in one the TypeScript form gathers from.
    const values = Float64Array.from({ length: 600 * rank }, () => rng.normal());
    const [simdTable, plainTable] = [true, false].map((simd) => {
      const table = new GrowableRows(rank, 4, simd);
      table.ensure(599, (row, index) => row.set(values.subarray(index * rank, (index + 1) * rank)));
      return table;
    });
    const simd = new RidgeSystem(rank, true);
    const plain = new RidgeSystem(rank, false);
    for (const count of [37, 0, 5, 1, 600]) {
      // The table's last row among them: its padding lanes read past the rows.
      const ids = Int32Array.from({ length: 2 * count }, (_, k) => (k === 0 ? 599 : k % 2 === 0 ? rng.int(600) : -1));
      for (const [system, table] of [
        [simd, simdTable!],
        [plain, plainTable!],
      ] as const) {
        system.reset(
          0.5,
          Float64Array.from({ length: rank * rank }, (_, k) => k / 7),
        );
        system.addRows(table, ids, 2, count, 1.5, 0.75);
      }
      assert.deepEqual(simd.rhs, plain.rhs, `rank ${rank}, count ${count}: rhs`);
      assert.deepEqual(simd.gram, plain.gram, `rank ${rank}, count ${count}: gram`);
      assert.deepEqual(simd.solve(), plain.solve(), `rank ${rank}, count ${count}: solution`);
    }
  }
});

test("tableGramUpper (a table's Gram sums) gives gramUpper's matrix bit for bit: every rank, rows left out, zeros in the rows", () => {
  const rng = createRng(23);
  for (const rank of [1, 3, 4, 20, 21]) {
    // Some exact zeros, which gramUpper skips and the sums add.
    const values = Float64Array.from({ length: 300 * rank }, () => (rng.next() < 0.1 ? 0 : rng.normal()));
    for (const simd of [true, false]) {
      const table = new GrowableRows(rank, 4, simd);
      table.ensure(299, (row, index) => row.set(values.subarray(index * rank, (index + 1) * rank)));
      for (const count of [0, 1, 17, 300]) {
        for (const include of [undefined, (row: number) => row % 3 !== 1]) {
          const expected = gramUpper(new Float64Array(rank * rank), table.raw, count, rank, include);
          // Garbage first: every entry is written.
          const got = tableGramUpper(new Float64Array(rank * rank).fill(Number.NaN), table, count, include);
          assert.deepEqual(got, expected, `rank ${rank}, simd ${simd}, count ${count}, ${include ? 'some rows' : 'every row'}`);
        }
      }
    }
  }
});

test("rowsGramUpper, weighted, gives implicit ALS's pick sums as addOuterUpper adds them row by row, bit for bit", () => {
  const rng = createRng(29);
  for (const rank of [1, 3, 4, 20, 21]) {
    const values = Float64Array.from({ length: 200 * rank }, () => (rng.next() < 0.1 ? 0 : rng.normal()));
    for (const simd of [true, false]) {
      const table = new GrowableRows(rank, 4, simd);
      table.ensure(199, (row, index) => row.set(values.subarray(index * rank, (index + 1) * rank)));
      for (const n of [0, 1, 9, 150]) {
        // Repeats and the table's last row among the ids.
        const ids = Int32Array.from({ length: n + 3 }, (_, k) => (k === 0 ? 199 : rng.int(200)));
        for (const alpha of [1, 0.3, 40]) {
          const gram = new Float64Array(rank * rank);
          const rhs = new Float64Array(rank);
          for (let k = 0; k < n; k++) {
            for (let f = 0; f < rank; f++) rhs[f] += (1 + alpha) * table.raw[ids[k]! * rank + f]!;
            addOuterUpper(gram, table.raw, ids[k]! * rank, rank, alpha);
          }
          const sums = new Float64Array(rank).fill(Number.NaN);
          const got = rowsGramUpper(new Float64Array(rank * rank).fill(Number.NaN), table, ids, n, alpha, sums, 1 + alpha);
          assert.deepEqual(got, gram, `rank ${rank}, simd ${simd}, n ${n}, α ${alpha}: gram`);
          assert.deepEqual(sums, rhs, `rank ${rank}, simd ${simd}, n ${n}, α ${alpha}: sums`);
        }
      }
    }
  }
});

test('topKExcluding lists what topK does (ties, NaN, ±Infinity, ±0, rising scores, excluded ids past the items, k above the count)', () => {
  const rng = createRng(17);
  const specials = [-Infinity, Number.NaN, Infinity, 0, -0];
  for (let trial = 0; trial < 400; trial++) {
    const count = 1 + rng.int(700);
    // Quarter steps: many ties, which break towards the lower index.
    const scores = Float64Array.from({ length: count + rng.int(3) }, () =>
      rng.next() < 0.05 ? specials[rng.int(specials.length)]! : Math.round(rng.normal() * 8) / 4,
    );
    // Sometimes a run of the best scores at the start or the end (the floor's blocks then differ most).
    if (rng.next() < 0.2) for (let i = 0; i < Math.min(count, 40); i++) scores[rng.next() < 0.5 ? i : count - 1 - i] = 10 + rng.int(3);
    // Sometimes rising with the index: every item enters the kept list, at its head.
    else if (rng.next() < 0.1) scores.forEach((_, i) => (scores[i] = i / 8));
    const excluded = new Set<number>();
    for (let i = 0; i < count; i++) if (rng.next() < 0.3) excluded.add(i);
    // Ids outside the items are ignored.
    if (rng.next() < 0.2) [count, count + 5, -1].forEach((id) => excluded.add(id));
    const k = 1 + rng.int(rng.next() < 0.2 ? count + 10 : 60);
    const copy = scores.slice();
    assert.deepEqual(
      topKExcluding(scores, count, k, excluded),
      topK(scores, count, k, (index) => excluded.has(index)),
      `trial ${trial}, count ${count}, k ${k}`,
    );
    assert.deepEqual(scores, copy, 'the scores are left as they were');
  }
});

test('with RXREC_WASM=0 the TypeScript forms run and list the same', () => {
  const module = fileURLToPath(new URL('../../src/ranking/top-k.js', import.meta.url));
  const kernels = fileURLToPath(new URL('../../src/kernels/wasm-kernels.js', import.meta.url));
  const script = `
    const { topKExcluding } = await import(${JSON.stringify(module)});
    const { simdKernels } = await import(${JSON.stringify(kernels)});
    const list = topKExcluding(Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6]), 8, 3, new Set([5]));
    console.log(JSON.stringify({ simdKernels, list }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, RXREC_WASM: '0' } });
  assert.deepEqual(JSON.parse(String(out)), {
    simdKernels: false,
    list: [
      { index: 7, score: 6 },
      { index: 4, score: 5 },
      { index: 2, score: 4 },
    ],
  });
});

test('the kernel Cholesky solve gives what the TypeScript one does, bit for bit, down to singular systems', () => {
  const rng = createRng(23);
  for (const rank of [1, 2, 3, 7, 20]) {
    for (const lambda of [0, 1e-9, 1]) {
      for (const rows of [1, rank, 3 * rank]) {
        // Half the rows repeat the other half: collinear regressors, non-positive pivots without λ.
        const table = Float64Array.from({ length: rows * rank }, () => rng.normal());
        for (let k = 1; k < rows; k += 2) table.copyWithin(k * rank, (k - 1) * rank, k * rank);
        const xs = Array.from({ length: rows }, () => rng.normal());
        const systems = [new RidgeSystem(rank, true), new RidgeSystem(rank, false)];
        for (const system of systems) {
          system.reset(lambda);
          for (let k = 0; k < rows; k++) system.add(table, k * rank, xs[k]!, 0.5);
        }
        assert.deepEqual(systems[0]!.gram, systems[1]!.gram);
        const [simd, plain] = systems.map((system) => system.solve().slice());
        assert.deepEqual(simd, plain, `rank ${rank}, λ ${lambda}, ${rows} rows`);
        assert.deepEqual(systems[0]!.gram, systems[1]!.gram, 'the factor left in the Gram matrix');
      }
    }
  }
});

test('bestDot by the kernel picks the row the TypeScript loop does (ties to the first, none above 0)', () => {
  const rng = createRng(29);
  for (const width of [1, 3, 20]) {
    const simd = new GrowableRows(width, 2, true);
    const plain = new GrowableRows(width, 2, false);
    // Coarse values: ties and dot products of exactly 0 are common.
    const init = (row: Float64Array) => row.forEach((_, f) => (row[f] = rng.int(5) - 2));
    simd.ensure(199, init);
    plain.ensure(199, (row, index) => row.set(simd.row(index)));
    for (let trial = 0; trial < 200; trial++) {
      const n = rng.int(120);
      const ids = Int32Array.from({ length: n + rng.int(4) }, () => rng.int(200));
      const item = rng.int(200);
      const offset = width > 1 ? rng.int(2) : 0;
      const length = width - offset;
      const expected = plain.bestDot(item, ids, n, offset, length);
      assert.equal(simd.bestDot(item, ids, n, offset, length), expected, `width ${width}, trial ${trial}`);
      if (expected >= 0) assert.ok(expected < n);
    }
  }
});

test('rankValues sorts and counts below as the sort and binary search of the TypeScript features do', () => {
  const rng = createRng(31);
  const kernels = new KernelMemory(0);
  for (let trial = 0; trial < 300; trial++) {
    const n = rng.int(200);
    // Ties, ±0, and a best-first run at the front (an input's own top-N) as the ensemble lists them.
    const values = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? [0, -0][rng.int(2)]! : Math.round(rng.normal() * 6) / 3));
    const run = rng.int(n + 1);
    values.subarray(0, run).sort().reverse();
    const memory = kernels.reserve(4 * n);
    memory.set(values);
    kernels.rankValues(0, n, n, 6 * n, 2 * n);
    const expectedSorted = values.slice().sort();
    // Sorted alike, but for where -0 and 0 fall among equals (they add up the same).
    assert.deepEqual(
      Array.from(memory.subarray(n, 2 * n), (v) => v + 0),
      Array.from(expectedSorted, (v) => v + 0),
    );
    const below = Array.from(values, (v) => values.filter((w) => w < v).length);
    assert.deepEqual(Array.from(memory.subarray(2 * n, 3 * n)), below, `trial ${trial}, n ${n}`);
  }
});

test('a replay with the SIMD kernels gives every figure the TypeScript forms give, to the last bit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxrec-kernels-'));
  await writeSyntheticDataset(join(dir, 'data'), { users: 120, items: 400, ratings: 12_000, seed: 7 });
  const replayJob = fileURLToPath(new URL('../../streams/replay-job.js', import.meta.url));
  const detect = fileURLToPath(new URL('../../src/datasets/detect.js', import.meta.url));
  const registry = fileURLToPath(new URL('../../src/models/registry.js', import.meta.url));
  const script = (stateDir: string) => `
    const { replay } = await import(${JSON.stringify(replayJob)});
    const { openDataset } = await import(${JSON.stringify(detect)});
    const { DEFAULT_MODEL_SETTINGS, DEFAULT_RANK_MODEL } = await import(${JSON.stringify(registry)});
    const summary = await replay({ dataset: await openDataset(${JSON.stringify(join(dir, 'data'))}), stateDir: ${JSON.stringify(stateDir)},
      pacing: { kind: 'max' }, models: DEFAULT_MODEL_SETTINGS, rankModel: DEFAULT_RANK_MODEL, k: 10, batchSize: 500, batchWaitMs: 5 });
    console.log(JSON.stringify(summary.models));`;
  const run = (wasm: string) =>
    JSON.parse(
      String(
        execFileSync(process.execPath, ['--input-type=module', '-e', script(join(dir, `state-${wasm}`))], {
          env: { ...process.env, RXREC_WASM: wasm },
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      )
        .trim()
        .split('\n')
        .at(-1)!,
    ) as Record<string, Record<string, number>>;
  const [simd, plain] = [run('1'), run('0')];
  assert.ok(simd['ensemble']?.['hitAt10'] !== undefined, JSON.stringify(simd));
  assert.deepEqual(simd, plain);
});
