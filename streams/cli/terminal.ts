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
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes one line of text output to `stream` (its newline added), escaped when the stream is a terminal. */
export function lineWriter(stream: NodeJS.WriteStream = process.stdout): (line: string) => void {
  const shown = stream.isTTY ? escapeControls : (text: string) => text;
  return (line) => stream.write(`${shown(line)}\n`);
}
