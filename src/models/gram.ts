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
  const r = table.width;
  const width = Math.ceil(r / 4) * 4;
  const ids = new Int32Array(count);
  let n = 0;
  for (let row = 0; row < count; row++) if (!include || include(row)) ids[n++] = row;
  const sums = new Float64Array(width);
  const tiles = new Float64Array(width * width);
  table.gramSums(ids, 1, n, width, sums, tiles);
  // Entry (f, h ≥ f) is in tile row f (the tiles cover g from f rounded down to 4).
  gram.fill(0);
  for (let f = 0; f < r; f++) for (let h = f; h < r; h++) gram[f * r + h] = tiles[f * width + h]!;
  return gram;
}

/**
 * Over `count` rows of `width` columns (a multiple of 4) in `block`: sums[g] = Σ_k x_kg, and
 * tiles[f · width + g] = Σ_k x_kf x_kg for the 4 × 2 register tiles of rows f..f+3 (f a multiple
 * of 4) by columns g, g + 1 (g ≥ f, even), each summed over k in order. A pass over the block
 * adds 8 entries from 6 loads, against 1 entry a load and a store for rows added one at a time
 * (addOuterUpper): about 3× faster at r = 20. The SIMD kernel gramSums sums the same way.
 */
export function gramTiles(block: Float64Array, width: number, count: number, sums: Float64Array, tiles: Float64Array): void {
  const end = count * width;
  for (let g = 0; g < width; g++) {
    let sum = 0;
    for (let at = g; at < end; at += width) sum += block[at]!;
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
