/**
 * The towers' forward pass in plain typed arrays, for predictions and retrieval in the stream's
 * thread: no tfjs there, so a worker may own the training backend. Item vectors are kept as one
 * row-major matrix and scored against users in blocks (a matrix product, not a call per item);
 * a vector is recomputed lazily once the weights it came from have changed.
 */
import { paramSpecs, paramViews, type ParamSpec, type TowerShape } from './dense-params.js';
import type { FeatureEncoder } from './encoding.js';
import type { TowerTables } from './tables.js';
import { resized } from '../../typed-arrays.js';

/** out = act(x W + b) for one row x (length n), W n × m row-major. */
function dense(x: Float32Array, w: Float32Array, b: Float32Array, out: Float32Array, relu: boolean): void {
  const m = b.length;
  const n = x.length;
  out.set(b);
  for (let i = 0; i < n; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * m;
    for (let j = 0; j < m; j++) out[j]! += xi * w[row + j]!;
  }
  if (relu) for (let j = 0; j < m; j++) if (out[j]! < 0) out[j] = 0;
}

function normalise(v: Float32Array): void {
  let sum = 0;
  for (let j = 0; j < v.length; j++) sum += v[j]! * v[j]!;
  const scale = 1 / Math.sqrt(Math.max(sum, 1e-12));
  for (let j = 0; j < v.length; j++) v[j]! *= scale;
}

/**
 * scores[u · items + i] = U_u · V_i for a block of users against items 0..items-1. Items are
 * visited in cache-sized blocks, each against every user of the block.
 */
export function blockScores(users: Float32Array, userCount: number, items: Float32Array, itemCount: number, dim: number, scores: Float64Array): void {
  const ITEM_BLOCK = 256;
  for (let start = 0; start < itemCount; start += ITEM_BLOCK) {
    const end = Math.min(itemCount, start + ITEM_BLOCK);
    for (let u = 0; u < userCount; u++) {
      const uo = u * dim;
      const so = u * itemCount;
      for (let i = start; i < end; i++) {
        const io = i * dim;
        // Four running sums: independent multiply-adds the JIT can overlap.
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        let c = 0;
        for (; c + 3 < dim; c += 4) {
          d0 += users[uo + c]! * items[io + c]!;
          d1 += users[uo + c + 1]! * items[io + c + 1]!;
          d2 += users[uo + c + 2]! * items[io + c + 2]!;
          d3 += users[uo + c + 3]! * items[io + c + 3]!;
        }
        for (; c < dim; c++) d0 += users[uo + c]! * items[io + c]!;
        scores[so + i] = d0 + d1 + d2 + d3;
      }
    }
  }
}

export class TowerServing {
  readonly specs: readonly ParamSpec[];
  private params: Record<string, Float32Array>;
  private version = 0;
  private itemVectors: Float32Array;
  private itemVersions = new Int32Array(0);
  private readonly userCache = new Map<number, Float32Array>();
  private userCacheVersion = -1;
  private featureRevision = -1;
  /** Reused by addInteractions: every list asks for one catalogue's worth of products. */
  private dots = new Float64Array(0);
  private readonly scratch: Record<'user' | 'hiddenU' | 'genre' | 'itemIn' | 'hiddenI' | 'age', Float32Array>;

  constructor(
    readonly shape: TowerShape,
    readonly tables: TowerTables,
    params: Float32Array,
    private readonly encoder: FeatureEncoder,
  ) {
    this.specs = paramSpecs(shape);
    this.params = paramViews(this.specs, params);
    this.itemVectors = new Float32Array(0);
    const e = shape.embedding;
    this.scratch = {
      user: new Float32Array(e + (3 * e) / 2),
      hiddenU: new Float32Array(shape.userDense),
      genre: new Float32Array(shape.genreSlots),
      itemIn: new Float32Array(e + shape.genreDense),
      hiddenI: new Float32Array(shape.movieDense),
      age: new Float32Array(e / 2),
    };
  }

  /** New dense weights (the flat spec-order array): every cached vector is stale afterwards. */
  setParams(flat: Float32Array): void {
    this.params = paramViews(this.specs, flat);
    this.version++;
  }

  /** Rows changed in a table: vectors made from them are stale. */
  touched(): void {
    this.version++;
  }

  get dim(): number {
    return this.shape.final;
  }

  /** A table row, or its initial value when the trainer has not created it yet. */
  private rowOf(table: TowerTables[keyof TowerTables], index: number, out: Float32Array, at: number): void {
    if (index < table.rowCount) out.set(table.row(index), at);
    else for (let c = 0; c < table.dim; c++) out[at + c] = table.initialValue(index, c);
  }

  /** The user tower's output for these inputs (user -1: no id row, a newcomer placed by features alone). */
  userVectorFor(user: number, gender: number, occupation: number, age: number): Float32Array {
    const p = this.params;
    const { user: x, hiddenU, age: ageOut } = this.scratch;
    const e = this.shape.embedding;
    const half = e / 2;
    if (user >= 0) this.rowOf(this.tables.userId, user, x, 0);
    else x.fill(0, 0, e);
    this.rowOf(this.tables.gender, gender, x, e);
    this.rowOf(this.tables.occupation, occupation, x, e + half);
    for (let j = 0; j < half; j++) ageOut[j] = Math.max(0, age * p.age_w![j]! + p.age_b![j]!);
    x.set(ageOut, e + 2 * half);
    dense(x, p.user1_w!, p.user1_b!, hiddenU, true);
    const out = new Float32Array(this.shape.final);
    dense(hiddenU, p.user2_w!, p.user2_b!, out, false);
    normalise(out);
    return out;
  }

  /** Side features or vocabularies changed since the cached vectors were made: they are stale. */
  private checkFeatures(): void {
    const revision = this.encoder.revision;
    if (revision === this.featureRevision) return;
    this.featureRevision = revision;
    this.version++;
  }

  userVector(user: number): Float32Array {
    this.checkFeatures();
    if (this.userCacheVersion !== this.version) {
      this.userCache.clear();
      this.userCacheVersion = this.version;
    }
    let vector = this.userCache.get(user);
    if (!vector) {
      const [gender, occupation, age] = this.encoder.userInputs(user);
      vector = this.userVectorFor(user, gender, occupation, age);
      this.userCache.set(user, vector);
    }
    return vector;
  }

  private computeItem(item: number, out: Float32Array, at: number): void {
    const p = this.params;
    const { genre, itemIn, hiddenI } = this.scratch;
    const e = this.shape.embedding;
    const mask = this.encoder.itemMask(item);
    for (let s = 0; s < genre.length; s++) genre[s] = (mask >>> s) & 1;
    this.rowOf(this.tables.itemId, item, itemIn, 0);
    dense(genre, p.genre_w!, p.genre_b!, itemIn.subarray(e), true);
    dense(itemIn, p.item1_w!, p.item1_b!, hiddenI, true);
    const v = out.subarray(at, at + this.shape.final);
    dense(hiddenI, p.item2_w!, p.item2_b!, v, false);
    normalise(v);
  }

  private ensureItemRows(itemCount: number): void {
    if (this.itemVersions.length >= itemCount) return;
    const grown = Math.max(itemCount, 2 * this.itemVersions.length, 256);
    this.itemVectors = resized(this.itemVectors, grown * this.shape.final);
    const versions = new Int32Array(grown).fill(-1);
    versions.set(this.itemVersions);
    this.itemVersions = versions;
  }

  /** Item vectors 0..itemCount-1 as one row-major matrix, recomputing the stale ones. */
  itemMatrix(itemCount: number): Float32Array {
    this.checkFeatures();
    this.ensureItemRows(itemCount);
    const f = this.shape.final;
    for (let item = 0; item < itemCount; item++) {
      if (this.itemVersions[item] === this.version) continue;
      this.computeItem(item, this.itemVectors, item * f);
      this.itemVersions[item] = this.version;
    }
    return this.itemVectors;
  }

  /** One item's vector, recomputed only when stale (a prediction never scans the catalogue). */
  private itemVector(item: number): Float32Array {
    this.checkFeatures();
    this.ensureItemRows(item + 1);
    const f = this.shape.final;
    if (this.itemVersions[item] !== this.version) {
      this.computeItem(item, this.itemVectors, item * f);
      this.itemVersions[item] = this.version;
    }
    return this.itemVectors.subarray(item * f, (item + 1) * f);
  }

  get scale(): number {
    return this.params.scale![0]!;
  }

  /** The head's learned offset c. */
  get offset(): number {
    return this.params.offset![0]!;
  }

  /** s · u·v: what the towers add to the baseline estimate. */
  interaction(user: number, item: number): number {
    const u = this.userVector(user);
    const v = this.itemVector(item);
    let dot = 0;
    for (let c = 0; c < u.length; c++) dot += u[c]! * v[c]!;
    return this.scale * dot;
  }

  /** s · u·v for items 0..itemCount-1, added to `scores` (which hold the baseline's). */
  addInteractions(userVector: Float32Array, itemCount: number, scores: Float64Array): void {
    const items = this.itemMatrix(itemCount);
    if (this.dots.length < itemCount) this.dots = new Float64Array(Math.max(itemCount, 2 * this.dots.length));
    const dots = this.dots;
    blockScores(userVector, 1, items, itemCount, this.shape.final, dots);
    const s = this.scale;
    for (let i = 0; i < itemCount; i++) scores[i]! += s * dots[i]!;
  }
}
