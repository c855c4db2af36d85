/** A rejected record as the dead-letter contract holds it: the reason, where it was, and its original bytes. */
import type { DeadLetter, RawRecord } from './transport.js';

/**
 * Most bytes of `raw` and of `key` in a letter, JSON-escaped. A broker refuses a record over
 * message.max.bytes (1 MB by default), and a refused dead letter would stop the worker; escaping
 * can make text six times longer (a control character becomes `\u0000`), so the bound is on the
 * escaped form. Longer values keep their start, and the letter gives their full size.
 */
export const MAX_RAW_BYTES = 512 * 1024;
export const MAX_KEY_BYTES = 64 * 1024;

export function deadLetterOf(record: RawRecord, topic: string, reason: string): DeadLetter {
  const raw = bounded(rawText(record.value), MAX_RAW_BYTES);
  const key = record.key === null ? undefined : bounded(record.key, MAX_KEY_BYTES);
  return {
    reason,
    topic,
    partition: record.partition,
    offset: record.offset,
    ...(record.origin === undefined ? {} : { origin: record.origin }),
    key: key === undefined ? null : key.text,
    raw: raw.text,
    ...(raw.cut ? { rawBytes: valueBytes(record.value) } : {}),
    ...(key?.cut ? { keyBytes: Buffer.byteLength(record.key!) } : {}),
  };
}

/** The original bytes as text: UTF-8 when valid, else base64. */
function rawText(value: RawRecord['value']): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const text = bytes.toString('utf8');
    return Buffer.from(text, 'utf8').equals(bytes) ? text : `base64:${bytes.toString('base64')}`;
  }
  return JSON.stringify(value);
}

function valueBytes(value: RawRecord['value']): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  return value instanceof Uint8Array ? value.byteLength : Buffer.byteLength(JSON.stringify(value));
}

const escapedBytes = (text: string) => Buffer.byteLength(JSON.stringify(text));

/** `text`, or its longest start whose JSON-escaped form fits in `maxBytes` (never half a surrogate pair, base64 in whole groups). */
function bounded(text: string, maxBytes: number): { text: string; cut: boolean } {
  if (escapedBytes(text) <= maxBytes) return { text, cut: false };
  if (text.startsWith('base64:')) return { text: text.slice(0, 7 + Math.floor((maxBytes - 9) / 4) * 4), cut: true };
  let fits = 0;
  let over = text.length;
  while (over - fits > 1) {
    const middle = (fits + over) >> 1;
    if (escapedBytes(text.slice(0, middle)) <= maxBytes) fits = middle;
    else over = middle;
  }
  const code = text.charCodeAt(fits - 1);
  if (code >= 0xd800 && code <= 0xdbff) fits--;
  return { text: text.slice(0, fits), cut: true };
}
