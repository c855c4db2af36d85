/** Append-only typed columns: a dataset's ratings held in a few bytes each, not as objects. */
type TypedArray = Float64Array | Uint32Array;

class Column<T extends TypedArray> {
  private data: T;
  length = 0;

  constructor(private readonly allocate: (length: number) => T) {
    this.data = allocate(1 << 16);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = this.allocate(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  get(index: number): number {
    return this.data[index]!;
  }
}

export const float64Column = () => new Column((length) => new Float64Array(length));
export const uint32Column = () => new Column((length) => new Uint32Array(length));
export type NumberColumn = Column<TypedArray>;
