/**
 * JSON-lines sinks for the embedded transport: the dead-letter file, the recommendations file
 * and the similar-items file (one message per line, in the topics' contracts). A resumed replay
 * appends to what an earlier run wrote; a fresh one truncates.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { makeDirectory } from '../../state/directory.js';
import type { DeadLetter, DeadLetterSink, RecommendationSink } from '../transport.js';

export type WriteMode = 'append' | 'truncate';

/** A sink of one message type into a file ('-' for standard output). */
export class JsonLinesFile<T> {
  private readonly stream: WriteStream | NodeJS.WriteStream;

  constructor(
    readonly path: string,
    mode: WriteMode = 'append',
  ) {
    if (path === '-') this.stream = process.stdout;
    else {
      makeDirectory(dirname(path));
      this.stream = createWriteStream(path, { flags: mode === 'append' ? 'a' : 'w' });
    }
  }

  async publish(values: readonly T[]): Promise<void> {
    const text = values.map((value) => JSON.stringify(value)).join('\n') + '\n';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream === process.stdout) return;
    const file = this.stream as WriteStream;
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

export class DeadLetterFile extends JsonLinesFile<DeadLetter> implements DeadLetterSink {
  send(letters: readonly DeadLetter[]): Promise<void> {
    return this.publish(letters);
  }
}

/** For runs that only want the figures: lists are computed and kept in state, not written. */
export const discardRecommendations: RecommendationSink = {
  publish: async () => {},
  close: async () => {},
};
