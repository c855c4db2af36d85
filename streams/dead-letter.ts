/** A rejected record as the dead-letter contract holds it: the reason, where it was, and its original bytes. */
import type { DeadLetter, RawRecord } from './transport.js';

export function deadLetterOf(record: RawRecord, topic: string, reason: string): DeadLetter {
  return {
    reason,
    topic,
    partition: record.partition,
    offset: record.offset,
    ...(record.origin === undefined ? {} : { origin: record.origin }),
    key: record.key,
    raw: rawText(record.value),
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
