/** Gram matrices of row-major factor tables, the shared kernel of the ALS solvers. */

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
