/**
 * What an ALS fold-in model keeps: every rating filed by user (with each item's raters, so either
 * side's row can be re-solved from its ratings), the user and item factor rows, and their
 * persistence. Ratings drain in chunks as the similarity index's do (13 bytes a rating) and are
 * replayed in event order on restore; factor rows drain when re-solved and restore as stored.
 */
import { RatingHistories, type HistoryEntry } from '../similarity/rating-histories.js';
import { DirtyRows } from './dirty.js';
import type { StateValue } from './model.js';
import { GrowableRows, packFloat64, unpackFloat64 } from './packed.js';
import { seededNormal } from './seeded-init.js';

const USER_TABLE = 11;
const ITEM_TABLE = 12;

export interface FoldInLayout {
  /** Model name, for errors. */
  readonly model: string;
  readonly seed: number;
  readonly initStd: number;
  readonly userWidth: number;
  readonly itemWidth: number;
  /** Leading columns of an item row that start at 0 (offsets), not drawn at random. */
  readonly itemLeadingZeros: number;
}

export class FoldInState {
  /** Contexts are users, entities items. */
  readonly ratings = new RatingHistories();
  readonly users: GrowableRows;
  readonly items: GrowableRows;
  readonly dirty = new DirtyRows();
  readonly initUserRow: (row: Float64Array, index: number) => void;
  readonly initItemRow: (row: Float64Array, index: number) => void;
  /** Events filed: the order ratings are replayed in on restore. */
  private seq = 0;
  private drainedSeq = 0;

  constructor(private readonly layout: FoldInLayout) {
    this.users = new GrowableRows(layout.userWidth);
    this.items = new GrowableRows(layout.itemWidth);
    // Drawn from (seed, row, column): a row's start does not depend on arrival order.
    this.initUserRow = (row, index) => this.initRow(row, USER_TABLE, index, 0);
    this.initItemRow = (row, index) => this.initRow(row, ITEM_TABLE, index, layout.itemLeadingZeros);
  }

  private initRow(row: Float64Array, table: number, index: number, zeros: number): void {
    row.fill(0, 0, zeros);
    for (let f = zeros; f < row.length; f++) row[f] = seededNormal(this.layout.initStd, this.layout.seed, table, index, f);
  }

  /** File a rating (a re-rating replaces the value); true when it is the user's first of the item. */
  file(user: number, item: number, value: number): boolean {
    const position = this.ratings.position(user, item);
    if (position < 0) this.ratings.append(user, item, value, this.seq);
    else this.ratings.replace(user, position, value);
    this.seq += 1;
    return position < 0;
  }

  setUserRow(user: number, values: ArrayLike<number>, offset = 0): Float64Array {
    this.users.ensure(user, this.initUserRow);
    const row = this.users.row(user);
    row.set(values, offset);
    this.dirty.users.add(user);
    return row;
  }

  setItemRow(item: number, values: ArrayLike<number>, offset = 0): Float64Array {
    this.items.ensure(item, this.initItemRow);
    const row = this.items.row(item);
    row.set(values, offset);
    this.dirty.items.add(item);
    return row;
  }

  drainInto(changes: Array<[string, StateValue]>): void {
    if (this.seq !== this.drainedSeq) changes.push(['seq', this.seq]);
    this.drainedSeq = this.seq;
    for (const [user, chunk, bytes] of this.ratings.drainChangedChunks()) changes.push([`h${user}.${chunk}`, bytes]);
    for (const user of this.dirty.users) changes.push([`u${user}`, packFloat64(this.users.row(user))]);
    for (const item of this.dirty.items) changes.push([`i${item}`, packFloat64(this.items.row(item))]);
    this.dirty.clear();
  }

  /**
   * Take back the keys this state drained; others go to `other` (which throws on keys it does
   * not know either). Fresh instances only.
   */
  restore(entries: Iterable<[string, StateValue]>, other: (key: string, value: StateValue) => void): void {
    if (this.seq !== 0) throw new Error(`${this.layout.model} restore needs a fresh model: this one has already learned events`);
    const filed: HistoryEntry[] = [];
    for (const [key, value] of entries) {
      if (key === 'seq') this.seq = this.drainedSeq = value as number;
      else if (/^h\d+\.\d+$/.test(key) && value instanceof Uint8Array) {
        for (const entry of RatingHistories.unpackChunk(Number(key.slice(1, key.indexOf('.'))), value)) filed.push(entry);
      } else if (/^[ui]\d+$/.test(key) && value instanceof Uint8Array) this.restoreRow(key, value);
      else other(key, value);
    }
    filed.sort((x, y) => x.seq - y.seq);
    for (const { context, entity, value, seq } of filed) this.ratings.append(context, entity, value, seq);
    this.ratings.markPersisted();
    // Rows of items rated but not re-solved since were never drained: they are their seeded starts.
    if (this.ratings.entityCount > 0) this.items.ensure(this.ratings.entityCount - 1, this.initItemRow);
  }

  /**
   * Whose a key this state drains is: the rating chunks `h<user>.<chunk>` and rows `u<user>` are
   * the user's, item rows `i<item>` and `seq` shared; other keys go to `other` (which throws on
   * keys it does not know either).
   */
  userOfKey(key: string, other: (key: string) => number | undefined): number | undefined {
    const owned = /^(?:h(\d+)\.\d+|u(\d+))$/.exec(key);
    if (owned) return Number(owned[1] ?? owned[2]);
    if (key === 'seq' || /^i\d+$/.test(key)) return undefined;
    return other(key);
  }

  private restoreRow(key: string, value: Uint8Array): void {
    const [rows, init] = key.startsWith('u') ? [this.users, this.initUserRow] : [this.items, this.initItemRow];
    const stored = unpackFloat64(value);
    if (stored.length !== rows.width) throw new Error(`${this.layout.model}: stored row has ${stored.length} values, this model's rows have ${rows.width}`);
    const index = Number(key.slice(1));
    rows.ensure(index, init);
    rows.row(index).set(stored);
  }
}
