/**
 * The rating event: the one message every transport carries (topic rxrec.ratings, key = userId).
 * Ids are strings on the wire; `ts` is epoch milliseconds. Validation names the exact problem so a
 * dead letter says what to fix.
 */
import type { ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ratingSchema from '../schemas/rating.schema.json' with { type: 'json' };
import { offScaleReason, type RatingScale } from './scale.js';

export interface RatingEvent {
  readonly userId: string;
  readonly itemId: string;
  readonly rating: number;
  readonly ts: number;
}

/** 64 KiB: a rating event is under 200 bytes; anything this large is a producer bug. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** Classes of rejection: the `reason` label of rxrec_events_rejected_total (the reason text names the detail). */
export const REJECTION_KINDS = ['not_json', 'oversized', 'schema', 'timestamp', 'scale', 'malformed_line', 'wrong_key'] as const;
export type RejectionKind = (typeof REJECTION_KINDS)[number];

export type ValidationResult =
  { readonly ok: true; readonly event: RatingEvent } | { readonly ok: false; readonly kind: RejectionKind; readonly reason: string };

const ajv = new Ajv2020({ allErrors: false, strict: true });
const matchesSchema = ajv.compile<RatingEvent>(ratingSchema);

/** One schema violation in words, for a dead letter's reason. */
export function describeSchemaError(error: ErrorObject): string {
  const field = error.instancePath.replace(/^\//, '');
  switch (error.keyword) {
    case 'required':
      return `missing field '${(error.params as { missingProperty: string }).missingProperty}'`;
    case 'type':
      return field === '' ? 'event is not a JSON object' : `field '${field}' must be ${(error.params as { type: string }).type}`;
    case 'minLength':
      return `field '${field}' is empty`;
    case 'pattern':
      return `field '${field}' contains a control character or a lone surrogate`;
    default:
      return `field '${field}' ${error.message ?? 'is invalid'}`;
  }
}

/** Validate a decoded event: structure, then timestamp and scale. */
export function validateRating(candidate: unknown, scale: RatingScale): ValidationResult {
  if (!matchesSchema(candidate)) {
    const error = matchesSchema.errors?.[0];
    if (error?.instancePath === '/ts') return { ok: false, kind: 'timestamp', reason: `bad timestamp: ${describeSchemaError(error)}` };
    return { ok: false, kind: 'schema', reason: error ? describeSchemaError(error) : 'event does not match the rating schema' };
  }
  if (!Number.isFinite(candidate.rating)) return { ok: false, kind: 'scale', reason: `rating ${candidate.rating} is not a finite number` };
  const offScale = offScaleReason(candidate.rating, scale);
  if (offScale) return { ok: false, kind: 'scale', reason: offScale };
  const { userId, itemId, rating, ts } = candidate;
  return { ok: true, event: { userId, itemId, rating, ts } };
}

/**
 * Why a record's key is not its event's user, or undefined when it is (or the record has no key).
 * The ratings topic is keyed by userId so that one partition, and so one worker, holds a user's
 * events in order: an event keyed by another id sits in that id's partition, where it would be
 * learnt out of order with the user's other events, by a worker that may not hold the user.
 */
export function wrongKeyReason(key: string | null, event: RatingEvent): string | undefined {
  if (key === null || key === event.userId) return undefined;
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return `key '${shown}' (${key.length} characters) is not the event's userId '${event.userId}': ratings are keyed by their user`;
}

/** Decode wire bytes (JSON) and validate them. */
export function decodeRating(raw: string | Uint8Array, scale: RatingScale, maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES): ValidationResult {
  const parsed = parseMessage(raw, maxBytes);
  return parsed.ok ? validateRating(parsed.candidate, scale) : parsed;
}

export type ParseResult =
  { readonly ok: true; readonly candidate: unknown } | { readonly ok: false; readonly kind: 'oversized' | 'not_json'; readonly reason: string };

/** A message's bytes as JSON, refusing oversized ones before parsing (every topic's first check). */
export function parseMessage(raw: string | Uint8Array, maxBytes: number): ParseResult {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > maxBytes) return { ok: false, kind: 'oversized', reason: `oversized message: ${size} bytes > ${maxBytes}` };
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  try {
    return { ok: true, candidate: JSON.parse(text) };
  } catch (error) {
    return { ok: false, kind: 'not_json', reason: `not JSON: ${(error as Error).message}` };
  }
}

export function encodeRating(event: RatingEvent): string {
  return JSON.stringify({ userId: event.userId, itemId: event.itemId, rating: event.rating, ts: event.ts });
}
