import { KernelMemory, simdKernels } from '../kernels/wasm-kernels.js';
import { resized } from '../typed-arrays.js';
import { dotScores } from './dot-scores.js';
import { gramTiles } from './gram.js';

/** Packing of parameter rows into bytes for the state store: exact float64, no text round trip. */
export function packFloat64(values: ArrayLike<number>): Uint8Array {
  const row = Float64Array.from(values);
  return new Uint8Array(row.buffer);
}

export function unpackFloat64(bytes: Uint8Array): Float64Array {
  return new Float64Array(copyOf(bytes).buffer);
}

/** Float32 rows (the two-tower's tables and weights), exact. */
export function packFloat32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export function unpackFloat32(bytes: Uint8Array): Float32Array {
  return new Float32Array(copyOf(bytes).buffer);
}

/** Copy: the state store may hand out views into a buffer it reuses. */
function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * A growable float64 table with `width` columns per row; rows appear as indices grow. Where the
 * SIMD kernels run (src/kernels), the table lives in a WebAssembly memory of its own, which
 * `dotScores`, `bestDot` and `gramSums` read in place.
 */
export class GrowableRows {
  private data: Float64Array;
  private rows = 0;
  /** Rows the table has room for. */
  private capacity: number;
  private readonly kernels: KernelMemory | undefined;
  /** gramSums' gathered rows where the kernels do not run. */
  private block = new Float64Array(0);

  constructor(
    readonly width: number,
    initialRows = 1024,
    simd = simdKernels,
  ) {
    this.capacity = Math.max(1, initialRows);
    this.kernels = simd ? new KernelMemory(this.elementsFor(this.capacity)) : undefined;
    this.data = this.kernels ? this.kernels.f64.subarray(0, this.capacity * width) : new Float64Array(this.capacity * width);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Make sure rows 0..index exist; new rows are filled by `init(row, index)`. */
  ensure(index: number, init: (row: Float64Array, index: number) => void): void {
    if (index < this.rows) return;
    if (index >= this.capacity) {
      this.capacity = Math.max(index + 1, 2 * this.capacity);
      const size = this.capacity * this.width;
      this.data = this.kernels ? this.kernels.reserve(this.elementsFor(this.capacity)).subarray(0, size) : resized(this.data, size);
    }
    for (let r = this.rows; r <= index; r++) init(this.row(r), r);
    this.rows = index + 1;
  }

  /** A live view of one row (valid until the next `ensure` or `gramSums` that grows the table's memory). */
  row(index: number): Float64Array {
    return this.data.subarray(index * this.width, (index + 1) * this.width);
  }

  /** The whole backing array, for tight loops: row r starts at r * width (valid as `row`'s views are). */
  get raw(): Float64Array {
    return this.data;
  }

  /**
   * scores[i] = Σ_{f < length} user[userAt + f] · row_i[offset + f] for every row i < count:
   * the catalogue scan of a factor model's list (`dotScores` in TypeScript where the kernels do
   * not run; the same numbers either way).
   */
  dotScores(user: Float64Array, userAt: number, offset: number, length: number, count: number, scores: Float64Array): void {
    if (count > this.rows || offset + length > this.width)
      throw new RangeError(`dotScores: ${count} rows × columns ${offset}..${offset + length} of a ${this.rows} × ${this.width} table`);
    const kernels = this.kernels;
    if (!kernels) return dotScores(user, userAt, this.data, this.width, offset, length, count, scores);
    // Scratch past the rows: the user's factors, then the scores.
    const memory = kernels.f64;
    const factorsAt = this.capacity * this.width;
    const scoresAt = factorsAt + this.width;
    memory.set(user.subarray(userAt, userAt + length), factorsAt);
    kernels.dotScores(factorsAt, offset, this.width, length, count, scoresAt);
    scores.set(memory.subarray(scoresAt, scoresAt + count));
  }

  /**
   * Of the rows ids[0..n), the position of the one whose dot product with row `index` (columns
   * offset..offset + length, one running sum in column order) is largest and above 0, the first
   * on ties; -1 when none is above 0.
   */
  bestDot(index: number, ids: Int32Array, n: number, offset: number, length: number): number {
    if (index >= this.rows || n > this.rows || offset + length > this.width)
      throw new RangeError(`bestDot: row ${index} against ${n} rows of a ${this.rows} × ${this.width} table`);
    const { kernels, width } = this;
    if (kernels) {
      // The ids go where dotScores puts its scores (a row's worth of int32s fits in half of it).
      const idsAt = 2 * (this.capacity * width + width);
      kernels.i32.set(ids.subarray(0, n), idsAt);
      return kernels.bestDot(index * width + offset, offset, width, length, idsAt, n);
    }
    const raw = this.data;
    let best = -1;
    let bestDot = 0;
    for (let p = 0; p < n; p++) {
      let dot = 0;
      for (let f = 0, a = index * width + offset, b = ids[p]! * width + offset; f < length; f++) dot += raw[a + f]! * raw[b + f]!;
      if (dot > bestDot) [best, bestDot] = [p, dot];
    }
    return best;
  }

  /**
   * Column sums and Gram tiles of the rows ids[k · stride] for k < count, as `width` columns
   * (a multiple of 4 at least the table's width):
   *   sums[g] = Σ_k (sumWeight · x_kg) for g < width;
   *   tiles[f · width + g] = Σ_k (weight · x_kf) · x_kg for f a multiple of 4 and its next 3
   *   rows, g ≥ f even
   * (the upper triangle and a little below it), each summed over k in order: the normal
   * equations' sums of an ALS row (RidgeSystem.addRows, weights 1, which change nothing), and
   * implicit ALS's kept pick sums (α and 1 + α, the products addOuterUpper takes). The kernel
   * reads the rows where they lie; the TypeScript form gathers them first. The same numbers either way for every entry
   * within the table's width; sums and entries past it are unspecified (the kernel reads what
   * follows a row there). May grow the table's memory (its scratch): views taken before are
   * then stale.
   */
  gramSums(ids: Int32Array, stride: number, count: number, width: number, sums: Float64Array, tiles: Float64Array, weight = 1, sumWeight = 1): void {
    if (width % 4 !== 0 || width < this.width || sums.length < width || tiles.length < width * width)
      throw new RangeError(`gramSums: ${width} columns for a table ${this.width} wide, into ${sums.length} sums and ${tiles.length} tiles`);
    if (!(Number.isInteger(stride) && stride >= 1)) throw new RangeError(`gramSums: an id stride of ${stride}`);
    for (let k = 0; k < count; k++) {
      const id = ids[k * stride]!;
      if (!(id >= 0 && id < this.rows)) throw new RangeError(`gramSums: row ${id} of a table of ${this.rows}`);
    }
    const kernels = this.kernels;
    if (!kernels) return this.gramSumsGathered(ids, stride, count, width, sums, tiles, weight, sumWeight);
    // Scratch past dotScores': the sums, the tiles, then the ids.
    const sumsAt = this.elementsFor(this.capacity);
    const tilesAt = sumsAt + width;
    const idsAt = tilesAt + width * width;
    const idCount = count === 0 ? 0 : (count - 1) * stride + 1;
    const memory = kernels.reserve(idsAt + Math.ceil(idCount / 2));
    if (this.data.buffer !== memory.buffer) this.data = memory.subarray(0, this.capacity * this.width);
    kernels.i32.set(ids.subarray(0, idCount), 2 * idsAt);
    kernels.gramSums(0, this.width, 2 * idsAt, stride, count, width, sumsAt, tilesAt, weight, sumWeight);
    sums.set(memory.subarray(sumsAt, tilesAt));
    tiles.set(memory.subarray(tilesAt, idsAt));
  }

  private gramSumsGathered(
    ids: Int32Array,
    stride: number,
    count: number,
    width: number,
    sums: Float64Array,
    tiles: Float64Array,
    weight: number,
    sumWeight: number,
  ): void {
    const r = this.width;
    if (this.block.length < count * width) this.block = new Float64Array(Math.max(count * width, 2 * this.block.length));
    const block = this.block;
    // Gathered rows of `width` columns, the padding zero (filled when the block grew, never written since).
    for (let k = 0; k < count; k++) {
      const from = ids[k * stride]! * r;
      const to = k * width;
      for (let f = 0; f < r; f++) block[to + f] = this.data[from + f]!;
    }
    gramTiles(block, width, count, sums, tiles, weight, sumWeight);
  }

  /** The rows, then room for one row of factors and a score per row. */
  private elementsFor(capacity: number): number {
    return capacity * (this.width + 1) + this.width;
  }
}
