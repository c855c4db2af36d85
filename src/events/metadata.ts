/**
 * Item and user metadata as the compacted topics carry it (rxrec.items, key = itemId;
 * rxrec.users, key = userId), decoded and validated at the edge like rating events, so a bad
 * record becomes a dead letter that says what to fix. Only the contract's fields are kept.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import itemSchema from '../schemas/item.schema.json' with { type: 'json' };
import userSchema from '../schemas/user.schema.json' with { type: 'json' };
import type { ItemRow, UserRow } from '../datasets/rows.js';
import { DEFAULT_MAX_MESSAGE_BYTES, describeSchemaError, parseMessage } from './rating.js';

export type MetadataResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly kind: 'oversized' | 'not_json' | 'schema'; readonly reason: string };

/** Compiled on first use: only serve reads these records, and compiling would slow every command's start. */
let validators: { readonly item: ValidateFunction<ItemRow>; readonly user: ValidateFunction<UserRow> } | undefined;

function compiled() {
  if (validators) return validators;
  const ajv = new Ajv2020({ allErrors: false, strict: true });
  validators = { item: ajv.compile<ItemRow>(itemSchema), user: ajv.compile<UserRow>(userSchema) };
  return validators;
}

export function decodeItem(raw: string | Uint8Array, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): MetadataResult<ItemRow> {
  return decode(raw, maxBytes, 'item', compiled().item, ({ itemId, title, genres, year }) => ({
    itemId,
    title,
    genres,
    ...(year === undefined ? {} : { year }),
  }));
}

export function decodeUser(raw: string | Uint8Array, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): MetadataResult<UserRow> {
  return decode(raw, maxBytes, 'user', compiled().user, ({ userId, age, gender, occupation, zip }) => ({
    userId,
    ...(age === undefined ? {} : { age }),
    ...(gender === undefined ? {} : { gender }),
    ...(occupation === undefined ? {} : { occupation }),
    ...(zip === undefined ? {} : { zip }),
  }));
}

function decode<T>(raw: string | Uint8Array, maxBytes: number, what: string, matches: ValidateFunction<T>, fields: (value: T) => T): MetadataResult<T> {
  const parsed = parseMessage(raw, maxBytes);
  if (!parsed.ok) return parsed;
  if (matches(parsed.candidate)) return { ok: true, value: fields(parsed.candidate) };
  const error = matches.errors?.[0];
  const reason =
    error === undefined
      ? `${what} does not match the ${what} schema`
      : error.keyword === 'type' && error.instancePath === ''
        ? `${what} is not a JSON object`
        : describeSchemaError(error);
  return { ok: false, kind: 'schema', reason };
}
