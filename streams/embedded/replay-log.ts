/**
 * The embedded in-process log: a MovieLens-shaped dataset replayed as a one-partition stream in
 * timestamp order. Offsets are positions in that order (malformed lines first, in file order,
 * lines the rating validator rejects among them,
 * then the ratings by (ts, line)), so they are the same on every load of the same file and a
 * stored position resumes exactly. The file is streamed once into typed columns, never held as
 * text or as one object per rating.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { isMalformed, validatedRatings, type Dataset, type MalformedRow } from '../../src/datasets/rows.js';
import type { RawRecord, RatingSource } from '../transport.js';
import { IdIndex } from '../../src/catalog.js';
import { float64Column, uint32Column, type NumberColumn } from './columns.js';
import type { Pacing } from './pacing.js';

export interface LoadProgress {
  (rowsRead: number): void;
}

/** Lines read without one rating before the replay stops with an error. */
const NOTHING_VALID_AFTER = 1000;

const EXPECTED_LINE: Record<Dataset['format'], string> = {
  'ml-100k': 'user id<TAB>item id<TAB>rating<TAB>timestamp (u.data)',
  'ml-1m': 'UserID::MovieID::Rating::Timestamp (ratings.dat)',
  'ml-10m': 'UserID::MovieID::Rating::Timestamp (ratings.dat)',
  'ml-csv': 'userId,movieId,rating,timestamp after a header line (ratings.csv)',
};

function nothingValid(dataset: Dataset, rows: number, first: MalformedRow): Error {
  const shown = JSON.stringify(first.raw.length > 80 ? `${first.raw.slice(0, 80)}…` : first.raw);
  return new Error(
    `none of the ${rows === NOTHING_VALID_AFTER ? 'first ' : ''}${rows} lines of ${dataset.ratingsFile} is a valid rating: expected ${EXPECTED_LINE[dataset.format]} on the ${dataset.scale.name} scale, found ${shown} at line ${first.line} (${first.malformed})`,
  );
}

export class ReplayLog implements RatingSource {
  readonly topic: string;
  private readonly order: Uint32Array;
  private cursor = 0;
  private startOffset = 0;
  private startedAt = 0;
  private closed = false;

  private constructor(
    readonly streamId: string,
    ratingsFile: string,
    private readonly malformed: readonly MalformedRow[],
    private readonly users: NumberColumn,
    private readonly items: NumberColumn,
    private readonly ratings: NumberColumn,
    private readonly timestamps: NumberColumn,
    private readonly lines: NumberColumn,
    private readonly ids: IdIndex,
    private readonly pacing: Pacing,
    private readonly now: () => number,
  ) {
    this.topic = basename(ratingsFile);
    this.order = timestampOrder(timestamps, ratings.length);
  }

  static async load(dataset: Dataset, pacing: Pacing, options: { onProgress?: LoadProgress; now?: () => number } = {}): Promise<ReplayLog> {
    const ids = new IdIndex();
    const users = uint32Column();
    const items = uint32Column();
    const ratings = float64Column();
    const timestamps = float64Column();
    const lines = uint32Column();
    const malformed: MalformedRow[] = [];
    const fingerprint = createHash('sha256');
    let rows = 0;
    for await (const row of validatedRatings(dataset)) {
      if (++rows % 100_000 === 0) options.onProgress?.(rows);
      if (isMalformed(row)) {
        // A file of which not one of the first lines is a rating is the wrong file or format: say so now, not after a replay of nothing.
        if (rows === NOTHING_VALID_AFTER && malformed.length === rows - 1) throw nothingValid(dataset, rows, malformed[0]!);
        malformed.push(row);
        fingerprint.update(`!${row.line}\n`);
        continue;
      }
      users.push(ids.intern(row.userId));
      items.push(ids.intern(row.itemId));
      ratings.push(row.rating);
      timestamps.push(row.ts);
      lines.push(row.line);
      fingerprint.update(`${row.userId},${row.itemId},${row.rating},${row.ts}\n`);
    }
    options.onProgress?.(rows);
    if (rows > 0 && malformed.length === rows) throw nothingValid(dataset, rows, malformed[0]!);
    const streamId = `replay:${dataset.format}:${rows}:${fingerprint.digest('hex').slice(0, 16)}`;
    return new ReplayLog(streamId, dataset.ratingsFile, malformed, users, items, ratings, timestamps, lines, ids, pacing, options.now ?? Date.now);
  }

  /** Records in the log: malformed lines plus ratings. */
  get length(): number {
    return this.malformed.length + this.order.length;
  }

  async start(storedPosition: (partition: number) => number | undefined): Promise<void> {
    const stored = storedPosition(0) ?? 0;
    if (stored > this.length) {
      throw new Error(`stored position ${stored} is past the end of ${this.topic} (${this.length} records): the file has changed; use --fresh`);
    }
    this.cursor = this.startOffset = stored;
    this.startedAt = this.now();
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null> {
    if (this.closed || this.cursor >= this.length) return null;
    let due = this.dueCount(maxRecords);
    if (due === 0) {
      await sleep(Math.max(0, Math.min(maxWaitMs, this.msUntilDue(this.cursor))));
      due = this.dueCount(maxRecords);
    } else {
      // One turn of the event loop per poll: with records always due the loop would otherwise
      // run on promise callbacks alone, and the HTTP API (/metrics, the live page) never answer.
      await nextTurn();
    }
    const records: RawRecord[] = [];
    const appendedAt = this.now();
    for (let offset = this.cursor; offset < this.cursor + due; offset++) records.push(this.recordAt(offset, appendedAt));
    this.cursor += due;
    return records;
  }

  async committed(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  /** How many records from the cursor are due now, at most `max`. */
  private dueCount(max: number): number {
    const end = Math.min(this.length, this.cursor + max);
    if (this.pacing.kind === 'max') return end - this.cursor;
    let offset = this.cursor;
    while (offset < end && this.msUntilDue(offset) <= 0) offset++;
    return offset - this.cursor;
  }

  private msUntilDue(offset: number): number {
    const elapsed = this.now() - this.startedAt;
    switch (this.pacing.kind) {
      case 'max':
        return 0;
      case 'rate':
        return ((offset - this.startOffset) / this.pacing.eventsPerSecond) * 1000 - elapsed;
      case 'speed':
        return (this.tsAt(offset) - this.tsAt(this.startOffset)) / this.pacing.factor - elapsed;
    }
  }

  /** A record's event time; malformed lines (which have none) are due with the first rating. */
  private tsAt(offset: number): number {
    const rank = Math.max(0, offset - this.malformed.length);
    return rank < this.order.length ? this.timestamps.get(this.order[rank]!) : 0;
  }

  private recordAt(offset: number, appendedAt: number): RawRecord {
    const file = this.topic;
    if (offset < this.malformed.length) {
      const row = this.malformed[offset]!;
      // The line's own bytes (it was read as latin-1, one character per byte): the dead letter
      // keeps them as UTF-8 text when they are valid UTF-8, else as base64.
      const value = Buffer.from(row.raw, 'latin1');
      return { partition: 0, offset, key: null, value, malformed: row.malformed, rejection: row.kind, origin: `${file}:${row.line}`, appendedAt };
    }
    const index = this.order[offset - this.malformed.length]!;
    const userId = this.ids.idAt(this.users.get(index));
    return {
      partition: 0,
      offset,
      key: userId,
      value: { userId, itemId: this.ids.idAt(this.items.get(index)), rating: this.ratings.get(index), ts: this.timestamps.get(index) },
      origin: `${file}:${this.lines.get(index)}`,
      appendedAt,
    };
  }
}

/** Row indices sorted by (timestamp, file order): a stable, deterministic replay order. */
function timestampOrder(timestamps: NumberColumn, count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order.sort((a, b) => timestamps.get(a) - timestamps.get(b) || a - b);
}
