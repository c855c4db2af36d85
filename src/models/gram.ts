/** Gram matrices of row-major factor tables, the shared kernel of the ALS solvers. */
import type { GrowableRows } from './packed.js';

/** gram += w v vᵀ (upper triangle of the r × r gram) for v = rows[at..at+r). */
export function addOuterUpper(gram: Float64Array, rows: Float64Array, at: number, r: number, weight = 1): void {
  for (let f = 0; f < r; f++) {
    const v = weight * rows[at + f];
    if (v === 0) continue;
    const g = f * r;
    for (let h = f; h < r; h++) gram[g + h] += v * rows[at + h];
  }
}

/** gram = Σ v vᵀ over rows 0..count-1 of a table of width r (those `include` keeps), in row order (upper triangle). */
export function gramUpper(gram: Float64Array, rows: Float64Array, count: number, r: number, include?: (row: number) => boolean): Float64Array {
  gram.fill(0);
  for (let row = 0; row < count; row++) if (!include || include(row)) addOuterUpper(gram, rows, row * r, r);
  return gram;
}

/**
 * gramUpper(gram, table.raw, count, table.width, include) by the table's Gram sums (the SIMD
 * kernel where it runs, reading the rows where they lie): the same sums in the same row order,
 * so the same matrix bit for bit (a skipped zero product adds nothing to a sum begun at +0),
 * several times faster. Whole-table Gram matrices, as implicit ALS recomputes at every sweep.
 */
export function tableGramUpper(gram: Float64Array, table: GrowableRows, count: number, include?: (row: number) => boolean): Float64Array {
  const ids = new Int32Array(count);
  let n = 0;
  for (let row = 0; row < count; row++) if (!include || include(row)) ids[n++] = row;
  return rowsGramUpper(gram, table, ids, n);
}

/**
 * gram = Σ_k w v_k v_kᵀ (upper triangle) over the table's rows ids[0..n), and sums = Σ_k s v_k
 * when given: what addOuterUpper(gram, table.raw, id · r, r, w) and sums[f] += s · v_f give row
 * by row, bit for bit (the same products, (w v_f) v_h, in the same order), by the Gram sums.
 */
export function rowsGramUpper(
  gram: Float64Array,
  table: GrowableRows,
  ids: Int32Array,
  n: number,
  weight = 1,
  sums?: Float64Array,
  sumWeight = 1,
): Float64Array {
  const r = table.width;
  const width = Math.ceil(r / 4) * 4;
  if (scratchSums.length < width) [scratchSums, scratchTiles] = [new Float64Array(width), new Float64Array(width * width)];
  table.gramSums(ids, 1, n, width, scratchSums, scratchTiles, weight, sumWeight);
  // Entry (f, h ≥ f) is in tile row f (the tiles cover g from f rounded down to 4).
  gram.fill(0);
  for (let f = 0; f < r; f++) for (let h = f; h < r; h++) gram[f * r + h] = scratchTiles[f * width + h]!;
  sums?.set(scratchSums.subarray(0, r));
  return gram;
}

/** rowsGramUpper's sums and tiles, reused (one thread each). */
let scratchSums = new Float64Array(0);
let scratchTiles = new Float64Array(0);

/**
 * Over `count` rows of `width` columns (a multiple of 4) in `block`: sums[g] = Σ_k (sumWeight ·
 * x_kg), and tiles[f · width + g] = Σ_k (weight · x_kf) · x_kg for the 4 × 2 register tiles of
 * rows f..f+3 (f a multiple of 4) by columns g, g + 1 (g ≥ f, even), each summed over k in order. A pass over the block
 * adds 8 entries from 6 loads, against 1 entry a load and a store for rows added one at a time
 * (addOuterUpper): about 3× faster at r = 20. The SIMD kernel gramSums sums the same way.
 */
export function gramTiles(block: Float64Array, width: number, count: number, sums: Float64Array, tiles: Float64Array, weight = 1, sumWeight = 1): void {
  const end = count * width;
  for (let g = 0; g < width; g++) {
    let sum = 0;
    for (let at = g; at < end; at += width) sum += sumWeight * block[at]!;
    sums[g] = sum;
  }
  for (let f = 0; f < width; f += 4) {
    for (let g = f; g + 1 < width; g += 2) {
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
        const x0 = weight * block[at + f]!;
        const x1 = weight * block[at + f + 1]!;
        const x2 = weight * block[at + f + 2]!;
        const x3 = weight * block[at + f + 3]!;
        a0 += x0 * y0;
        a1 += x0 * y1;
        b0 += x1 * y0;
        b1 += x1 * y1;
        c0 += x2 * y0;
        c1 += x2 * y1;
        d0 += x3 * y0;
        d1 += x3 * y1;
      }
      const at = f * width + g;
      tiles[at] = a0;
      tiles[at + 1] = a1;
      tiles[at + width] = b0;
      tiles[at + width + 1] = b1;
      tiles[at + 2 * width] = c0;
      tiles[at + 2 * width + 1] = c1;
      tiles[at + 3 * width] = d0;
      tiles[at + 3 * width + 1] = d1;
    }
  }
}
