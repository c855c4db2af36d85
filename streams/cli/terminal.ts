/**
 * Text for a terminal. Ids, titles and dead letters come from the stream: anyone who can produce
 * a rating names an id, and an ESC sequence in one, written raw to a terminal, recolours it,
 * moves the cursor, retitles the window or hides what follows. So on a TTY every C0 and C1
 * control character (and DEL) of a line is shown as a visible escape, `\u001b`; output to a pipe
 * or a file keeps the bytes, for the program that reads them.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with each control character as `\uXXXX`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROL_CHARACTERS, unicodeEscape);
}

/** Writes one line of text output to `stream` (its newline added), escaped when the stream is a terminal. */
export function lineWriter(stream: NodeJS.WriteStream = process.stdout): (line: string) => void {
  const shown = stream.isTTY ? escapeControls : (text: string) => text;
  return (line) => stream.write(`${shown(line)}\n`);
}

const LEFT_RAW_BY_JSON = /[\u007f-\u009f]/g;

/**
 * JSON text with DEL and the C1 controls as `\u` escapes. JSON.stringify escapes C0 but leaves
 * these raw; they can only stand inside strings, so the escaped text is the same JSON value.
 */
export function escapeJsonControls(json: string): string {
  return json.replace(LEFT_RAW_BY_JSON, unicodeEscape);
}

/** Writes one JSON line to `stream`, with `escapeJsonControls` when the stream is a terminal. */
export function jsonLineWriter(stream: NodeJS.WriteStream = process.stdout): (json: string) => void {
  const shown = stream.isTTY ? escapeJsonControls : (text: string) => text;
  return (json) => stream.write(`${shown(json)}\n`);
}

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
