/**
 * Every rating, filed by context: for item-item similarity a context is a user and its history
 * is the items that user rated; for user-user a context is an item and its history is its
 * raters. A history keeps entries in order of first rating (a re-rating changes the value in
 * place, never the order), which is what the history cap H counts in. Values are stored on the
 * scale's grid as small integers q = rating / step, so sums of them are exact.
 *
 * Also kept: each context's value sum (for its mean, used by adjusted cosine), each entity's
 * list of (context, position) (its raters, for reading adjusted cosine), and an index from
 * (context, entity) to position, so a re-rating is found in O(1).
 *
 * Memory: 13 bytes per rating in the histories, 8 in the raters lists, 12 / load (17–34) in
 * the index; 55 bytes a rating measured on ML-1M, growth slack included.
 */
import { resized, withIndex } from '../typed-arrays.js';
import { PairTable } from './pair-table.js';

/** Entries per persisted chunk of a history: small enough that a new rating rewrites little. */
export const HISTORY_CHUNK = 64;

export interface HistoryEntry {
  readonly context: number;
  readonly entity: number;
  readonly value: number;
  readonly seq: number;
}

export class RatingHistories {
  private entities: Int32Array[] = [];
  private values: Uint8Array[] = [];
  private seqs: Float64Array[] = [];
  private lengths: Int32Array = new Int32Array(1024);
  private valueSums: Float64Array = new Float64Array(1024);
  private raters: Int32Array[] = [];
  private raterCounts: Int32Array = new Int32Array(1024);
  /** (context, entity) → [context, entity, position]. */
  private readonly positions = new PairTable(3, 4096);
  /** context * 2^24 + chunk for every chunk changed since the last drain. */
  private readonly changedChunks = new Set<number>();
  private ratingCount = 0;

  get size(): number {
    return this.ratingCount;
  }

  /** Position of `entity` in `context`'s history, or -1 when it has not rated it. */
  position(context: number, entity: number): number {
    const slot = this.positions.find(context, entity);
    return slot < 0 ? -1 : this.positions.records[slot * 3 + 2];
  }

  length(context: number): number {
    return context >= 0 && context < this.lengths.length ? this.lengths[context] : 0;
  }

  /** The context's history as live views (valid up to `length(context)`, until the next append). */
  entitiesOf(context: number): Int32Array {
    return this.entities[context] ?? EMPTY_INT32;
  }

  valuesOf(context: number): Uint8Array {
    return this.values[context] ?? EMPTY_UINT8;
  }

  seqsOf(context: number): Float64Array {
    return this.seqs[context] ?? EMPTY_FLOAT64;
  }

  /** Mean value (on the q grid) of all of the context's ratings. */
  mean(context: number): number {
    return this.valueSums[context] / this.lengths[context];
  }

  /** (context, position) pairs, flat, for the entity's first `raterCount(entity)` ratings. */
  ratersOf(entity: number): Int32Array {
    return this.raters[entity] ?? EMPTY_INT32;
  }

  /** One more than the largest entity index filed. */
  get entityCount(): number {
    return this.raters.length;
  }

  raterCount(entity: number): number {
    return entity >= 0 && entity < this.raterCounts.length ? this.raterCounts[entity] : 0;
  }

  /** File a first rating; returns its position in the context's history. */
  append(context: number, entity: number, value: number, seq: number): number {
    this.ensureContext(context);
    this.ensureEntity(entity);
    const position = this.lengths[context];
    if (position === this.entities[context].length) this.growContext(context);
    this.entities[context][position] = entity;
    this.values[context][position] = value;
    this.seqs[context][position] = seq;
    this.lengths[context] = position + 1;
    this.valueSums[context] += value;
    const slot = -this.positions.findOrInsert(context, entity) - 1;
    this.positions.records[slot * 3 + 2] = position;
    const count = this.raterCounts[entity];
    if (2 * count + 2 > this.raters[entity].length) this.raters[entity] = growInt32(this.raters[entity], 2 * count + 2);
    this.raters[entity][2 * count] = context;
    this.raters[entity][2 * count + 1] = position;
    this.raterCounts[entity] = count + 1;
    this.ratingCount++;
    this.changedChunks.add(chunkKey(context, position));
    return position;
  }

  /** Replace the value at a position (a re-rating); returns the old value. */
  replace(context: number, position: number, value: number): number {
    const values = this.values[context];
    const old = values[position];
    values[position] = value;
    this.valueSums[context] += value - old;
    this.changedChunks.add(chunkKey(context, position));
    return old;
  }

  /** The chunks changed since the last call, packed: [context, chunk, bytes]. */
  drainChangedChunks(): Array<[number, number, Uint8Array]> {
    const drained: Array<[number, number, Uint8Array]> = [];
    for (const key of this.changedChunks) {
      const context = Math.floor(key / CHUNK_KEY_SPAN);
      const chunk = key % CHUNK_KEY_SPAN;
      drained.push([context, chunk, this.packChunk(context, chunk)]);
    }
    this.changedChunks.clear();
    return drained;
  }

  /** Forget pending chunk changes (after a restore: the store already holds them). */
  markPersisted(): void {
    this.changedChunks.clear();
  }

  /** Entries of a packed chunk, for replay on restore. */
  static unpackChunk(context: number, bytes: Uint8Array): HistoryEntry[] {
    const count = bytes.byteLength / 13;
    if (!Number.isInteger(count)) throw new Error(`similarity history chunk of context ${context} has ${bytes.byteLength} bytes, not a multiple of 13`);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const seqs = new Float64Array(copy.buffer, 0, count);
    const entities = new Int32Array(copy.buffer, 8 * count, count);
    const values = copy.subarray(12 * count);
    const entries: HistoryEntry[] = [];
    for (let k = 0; k < count; k++) entries.push({ context, entity: entities[k], value: values[k], seq: seqs[k] });
    return entries;
  }

  /** Bytes held, including spare capacity. */
  get byteLength(): number {
    let bytes = this.positions.byteLength + this.lengths.byteLength + this.valueSums.byteLength + this.raterCounts.byteLength;
    for (let c = 0; c < this.entities.length; c++) {
      bytes += (this.entities[c]?.byteLength ?? 0) + (this.values[c]?.byteLength ?? 0) + (this.seqs[c]?.byteLength ?? 0);
    }
    for (const list of this.raters) bytes += list?.byteLength ?? 0;
    return bytes;
  }

  /** Layout: float64 seqs, then int32 entities, then uint8 values (13 bytes an entry). */
  private packChunk(context: number, chunk: number): Uint8Array {
    const from = chunk * HISTORY_CHUNK;
    const count = Math.min(HISTORY_CHUNK, this.lengths[context] - from);
    const bytes = new Uint8Array(13 * count);
    new Float64Array(bytes.buffer, 0, count).set(this.seqs[context].subarray(from, from + count));
    new Int32Array(bytes.buffer, 8 * count, count).set(this.entities[context].subarray(from, from + count));
    bytes.set(this.values[context].subarray(from, from + count), 12 * count);
    return bytes;
  }

  private ensureContext(context: number): void {
    if (context >= this.lengths.length) {
      const size = Math.max(context + 1, this.lengths.length * 2);
      this.lengths = resized(this.lengths, size);
      this.valueSums = resized(this.valueSums, size);
    }
    if (this.entities[context] === undefined) {
      for (let c = this.entities.length; c <= context; c++) {
        this.entities[c] ??= EMPTY_INT32;
        this.values[c] ??= EMPTY_UINT8;
        this.seqs[c] ??= EMPTY_FLOAT64;
      }
    }
  }

  private ensureEntity(entity: number): void {
    this.raterCounts = withIndex(this.raterCounts, entity);
    for (let e = this.raters.length; e <= entity; e++) this.raters[e] = EMPTY_INT32;
  }

  private growContext(context: number): void {
    const capacity = Math.max(8, this.entities[context].length * 2);
    this.entities[context] = resized(this.entities[context], capacity);
    this.values[context] = resized(this.values[context], capacity);
    this.seqs[context] = resized(this.seqs[context], capacity);
  }
}

const CHUNK_KEY_SPAN = 2 ** 24;
const EMPTY_INT32 = new Int32Array(0);
const EMPTY_UINT8 = new Uint8Array(0);
const EMPTY_FLOAT64 = new Float64Array(0);

function chunkKey(context: number, position: number): number {
  return context * CHUNK_KEY_SPAN + Math.floor(position / HISTORY_CHUNK);
}

function growInt32(array: Int32Array, atLeast: number): Int32Array {
  return resized(array, Math.max(atLeast, array.length * 2, 8));
}
