/**
 * Sufficient statistics of every co-rated pair (a, b), a < b: n, Σx, Σy, Σx², Σy², Σxy over the
 * contexts that link them (x the value given to a, y to b, both on the q grid). Integer values
 * make every sum an exact uint32, so adding a link and swapping a re-rated value in and out
 * never drifts: the incremental record equals the from-scratch one bit for bit.
 *
 * Record (8 uint32 words = 32 bytes, one cache line holds two): a, b, n, Σx, Σy, Σx², Σy², Σxy.
 * Exact while Σx² < 2^32, i.e. a pair's support stays under 2^32 / max(q)² (42 M co-ratings
 * on the half-star scale). Beside the record: the pair's birth (event seq of its first link,
 * for pruning) and each entity's adjacency list of slots (for its neighbour list).
 */
import { cosine, pearson, shrink } from './measures.js';
import { PairTable } from './pair-table.js';

const STRIDE = 8;
const N = 2;
const SX = 3;
const SY = 4;
const SXX = 5;
const SYY = 6;
const SXY = 7;

export type PairMeasure = 'pearson' | 'cosine';

export class CoRatingStats {
  private readonly table = new PairTable(STRIDE, 4096);
  private births = new Float64Array(4096);
  private adjacency: Int32Array[] = [];
  private degrees = new Int32Array(1024);
  /** Keeps the warming loads observable so they are not optimised away. */
  private warmth = 0;

  get size(): number {
    return this.table.size;
  }

  /**
   * Link `entity`, just rated `value` at event `seq`, to partners[from..to) with their values:
   * one more co-rating for each pair.
   */
  link(entity: number, value: number, seq: number, partners: Int32Array, values: Uint8Array, from: number, to: number): void {
    const table = this.table;
    let warmth = 0;
    for (let p = from; p < to; p++) {
      const partner = partners[p];
      warmth += entity < partner ? table.warmBucket(entity, partner) : table.warmBucket(partner, entity);
    }
    for (let p = from; p < to; p++) {
      const partner = partners[p];
      warmth += entity < partner ? table.warmRecord(entity, partner) : table.warmRecord(partner, entity);
    }
    this.warmth = warmth;
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
        this.born(slot, seq, a, b);
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
      if (slot < 0 || Math.max(entitySeq, seqs[p]) < this.births[slot]) continue;
      const records = table.records;
      const at = slot * STRIDE;
      const other = values[p];
      records[at + (first ? SX : SY)] += delta;
      records[at + (first ? SXX : SYY)] += squareDelta;
      records[at + SXY] += delta * other;
    }
  }

  /** Slot of the pair {a, b} in either order, or -1. */
  slotOf(a: number, b: number): number {
    return a < b ? this.table.find(a, b) : this.table.find(b, a);
  }

  /** Touch the pair's bucket, then (second pass) its record, ahead of use (see PairTable). */
  warmBucket(a: number, b: number): void {
    this.warmth += a < b ? this.table.warmBucket(a, b) : this.table.warmBucket(b, a);
  }

  warmRecord(a: number, b: number): void {
    this.warmth += a < b ? this.table.warmRecord(a, b) : this.table.warmRecord(b, a);
  }

  support(slot: number): number {
    return this.table.records[slot * STRIDE + N];
  }

  birth(slot: number): number {
    return this.births[slot];
  }

  /** The pair at `slot` is (first, second), first < second. */
  first(slot: number): number {
    return this.table.records[slot * STRIDE];
  }

  second(slot: number): number {
    return this.table.records[slot * STRIDE + 1];
  }

  /** The other member of the pair at `slot`. */
  partner(slot: number, entity: number): number {
    const records = this.table.records;
    const a = records[slot * STRIDE];
    return a === entity ? records[slot * STRIDE + 1] : a;
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

  /** Slots of the entity's pairs (valid up to `degree(entity)`). */
  slotsOf(entity: number): Int32Array {
    return this.adjacency[entity] ?? EMPTY;
  }

  degree(entity: number): number {
    return entity < this.degrees.length ? this.degrees[entity] : 0;
  }

  /**
   * Drop pairs with support below `minSupport` born at least `olderThan` events before `now`.
   * Returns the entities that lost a pair. O(pairs): slots are compacted and re-indexed.
   */
  prune(now: number, minSupport: number, olderThan: number): number[] {
    const records = this.table.records;
    const births = this.births;
    const touched = new Set<number>();
    const moved = this.table.compact((slot) => {
      if (records[slot * STRIDE + N] >= minSupport || now - births[slot] < olderThan) return true;
      touched.add(records[slot * STRIDE]);
      touched.add(records[slot * STRIDE + 1]);
      return false;
    });
    if (touched.size === 0) return [];
    for (let slot = 0; slot < moved.length; slot++) {
      const to = moved[slot];
      if (to >= 0) births[to] = births[slot];
    }
    births.fill(0, this.table.size, moved.length);
    for (let entity = 0; entity < this.adjacency.length; entity++) {
      const slots = this.adjacency[entity];
      let kept = 0;
      for (let k = 0; k < this.degrees[entity]; k++) {
        const to = moved[slots[k]];
        if (to >= 0) slots[kept++] = to;
      }
      this.degrees[entity] = kept;
    }
    return [...touched];
  }

  /** Bytes held, spare capacity included. */
  get byteLength(): number {
    let bytes = this.table.byteLength + this.births.byteLength + this.degrees.byteLength;
    for (const slots of this.adjacency) bytes += slots?.byteLength ?? 0;
    return bytes;
  }

  private born(slot: number, seq: number, a: number, b: number): void {
    if (slot >= this.births.length) {
      const grown = new Float64Array(this.births.length * 2);
      grown.set(this.births);
      this.births = grown;
    }
    this.births[slot] = seq;
    this.attach(a, slot);
    this.attach(b, slot);
  }

  private attach(entity: number, slot: number): void {
    if (entity >= this.degrees.length) {
      const grown = new Int32Array(Math.max(entity + 1, this.degrees.length * 2));
      grown.set(this.degrees);
      this.degrees = grown;
    }
    for (let e = this.adjacency.length; e <= entity; e++) this.adjacency[e] = EMPTY;
    const degree = this.degrees[entity];
    let slots = this.adjacency[entity];
    if (degree === slots.length) {
      const grown = new Int32Array(Math.max(8, slots.length * 2));
      grown.set(slots);
      this.adjacency[entity] = slots = grown;
    }
    slots[degree] = slot;
    this.degrees[entity] = degree + 1;
  }
}

const EMPTY = new Int32Array(0);
