/**
 * Sufficient statistics of every co-rated pair (a, b), a < b: n, Σx, Σy, Σx², Σy², Σxy over the
 * contexts that link them (x the value given to a, y to b, both on the q grid). Integer values
 * make every sum an exact uint32, so adding a link and swapping a re-rated value in and out
 * never drifts: the incremental record equals the from-scratch one bit for bit.
 *
 * Record (8 uint32 words = 32 bytes, two to a cache line): a + 1, b, n, Σx, Σy, Σx², Σy², Σxy,
 * stored inline in the hash table, with the pair's birth (event seq of its first link, for
 * pruning) as the table's stamp. Exact while Σx² < 2^32, i.e. a pair's support stays under
 * 2^32 / max(q)² (42 M co-ratings on the half-star scale). Each entity also keeps an adjacency
 * list of its partners, for its neighbour list.
 *
 * Memory per pair: (32 + 8) / load (0.35–0.7) in the table + 8 for two adjacency entries =
 * 65–122 bytes, plus the adjacency lists' doubling slack.
 */
import { resized, withIndex } from '../typed-arrays.js';
import { cosine, pearson, shrink } from './measures.js';
import { PairTable } from './pair-table.js';
import type { TopNHeaps } from './top-n.js';

const STRIDE = 8;
const N = 2;
const SX = 3;
const SY = 4;
const SXX = 5;
const SYY = 6;
const SXY = 7;

export type PairMeasure = 'pearson' | 'cosine';

export class CoRatingStats {
  private readonly table = new PairTable(STRIDE, 4096, true);
  private adjacency: Int32Array[] = [];
  private degrees: Int32Array = new Int32Array(1024);
  /** Keeps the warming loads observable so they are not optimised away. */
  private warmth = 0;

  get size(): number {
    return this.table.size;
  }

  /** Slots of the table, live or empty: what an in-order pass visits. */
  get capacity(): number {
    return this.table.capacity;
  }

  /**
   * Link `entity`, just rated `value` at event `seq`, to partners[from..to) with their values:
   * one more co-rating for each pair.
   */
  link(entity: number, value: number, seq: number, partners: Int32Array, values: Uint8Array, from: number, to: number): void {
    const table = this.table;
    for (let p = from; p < to; p++) {
      const partner = partners[p];
      const other = values[p];
      const first = entity < partner;
      const a = first ? entity : partner;
      const b = first ? partner : entity;
      const x = first ? value : other;
      const y = first ? other : value;
      let slot = table.findOrInsert(a, b);
      if (slot < 0) {
        slot = -slot - 1;
        table.stamps[slot] = seq;
        this.attach(a, b);
        this.attach(b, a);
      }
      const records = table.records;
      const at = slot * STRIDE;
      records[at + N] += 1;
      records[at + SX] += x;
      records[at + SY] += y;
      records[at + SXX] += x * x;
      records[at + SYY] += y * y;
      records[at + SXY] += x * y;
    }
  }

  /**
   * `entity` (first rated at event `entitySeq`) was re-rated from `oldValue` to `newValue`:
   * swap the value in every pair it links to partners[from..to) except position `skip` (itself).
   * A link older than its pair's birth was pruned with an earlier incarnation and is skipped.
   */
  relink(
    entity: number,
    oldValue: number,
    newValue: number,
    entitySeq: number,
    partners: Int32Array,
    values: Uint8Array,
    seqs: Float64Array,
    from: number,
    to: number,
    skip: number,
  ): void {
    const table = this.table;
    const delta = newValue - oldValue;
    const squareDelta = newValue * newValue - oldValue * oldValue;
    for (let p = from; p < to; p++) {
      if (p === skip) continue;
      const partner = partners[p];
      const first = entity < partner;
      const slot = first ? table.find(entity, partner) : table.find(partner, entity);
      if (slot < 0 || Math.max(entitySeq, seqs[p]) < table.stamps[slot]) continue;
      const records = table.records;
      const at = slot * STRIDE;
      const other = values[p];
      records[at + (first ? SX : SY)] += delta;
      records[at + (first ? SXX : SYY)] += squareDelta;
      records[at + SXY] += delta * other;
    }
  }

  /** Slot of the pair {a, b} in either order, or -1; valid until the next link or prune. */
  slotOf(a: number, b: number): number {
    return a < b ? this.table.find(a, b) : this.table.find(b, a);
  }

  /** Touch the pair's record ahead of reading it (see PairTable.warm). */
  warm(a: number, b: number): void {
    this.warmth += a < b ? this.table.warm(a, b) : this.table.warm(b, a);
  }

  support(slot: number): number {
    return this.table.records[slot * STRIDE + N];
  }

  /** The pair's statistics n, Σx, Σy, Σx², Σy², Σxy (x the value of the lower entity). */
  sums(slot: number): number[] {
    const at = slot * STRIDE;
    return [N, SX, SY, SXX, SYY, SXY].map((field) => this.table.records[at + field]!);
  }

  birth(slot: number): number {
    return this.table.stamps[slot];
  }

  /** Shrunk Pearson or cosine of the pair at `slot`. */
  similarity(slot: number, measure: PairMeasure, shrinkage: number): number {
    const records = this.table.records;
    const at = slot * STRIDE;
    const n = records[at + N];
    const raw =
      measure === 'pearson'
        ? pearson(n, records[at + SX], records[at + SY], records[at + SXX], records[at + SYY], records[at + SXY])
        : cosine(records[at + SXX], records[at + SYY], records[at + SXY]);
    return shrink(raw, n, shrinkage);
  }

  /**
   * Offer every pair with a positive similarity to the heap of each of its members that has a
   * rank (heap number; -1 for none): the neighbour lists of many entities in one in-order pass
   * over the table, O(capacity), far cheaper per pair than following adjacency lists.
   */
  offerAll(rank: Int32Array, heaps: TopNHeaps, measure: PairMeasure, shrinkage: number): void {
    const table = this.table;
    const records = table.records;
    for (let slot = 0, capacity = table.capacity; slot < capacity; slot++) {
      const at = slot * STRIDE;
      if (records[at] === 0) continue;
      const a = records[at] - 1;
      const b = records[at + 1];
      const rankA = a < rank.length ? rank[a] : -1;
      const rankB = b < rank.length ? rank[b] : -1;
      if (rankA < 0 && rankB < 0) continue;
      const n = records[at + N];
      const raw =
        measure === 'pearson'
          ? pearson(n, records[at + SX], records[at + SY], records[at + SXX], records[at + SYY], records[at + SXY])
          : cosine(records[at + SXX], records[at + SYY], records[at + SXY]);
      const sim = shrink(raw, n, shrinkage);
      if (!(sim > 0)) continue;
      if (rankA >= 0 && sim >= heaps.floor(rankA)) heaps.offer(rankA, b, sim, n);
      if (rankB >= 0 && sim >= heaps.floor(rankB)) heaps.offer(rankB, a, sim, n);
    }
  }

  /** The entity's partners (valid up to `degree(entity)`). */
  partnersOf(entity: number): Int32Array {
    return this.adjacency[entity] ?? EMPTY;
  }

  degree(entity: number): number {
    return entity < this.degrees.length ? this.degrees[entity] : 0;
  }

  /**
   * Drop pairs with support below `minSupport` born at least `olderThan` events before `now`.
   * Returns the entities that lost a pair, ascending. O(capacity) to find them, then O(1) per
   * dropped pair and O(degree) per entity that lost one.
   */
  prune(now: number, minSupport: number, olderThan: number): number[] {
    const table = this.table;
    const { records, stamps } = table;
    const lower: number[] = [];
    const upper: number[] = [];
    for (let slot = 0; slot < table.capacity; slot++) {
      const at = slot * STRIDE;
      if (records[at] === 0 || records[at + N] >= minSupport || now - stamps[slot] < olderThan) continue;
      lower.push(records[at] - 1);
      upper.push(records[at + 1]);
    }
    if (lower.length === 0) return [];
    // Removal moves records, so drop by key once the scan is over.
    const lost = new Map<number, number[]>();
    const note = (entity: number, partner: number) => {
      const partners = lost.get(entity);
      if (partners) partners.push(partner);
      else lost.set(entity, [partner]);
    };
    for (let k = 0; k < lower.length; k++) {
      table.remove(table.find(lower[k], upper[k]));
      note(lower[k], upper[k]);
      note(upper[k], lower[k]);
    }
    const gone = new Uint8Array(this.degrees.length);
    for (const [entity, partners] of lost) {
      for (const partner of partners) gone[partner] = 1;
      const list = this.adjacency[entity];
      let kept = 0;
      for (let k = 0; k < this.degrees[entity]; k++) if (gone[list[k]] === 0) list[kept++] = list[k];
      this.degrees[entity] = kept;
      for (const partner of partners) gone[partner] = 0;
    }
    return [...lost.keys()].sort((a, b) => a - b);
  }

  /** Bytes held, spare capacity included. */
  get byteLength(): number {
    let bytes = this.table.byteLength + this.degrees.byteLength;
    for (const list of this.adjacency) bytes += list?.byteLength ?? 0;
    return bytes;
  }

  private attach(entity: number, partner: number): void {
    this.degrees = withIndex(this.degrees, entity);
    for (let e = this.adjacency.length; e <= entity; e++) this.adjacency[e] = EMPTY;
    const degree = this.degrees[entity];
    let list = this.adjacency[entity];
    if (degree === list.length) this.adjacency[entity] = list = resized(list, Math.max(8, list.length * 2));
    list[degree] = partner;
    this.degrees[entity] = degree + 1;
  }
}

const EMPTY = new Int32Array(0);
