/**
 * Seeded hostile records for the ratings topic, each with what the contract says a worker must do
 * with it: apply it (`valid`), or send it to the dlq under a class of reason (the `reason` label
 * of rxrec_events_rejected_total). Shared by the hostile-input test (tests/integration) and the
 * soak (bench/soak.ts), so both mean the same by "valid".
 *
 * What the contract says of each class (src/events/rating.ts, streams/pipeline.ts):
 * - duplicated events, and events re-ordered behind a later one of the same user, are valid: each
 *   is applied in the order its partition holds it (a re-rating of an item updates the user's
 *   rating of it; a duplicate is learnt again);
 * - a valid event without a key is applied; one keyed by another user is `wrong_key` (it sits in
 *   that user's partition, out of order with its own user's events);
 * - NaN and Infinity are not JSON (`not_json`); 1e999 parses to Infinity and fails the type
 *   (`schema` for a rating, `timestamp` for ts); negative, fractional or too late a ts is
 *   `timestamp`; off the scale or between its steps is `scale`;
 * - ids longer than 256 characters, or holding a control character (C0, DEL, C1) or a lone
 *   surrogate, are `schema`; an astral character (an emoji) in an id is valid;
 * - a value over the worker's --max-message-bytes (64 KiB) is `oversized`, whatever it holds.
 */
import { REJECTION_KINDS, type RejectionKind } from '../src/events/rating.js';

export type Expected = 'valid' | RejectionKind;

export interface HostileRecord {
  readonly key: string | null;
  readonly value: Buffer;
  readonly expected: Expected;
  /** The generator's name for what it made (several per class of reason). */
  readonly shape: string;
}

export interface Catalogue {
  readonly users: number;
  readonly items: number;
}

/** mulberry32: small, fast, and the same sequence for a seed everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TS_BASE = 1_700_000_000_000;
const MAX_TS = 8_640_000_000_000_000;
/** The worker's default --max-message-bytes. */
const MAX_MESSAGE_BYTES = 64 * 1024;

interface Fields {
  userId: unknown;
  itemId: unknown;
  rating: unknown;
  ts: unknown;
  [extra: string]: unknown;
}

/** Valid ratings over a catalogue, with increasing timestamps, and the hostile variants of them. */
export class HostileRecords {
  private readonly random: () => number;
  private clock = TS_BASE;
  /** Recent valid events, to duplicate and re-order. */
  private readonly recent: Fields[] = [];

  constructor(
    seed: number,
    private readonly catalogue: Catalogue,
  ) {
    this.random = seededRandom(seed);
  }

  /** A valid rating, keyed by its user. */
  valid(): HostileRecord {
    const fields = this.freshFields();
    this.remember(fields);
    return record(fields.userId as string, json(fields), 'valid', 'valid');
  }

  /** One record of a shape picked at random: most are invalid, four shapes are valid oddities (duplicates, re-orderings, no key, odd ids). */
  hostile(): HostileRecord {
    const makers = HOSTILE_SHAPES;
    const [shape, make] = makers[Math.floor(this.random() * makers.length)]!;
    return make(this, shape);
  }

  /** `count` records: `hostile` hostile ones spread at random among valid ones. */
  mixed(count: number, hostile: number): HostileRecord[] {
    const records: HostileRecord[] = [];
    let hostileLeft = hostile;
    for (let left = count; left > 0; left--) {
      const takeHostile = this.random() < hostileLeft / left;
      if (takeHostile) hostileLeft--;
      records.push(takeHostile ? this.hostile() : this.valid());
    }
    return records;
  }

  /** @internal for the shapes */
  pick(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** @internal */
  freshFields(): Fields {
    this.clock += 1 + this.pick(1000);
    return {
      userId: String(1 + this.pick(this.catalogue.users)),
      itemId: String(1 + this.pick(this.catalogue.items)),
      rating: 1 + this.pick(5),
      ts: this.clock,
    };
  }

  /** @internal a valid event seen before, or a fresh one */
  earlier(): Fields {
    return this.recent.length === 0 ? this.freshFields() : { ...this.recent[this.pick(this.recent.length)]! };
  }

  /** @internal */
  remember(fields: Fields): void {
    if (this.recent.length < 256) this.recent.push(fields);
    else this.recent[this.pick(256)] = fields;
  }

  /** @internal */
  text(length: number, alphabet: string): string {
    let out = '';
    while (out.length < length) out += alphabet[this.pick(alphabet.length)];
    return out;
  }
}

type Shape = readonly [string, (generator: HostileRecords, shape: string) => HostileRecord];

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const record = (key: string | null, value: Buffer, expected: Expected, shape: string): HostileRecord => ({ key, value, expected, shape });
/** A record keyed by its user, with one field's value written as raw JSON text (NaN, 1e999). */
const withRaw = (g: HostileRecords, field: keyof Fields, rawValue: string, expected: Expected, shape: string): HostileRecord => {
  const fields = g.freshFields();
  const members = Object.entries(fields).map(([name, value]) => `${JSON.stringify(name)}:${name === field ? rawValue : JSON.stringify(value)}`);
  return record(String(fields.userId), Buffer.from(`{${members.join(',')}}`), expected, shape);
};
const withField = (g: HostileRecords, field: keyof Fields, value: unknown, expected: Expected, shape: string): HostileRecord => {
  const fields = { ...g.freshFields(), [field]: value };
  return record(typeof fields.userId === 'string' ? fields.userId : null, json(fields), expected, shape);
};

const HOSTILE_SHAPES: readonly Shape[] = [
  // Not JSON.
  [
    'truncated JSON',
    (g, shape) => {
      const text = JSON.stringify(g.freshFields());
      return record(null, Buffer.from(text.slice(0, 1 + g.pick(text.length - 2))), 'not_json', shape);
    },
  ],
  ['NaN rating', (g, shape) => withRaw(g, 'rating', 'NaN', 'not_json', shape)],
  ['Infinity rating', (g, shape) => withRaw(g, 'rating', g.pick(2) ? 'Infinity' : '-Infinity', 'not_json', shape)],
  ['not UTF-8', (g, shape) => record(String(1 + g.pick(50)), Buffer.from([0xff, 0xfe, 0x00, ...Buffer.from(g.text(20, 'abc{}"'))]), 'not_json', shape)],
  ['empty value', (_g, shape) => record('1', Buffer.alloc(0), 'not_json', shape)],
  ['trailing garbage', (g, shape) => record(null, Buffer.from(`${JSON.stringify(g.freshFields())}}`), 'not_json', shape)],
  // Wrong types and shapes.
  ['1e999 rating', (g, shape) => withRaw(g, 'rating', '1e999', 'schema', shape)],
  ['rating as a string', (g, shape) => withField(g, 'rating', '4', 'schema', shape)],
  ['rating as a boolean', (g, shape) => withField(g, 'rating', true, 'schema', shape)],
  ['userId as a number', (g, shape) => withField(g, 'userId', 1 + g.pick(50), 'schema', shape)],
  ['itemId null', (g, shape) => withField(g, 'itemId', null, 'schema', shape)],
  [
    'missing field',
    (g, shape) => {
      const fields: Partial<Fields> = g.freshFields();
      delete fields[(['itemId', 'rating', 'ts'] as const)[g.pick(3)]!];
      return record(String(fields.userId), json(fields), 'schema', shape);
    },
  ],
  ['array', (g, shape) => record(null, json([g.freshFields()]), 'schema', shape)],
  ['scalar', (g, shape) => record(null, Buffer.from(['null', '3', '"rating"', 'true'][g.pick(4)]!), 'schema', shape)],
  ['10 kB userId', (g, shape) => withField(g, 'userId', g.text(10_000, 'abcdefghij0123456789'), 'schema', shape)],
  ['10 kB itemId', (g, shape) => withField(g, 'itemId', g.text(10_000 + g.pick(100), 'xyz'), 'schema', shape)],
  [
    'control character in userId',
    (g, shape) => withField(g, 'userId', `u${String.fromCharCode([0, 7, 10, 27, 127, 133][g.pick(6)]!)}${g.pick(50)}`, 'schema', shape),
  ],
  ['control character in itemId', (g, shape) => withField(g, 'itemId', `\u001b[31m${g.pick(50)}`, 'schema', shape)],
  ['lone surrogate in userId', (g, shape) => withField(g, 'userId', `u\ud800${g.pick(50)}`, 'schema', shape)],
  // Timestamps.
  ['negative ts', (g, shape) => withField(g, 'ts', -1 - g.pick(1_000_000), 'timestamp', shape)],
  ['fractional ts', (g, shape) => withField(g, 'ts', TS_BASE + g.pick(1000) + 0.5, 'timestamp', shape)],
  ['ts past the last date', (g, shape) => withField(g, 'ts', MAX_TS + 1 + g.pick(1000), 'timestamp', shape)],
  ['1e999 ts', (g, shape) => withRaw(g, 'ts', '1e999', 'timestamp', shape)],
  ['ts as a string', (g, shape) => withField(g, 'ts', String(TS_BASE), 'timestamp', shape)],
  // The scale.
  ['rating off the scale', (g, shape) => withField(g, 'rating', [0, 6, -3, 1e9][g.pick(4)], 'scale', shape)],
  ['rating between steps', (g, shape) => withField(g, 'rating', 1 + g.pick(4) + 0.5, 'scale', shape)],
  // Huge values: over 64 KiB, of letters, of quotes or of control characters (which escape six-fold in a dead letter).
  [
    'huge value',
    (g, shape) => {
      // Under the broker's 1 MB record limit once JSON-escaped (a quote takes 2 bytes, a control character 6).
      const [character, escaped] = (
        [
          ['x', 1],
          ['"', 2],
          ['\u0001', 6],
        ] as const
      )[g.pick(3)]!;
      const padding = character.repeat(Math.ceil((MAX_MESSAGE_BYTES + 1 + g.pick(850_000)) / escaped));
      return record(String(1 + g.pick(50)), json({ ...g.freshFields(), padding }), 'oversized', shape);
    },
  ],
  // Keys.
  [
    'keyed by another user',
    (g, shape) => {
      const fields = g.freshFields();
      return record(`${fields.userId}0`, json(fields), 'wrong_key', shape);
    },
  ],
  ['10 kB key', (g, shape) => record(g.text(10_000, 'k'), json(g.freshFields()), 'wrong_key', shape)],
  // Valid oddities.
  [
    'duplicate',
    (g, shape) => {
      const fields = g.earlier();
      return record(String(fields.userId), json(fields), 'valid', shape);
    },
  ],
  [
    're-ordered (older than the user’s latest) re-rating',
    (g, shape) => {
      const fields = { ...g.earlier(), rating: 1 + g.pick(5) };
      fields.ts = (fields.ts as number) - 1 - g.pick(100_000);
      return record(String(fields.userId), json(fields), 'valid', shape);
    },
  ],
  [
    'no key',
    (g, shape) => {
      const fields = g.freshFields();
      g.remember(fields);
      return record(null, json(fields), 'valid', shape);
    },
  ],
  [
    'emoji and 256-character ids, extra fields',
    (g, shape) => {
      const fields = { ...g.freshFields(), userId: `😀${g.pick(20)}`, itemId: g.text(256, 'abc'), note: g.text(1000, 'n'), ts: 0 };
      return record(fields.userId, json(fields), 'valid', shape);
    },
  ],
];

/** Counts of `records` by what is expected of them, every class present (0 when none). */
export function expectedCounts(records: readonly HostileRecord[]): Record<Expected, number> {
  const counts = Object.fromEntries(['valid', ...REJECTION_KINDS].map((kind) => [kind, 0])) as Record<Expected, number>;
  for (const { expected } of records) counts[expected]++;
  return counts;
}
