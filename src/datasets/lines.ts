/**
 * Streams a text file line by line without holding it whole: 1 MiB chunks split on '\n', parsed
 * in the same loop, which is several times faster than readline for the multi-million-line rating
 * files. Line numbers are 1-based. A CR before the LF and a UTF-8 byte-order mark are dropped.
 * Blank lines at the end of the file are skipped; a blank line followed by more text is passed
 * on (as '') so the reader can report it at its line number.
 */
import { createReadStream } from 'node:fs';

export type TextEncoding = 'utf8' | 'latin1';

export interface TextLine {
  readonly text: string;
  readonly line: number;
}

const CHUNK_BYTES = 1 << 20;

/** Parse every line of a file with `parse`; a line it maps to undefined (a header) is skipped. */
export async function* readRows<Row>(path: string, encoding: TextEncoding, parse: (text: string, line: number) => Row | undefined): AsyncGenerator<Row> {
  const stream = createReadStream(path, { encoding, highWaterMark: CHUNK_BYTES });
  let carry = '';
  let lineNumber = 0;
  let blankLinesPending = 0;
  let firstChunk = true;

  for await (const chunk of stream as AsyncIterable<string>) {
    let text = carry + chunk;
    if (firstChunk) {
      firstChunk = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const lineText = end > start && text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
      lineNumber++;
      if (isBlank(lineText)) {
        blankLinesPending++;
        continue;
      }
      for (; blankLinesPending > 0; blankLinesPending--) {
        const row = parse('', lineNumber - blankLinesPending);
        if (row !== undefined) yield row;
      }
      const row = parse(lineText, lineNumber);
      if (row !== undefined) yield row;
    }
    carry = text.slice(start);
  }

  const lastText = carry.endsWith('\r') ? carry.slice(0, -1) : carry;
  if (!isBlank(lastText)) {
    lineNumber++;
    for (; blankLinesPending > 0; blankLinesPending--) {
      const row = parse('', lineNumber - blankLinesPending);
      if (row !== undefined) yield row;
    }
    const row = parse(lastText, lineNumber);
    if (row !== undefined) yield row;
  }
}

export function readLines(path: string, encoding: TextEncoding): AsyncGenerator<TextLine> {
  return readRows(path, encoding, (text, line) => ({ text, line }));
}

function isBlank(text: string): boolean {
  return text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim().length === 0);
}
