import { KernelMemory, simdKernels } from '../kernels/wasm-kernels.js';
import { resized } from '../typed-arrays.js';
import { dotScores } from './dot-scores.js';

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
 * `dotScores` scans in place.
 */
export class GrowableRows {
  private data: Float64Array;
  private rows = 0;
  /** Rows the table has room for. */
  private capacity: number;
  private readonly kernels: KernelMemory | undefined;

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

  /** A live view of one row (valid until the next `ensure` that grows the table). */
  row(index: number): Float64Array {
    return this.data.subarray(index * this.width, (index + 1) * this.width);
  }

  /** The whole backing array, for tight loops: row r starts at r * width (valid until the next `ensure` that grows the table). */
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

  /** The rows, then room for one row of factors and a score per row. */
  private elementsFor(capacity: number): number {
    return capacity * (this.width + 1) + this.width;
  }
}
