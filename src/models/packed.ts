import { resized } from '../typed-arrays.js';

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

/** A growable float64 table with `width` columns per row; rows appear as indices grow. */
export class GrowableRows {
  private data: Float64Array;
  private rows = 0;

  constructor(
    readonly width: number,
    initialRows = 1024,
  ) {
    this.data = new Float64Array(Math.max(1, initialRows) * width);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Make sure rows 0..index exist; new rows are filled by `init(row, index)`. */
  ensure(index: number, init: (row: Float64Array, index: number) => void): void {
    if (index < this.rows) return;
    const needed = (index + 1) * this.width;
    if (needed > this.data.length) this.data = resized(this.data, Math.max(needed, this.data.length * 2));
    for (let r = this.rows; r <= index; r++) init(this.row(r), r);
    this.rows = index + 1;
  }

  /** A live view of one row (valid until the next `ensure` that grows the table). */
  row(index: number): Float64Array {
    return this.data.subarray(index * this.width, (index + 1) * this.width);
  }

  /** The whole backing array, for tight loops: row r starts at r * width. */
  get raw(): Float64Array {
    return this.data;
  }
}
