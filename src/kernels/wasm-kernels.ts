/**
 * The WebAssembly SIMD kernels (kernels.wat) bound to a memory of their own: a table or scratch
 * block that lives in that memory is scanned in place, so a call copies only its small inputs
 * and its output. Measured on the default catalogue (1,682 items × 20 factors): the factor scan
 * at about 4.5× the TypeScript one, with equal results (the sums run in the same order; see
 * kernels.wat).
 *
 * Where WebAssembly SIMD is missing, or RXREC_WASM=0, `simdKernels` is false and the callers
 * keep their TypeScript forms, which give the same numbers.
 */
import { KERNELS_WASM } from './kernels-wasm.js';

const PAGE = 65_536;
const bytes = Buffer.from(KERNELS_WASM, 'base64');
const compiled = process.env.RXREC_WASM !== '0' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : undefined;

/** Whether the SIMD kernels run here (else the TypeScript forms do). */
export const simdKernels = compiled !== undefined;

interface KernelExports {
  dotScores(u: number, rows: number, stride: number, length: number, count: number, out: number): void;
  gramSums(
    rows: number,
    rowStride: number,
    ids: number,
    idStride: number,
    count: number,
    width: number,
    sums: number,
    gram: number,
    weight: number,
    sumWeight: number,
  ): void;
  topK(scores: number, count: number, k: number, listScores: number, listIndexes: number): number;
  choleskySolve(a: number, rhs: number, x: number, r: number): void;
  bestDot(u: number, rows: number, stride: number, length: number, ids: number, n: number): number;
  rankValues(values: number, n: number, sorted: number, ids: number, below: number): void;
}

/**
 * A growable WebAssembly memory and the kernels that read and write it. Every offset and stride
 * counts elements of the data it points at: float64s for factors and scores, int32s for ids and
 * heap indexes.
 */
export class KernelMemory {
  private readonly memory: WebAssembly.Memory;
  private readonly kernels: KernelExports;
  private view: Float64Array;
  private intView: Int32Array;

  constructor(elements: number) {
    if (!compiled) throw new Error('KernelMemory needs WebAssembly SIMD (check simdKernels first)');
    this.memory = new WebAssembly.Memory({ initial: pagesFor(elements) });
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.view = new Float64Array(this.memory.buffer);
    this.intView = new Int32Array(this.memory.buffer);
  }

  /** The memory as float64s, at least `elements` of them (growing it detaches views taken before). */
  reserve(elements: number): Float64Array {
    const pages = pagesFor(elements);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) {
      this.memory.grow(pages - have);
      this.view = new Float64Array(this.memory.buffer);
      this.intView = new Int32Array(this.memory.buffer);
    }
    return this.view;
  }

  /** The memory as float64s (valid until the next `reserve` that grows it). */
  get f64(): Float64Array {
    return this.view;
  }

  /** The memory as int32s (valid as `f64` is). */
  get i32(): Int32Array {
    return this.intView;
  }

  /** out[i] = Σ_{f < length} m[u + f] · m[rows + i · stride + f] for i < count. */
  dotScores(u: number, rows: number, stride: number, length: number, count: number, out: number): void {
    this.kernels.dotScores(8 * u, 8 * rows, 8 * stride, length, count, 8 * out);
  }

  /**
   * Over the rows at m[rows + ids[k · idStride] · rowStride] for k < count (int32 ids), read as
   * `width` columns (a multiple of 4): column sums into sums[0..width), and into gram (width ×
   * width) the tiles of rows f..f+3 (f a multiple of 4) by columns g, g + 1 (g ≥ f, even): the
   * upper triangle and a little below it. Columns past a row's own width read the float64s after
   * it, which reach only entries past that width. Weighted: each sum adds sumWeight · x_g, each
   * tile entry (weight · x_f) · x_g (implicit ALS's kept pick sums; 1 and 1 for plain sums).
   */
  gramSums(
    rows: number,
    rowStride: number,
    ids: number,
    idStride: number,
    count: number,
    width: number,
    sums: number,
    gram: number,
    weight = 1,
    sumWeight = 1,
  ): void {
    this.kernels.gramSums(8 * rows, 8 * rowStride, 4 * ids, 4 * idStride, count, width, 8 * sums, 8 * gram, weight, sumWeight);
  }

  /**
   * The k best of m[scores..scores + count), best first (ties to the lower index; -Infinity and
   * NaN never), into float64s at listScores and int32s at listIndexes; returns how many.
   */
  topK(scores: number, count: number, k: number, listScores: number, listIndexes: number): number {
    return this.kernels.topK(8 * scores, count, k, 8 * listScores, 4 * listIndexes);
  }

  /** RidgeSystem.solve's Cholesky solve of the r × r system at a (overwritten) for rhs, into x. */
  choleskySolve(a: number, rhs: number, x: number, r: number): void {
    this.kernels.choleskySolve(8 * a, 8 * rhs, 8 * x, r);
  }

  /**
   * Of the rows at m[rows + ids[p] · stride] for p < n (int32 ids), the
   * position p whose dot product with m[u..u + length) is largest and above 0 (the first on ties), or -1.
   */
  bestDot(u: number, rows: number, stride: number, length: number, ids: number, n: number): number {
    return this.kernels.bestDot(8 * u, 8 * rows, 8 * stride, length, 4 * ids, n);
  }

  /**
   * m[sorted..sorted + n) = m[values..values + n) ascending (no NaN), and m[below + c] = how many
   * of the values are less than values[c]; n int32s of scratch at `ids`.
   */
  rankValues(values: number, n: number, sorted: number, ids: number, below: number): void {
    this.kernels.rankValues(8 * values, n, 8 * sorted, 4 * ids, 8 * below);
  }
}

function pagesFor(elements: number): number {
  return Math.max(1, Math.ceil((8 * elements) / PAGE));
}
