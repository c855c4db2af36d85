/**
 * The co-occurrence model's pair counts c_ij and its scoring sum over them, in two layouts:
 *
 * - dense: a square Uint32 table, c_ij stored at both [i][j] and [j][i], so a pick's links are
 *   two array increments and a window pick's similarities one contiguous row. It costs
 *   4 · capacity² bytes whatever the number of pairs, so it is used while the catalogue has at
 *   most DENSE_ITEM_LIMIT items (a 64 MiB table at the limit; 16 MiB at ML-100K's 1,682).
 * - sparse: a pair hash table plus per-item adjacency arrays, memory in proportion to the
 *   pairs linked, for larger catalogues. The model moves from dense to sparse when an item
 *   index reaches the limit.
 *
 * Both add each item's contributions in window order (newest pick first), so scores are
 * bit-identical whichever layout holds the counts.
 */
import { PairTable } from '../similarity/pair-table.js';
import { resized, withIndex } from '../typed-arrays.js';

export type CoOccurrenceSimilarity = 'jaccard' | 'cosine' | 'lift';

/** Items the dense table may hold: 4 · 4096² bytes = 64 MiB. */
export const DENSE_ITEM_LIMIT = 4096;

/** s(c, n_i, n_j) for c > 0. */
export function measure(similarity: CoOccurrenceSimilarity, c: number, ni: number, nj: number): number {
  switch (similarity) {
    case 'jaccard':
      return c / (ni + nj - c);
    case 'cosine':
      return c / Math.sqrt(ni * nj);
    case 'lift':
      return c / (ni * nj);
  }
}

/** What a scoring sum reads: the window's picks newest first, their recency weights and every item's n. */
export interface ScoringWindow {
  /** The user's picks; the window is picks[newest], picks[newest − 1], … down to picks[oldest]. */
  readonly picks: Int32Array;
  readonly newest: number;
  readonly oldest: number;
  /** Recency weight by age (0 = newest). */
  readonly decay: Float64Array;
  readonly itemCounts: Uint32Array;
  readonly similarity: CoOccurrenceSimilarity;
}

export interface PairCounts {
  /** c_ab += 1, for a ≠ b. */
  link(a: number, b: number): void;
  count(a: number, b: number): number;
  /** scores[i] += Σ_{window picks j} a_j · s_ji for i < itemCount (scores zeroed by the caller). */
  accumulate(window: ScoringWindow, itemCount: number, scores: Float64Array): void;
  /** Counts that hold items 0..item: these (grown), or a sparse copy once the dense limit is reached. */
  withItem(item: number): PairCounts;
}

export class DensePairCounts implements PairCounts {
  /** Row stride; items 0..capacity-1 fit. */
  private capacity = 0;
  private table = new Uint32Array(0);

  constructor(private readonly limit = DENSE_ITEM_LIMIT) {}

  withItem(item: number): PairCounts {
    if (item < this.capacity) return this;
    if (item >= this.limit) return SparsePairCounts.from(this);
    const capacity = Math.min(this.limit, Math.max(item + 1, 2 * this.capacity, 64));
    const table = new Uint32Array(capacity * capacity);
    for (let row = 0; row < this.capacity; row++) table.set(this.table.subarray(row * this.capacity, (row + 1) * this.capacity), row * capacity);
    this.table = table;
    this.capacity = capacity;
    return this;
  }

  link(a: number, b: number): void {
    this.table[a * this.capacity + b]! += 1;
    this.table[b * this.capacity + a]! += 1;
  }

  count(a: number, b: number): number {
    return a < this.capacity && b < this.capacity ? this.table[a * this.capacity + b]! : 0;
  }

  /** Every linked pair a < b with its count, for moving to the sparse layout. */
  forEachPair(visit: (a: number, b: number, count: number) => void): void {
    for (let a = 0; a < this.capacity; a++) {
      for (let b = a + 1; b < this.capacity; b++) {
        const c = this.table[a * this.capacity + b]!;
        if (c > 0) visit(a, b, c);
      }
    }
  }

  /**
   * Whole rows, unlinked items included: for Jaccard an unlinked item adds a · 0/(n_i + n_j) = +0,
   * which leaves its sum unchanged, so no branch is needed. Four window picks per pass over the
   * row, added in window order: the same sums with a quarter of the loads and stores of scores.
   */
  accumulate(window: ScoringWindow, itemCount: number, scores: Float64Array): void {
    const { picks, oldest, decay, itemCounts: n } = window;
    const { table, capacity } = this;
    // Items past n's length were never picked, so never linked: their sums stay 0.
    const end = Math.min(itemCount, capacity, n.length);
    let p = window.newest;
    let age = 0;
    if (window.similarity === 'jaccard') {
      for (; p - 3 >= oldest; p -= 4, age += 4) {
        const j0 = picks[p]!;
        const j1 = picks[p - 1]!;
        const j2 = picks[p - 2]!;
        const j3 = picks[p - 3]!;
        const a0 = decay[age]!;
        const a1 = decay[age + 1]!;
        const a2 = decay[age + 2]!;
        const a3 = decay[age + 3]!;
        const n0 = n[j0]!;
        const n1 = n[j1]!;
        const n2 = n[j2]!;
        const n3 = n[j3]!;
        const r0 = j0 * capacity;
        const r1 = j1 * capacity;
        const r2 = j2 * capacity;
        const r3 = j3 * capacity;
        for (let i = 0; i < end; i++) {
          const ni = n[i]!;
          const c0 = table[r0 + i]!;
          const c1 = table[r1 + i]!;
          const c2 = table[r2 + i]!;
          const c3 = table[r3 + i]!;
          scores[i] = scores[i]! + a0 * (c0 / (ni + n0 - c0)) + a1 * (c1 / (ni + n1 - c1)) + a2 * (c2 / (ni + n2 - c2)) + a3 * (c3 / (ni + n3 - c3));
        }
      }
      for (; p >= oldest; p--, age++) {
        const j = picks[p]!;
        const a = decay[age]!;
        const nj = n[j]!;
        const row = j * capacity;
        for (let i = 0; i < end; i++) {
          const c = table[row + i]!;
          scores[i]! += a * (c / (n[i]! + nj - c));
        }
      }
      return;
    }
    // Cosine and lift divide by n_i, which is 0 for an item no one picked yet: skip c = 0.
    for (; p >= oldest; p--, age++) {
      const j = picks[p]!;
      const a = decay[age]!;
      const nj = n[j]!;
      const row = j * capacity;
      for (let i = 0; i < end; i++) {
        const c = table[row + i]!;
        if (c !== 0) scores[i]! += a * measure(window.similarity, c, n[i]!, nj);
      }
    }
  }
}

/** Pair record: [a + 1, b, position in a's adjacency, position in b's adjacency], a < b. */
const STRIDE = 4;

export class SparsePairCounts implements PairCounts {
  private readonly pairs = new PairTable(STRIDE, 1 << 16);
  private partners: Int32Array[] = [];
  private counts: Uint32Array[] = [];
  private degrees = new Int32Array(1024);

  static from(dense: DensePairCounts): SparsePairCounts {
    const sparse = new SparsePairCounts();
    dense.forEachPair((a, b, count) => sparse.increase(a, b, count));
    return sparse;
  }

  withItem(): PairCounts {
    return this;
  }

  link(a: number, b: number): void {
    this.increase(a, b, 1);
  }

  private increase(x: number, y: number, by: number): void {
    const a = Math.min(x, y);
    const b = Math.max(x, y);
    const found = this.pairs.findOrInsert(a, b);
    if (found >= 0) {
      const at = found * STRIDE;
      this.counts[a]![this.pairs.records[at + 2]!]! += by;
      this.counts[b]![this.pairs.records[at + 3]!]! += by;
      return;
    }
    const at = (-found - 1) * STRIDE;
    this.pairs.records[at + 2] = this.attach(a, b, by);
    this.pairs.records[at + 3] = this.attach(b, a, by);
  }

  /** Append `partner` with `count` to `item`'s adjacency; its position there. */
  private attach(item: number, partner: number, count: number): number {
    this.degrees = withIndex(this.degrees, item);
    const degree = this.degrees[item]!;
    let partners = this.partners[item];
    let counts = this.counts[item];
    if (!partners || !counts) {
      partners = this.partners[item] = new Int32Array(8);
      counts = this.counts[item] = new Uint32Array(8);
    } else if (degree === partners.length) {
      partners = this.partners[item] = resized(partners, degree * 2);
      counts = this.counts[item] = resized(counts, degree * 2);
    }
    partners[degree] = partner;
    counts[degree] = count;
    this.degrees[item] = degree + 1;
    return degree;
  }

  count(i: number, j: number): number {
    const a = Math.min(i, j);
    const slot = this.pairs.find(a, Math.max(i, j));
    return slot < 0 ? 0 : this.counts[a]![this.pairs.records[slot * STRIDE + 2]!]!;
  }

  /** Over each window pick's adjacency, in memory order: O(Σ degree). */
  accumulate(window: ScoringWindow, itemCount: number, scores: Float64Array): void {
    const { picks, oldest, decay, itemCounts, similarity } = window;
    const jaccard = similarity === 'jaccard';
    for (let p = window.newest, age = 0; p >= oldest; p--, age++) {
      const j = picks[p]!;
      const partners = this.partners[j];
      const counts = this.counts[j];
      if (!partners || !counts) continue;
      const affinity = decay[age]!;
      const nj = itemCounts[j]!;
      const degree = this.degrees[j]!;
      for (let k = 0; k < degree; k++) {
        const i = partners[k]!;
        if (i >= itemCount) continue;
        const c = counts[k]!;
        scores[i]! += affinity * (jaccard ? c / (itemCounts[i]! + nj - c) : measure(similarity, c, itemCounts[i]!, nj));
      }
    }
  }
}
