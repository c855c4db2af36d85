/**
 * One CSV record on one line, as RFC 4180 writes it: fields separated by commas; a field may be
 * double-quoted, and inside quotes `""` is a literal quote and commas are data. MovieLens quotes
 * titles that hold commas or quotes, e.g. `"Shawshank Redemption, The (1994)"`. Quoted line
 * breaks do not occur in the MovieLens files and are not supported.
 */

export type CsvFields = { readonly fields: string[] } | { readonly error: string };

export function splitCsvLine(line: string): CsvFields {
  if (!line.includes('"')) return { fields: line.split(',') };
  const fields: string[] = [];
  let position = 0;
  for (;;) {
    if (line.charCodeAt(position) === 34 /* " */) {
      let value = '';
      let cursor = position + 1;
      for (;;) {
        const quote = line.indexOf('"', cursor);
        if (quote === -1) return { error: `unterminated quoted field starting at column ${position + 1}` };
        value += line.slice(cursor, quote);
        if (line.charCodeAt(quote + 1) === 34) {
          value += '"';
          cursor = quote + 2;
          continue;
        }
        position = quote + 1;
        break;
      }
      fields.push(value);
      if (position === line.length) return { fields };
      if (line.charCodeAt(position) !== 44 /* , */) {
        return { error: `unexpected text after the closing quote at column ${position + 1}` };
      }
      position++;
    } else {
      const comma = line.indexOf(',', position);
      const end = comma === -1 ? line.length : comma;
      const value = line.slice(position, end);
      if (value.includes('"')) return { error: `stray quote in an unquoted field at column ${position + 1}` };
      fields.push(value);
      if (comma === -1) return { fields };
      position = comma + 1;
    }
  }
}
