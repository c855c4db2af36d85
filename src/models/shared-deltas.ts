/**
 * Additive sharing of a model's shared parameters (item-side rows, global sums) between the
 * workers of a group (serve --scale-out; src/sharing/contributions.ts). A model names its
 * shared tables and marks the rows an event changed; `drainDeltas` reports each changed row as
 * its change since the last drain (or the row's initial value), and `addDeltas` adds other
 * workers' changes into the live rows. A copy of each row as last reported is kept, so the
 * deltas of other workers added in are never reported back as this worker's own.
 *
 * The merge rule is addition: exact for counts and sums (the global value is the sum of every
 * worker's contributions), and asynchronous SGD for factors and biases learned by SGD (each
 * worker's steps are added to the others', taken against a copy that lags them by the
 * staleness of the updates; Hogwild!, Downpour SGD). A row's initial value must be the same on
 * every worker (seeded by its index), so that it is counted once.
 */
import type { SharedParameters } from './model.js';
import type { GrowableRows } from './packed.js';

export interface SharedTable {
  /** Key of a row in drained deltas ('i12'), and back (undefined: not this table's). */
  key(index: number): string;
  indexOf(key: string): number | undefined;
  /** A live view of the row, created with its initial value when missing. */
  row(index: number): Float64Array;
  /** The row's initial value into `out` (the same on every worker). */
  initial(index: number, out: Float64Array): void;
  /** Rows that exist: 0..count()-1. */
  count(): number;
  /** Other workers' changes were added to the row: the model stores it with the batch. */
  added?(index: number): void;
}

export class SharedDeltas implements SharedParameters {
  private tracking = false;
  /** Per key, the row as last drained or added to. */
  private readonly reported = new Map<string, Float64Array>();
  private readonly changed = new Map<string, { readonly table: SharedTable; readonly index: number }>();

  constructor(private readonly tables: readonly SharedTable[]) {}

  /**
   * Start reporting. The rows that exist (restored from the state) count from their value now:
   * whatever they hold was reported before the state was stored (updates are sent before the
   * batch's LMDB commit).
   */
  begin(): void {
    this.tracking = true;
    for (const table of this.tables) {
      for (let index = 0; index < table.count(); index++) this.reported.set(table.key(index), Float64Array.from(table.row(index)));
    }
  }

  /** The event changed this row (a no-op until `begin`). */
  touch(table: SharedTable, index: number): void {
    if (this.tracking) this.changed.set(table.key(index), { table, index });
  }

  drainDeltas(): Array<[string, Float64Array]> {
    const deltas: Array<[string, Float64Array]> = [];
    for (const [key, { table, index }] of this.changed) {
      const row = table.row(index);
      const before = this.before(key, table, index, row.length);
      const delta = new Float64Array(row.length);
      for (let f = 0; f < row.length; f++) delta[f] = row[f]! - before[f]!;
      before.set(row);
      deltas.push([key, delta]);
    }
    this.changed.clear();
    return deltas;
  }

  addDeltas(entries: Iterable<[string, Float64Array]>): void {
    for (const [key, delta] of entries) {
      const found = this.tableOf(key);
      if (!found) throw new Error(`shared parameters: unknown key '${key}'`);
      const { table, index } = found;
      const row = table.row(index);
      if (delta.length !== row.length) throw new Error(`shared parameters: '${key}' has ${row.length} values, the update ${delta.length}`);
      // A row this worker changed since its last drain keeps its own change pending.
      const before = this.before(key, table, index, row.length);
      for (let f = 0; f < row.length; f++) {
        row[f]! += delta[f]!;
        before[f]! += delta[f]!;
      }
      table.added?.(index);
    }
  }

  /** The row as last reported: its initial value before its first report. */
  private before(key: string, table: SharedTable, index: number, width: number): Float64Array {
    let before = this.reported.get(key);
    if (!before) {
      before = new Float64Array(width);
      table.initial(index, before);
      this.reported.set(key, before);
    }
    return before;
  }

  private tableOf(key: string): { table: SharedTable; index: number } | undefined {
    for (const table of this.tables) {
      const index = table.indexOf(key);
      if (index !== undefined) return { table, index };
    }
    return undefined;
  }
}

/** A GrowableRows table shared under `prefix` + index ('i12'); new rows start from `init` (seeded by index). */
export function rowsTable(prefix: string, rows: GrowableRows, init: (row: Float64Array, index: number) => void, added: (index: number) => void): SharedTable {
  const pattern = new RegExp(`^${prefix}\\d+$`);
  return {
    key: (index) => `${prefix}${index}`,
    indexOf: (key) => (pattern.test(key) ? Number(key.slice(prefix.length)) : undefined),
    row: (index) => {
      rows.ensure(index, init);
      return rows.row(index);
    },
    initial: (index, out) => init(out, index),
    count: () => rows.rowCount,
    added,
  };
}
