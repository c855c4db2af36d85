/**
 * JSON-lines sinks for the embedded transport: the dead-letter file, the recommendations file
 * and the similar-items file (one message per line, in the topics' contracts). Appends, so a resumed replay adds
 * to what an earlier run wrote.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { DeadLetter, DeadLetterSink, RecommendationList, RecommendationSink, SimilarItems, SimilarItemsSink } from '../transport.js';

class JsonLinesFile {
  private readonly stream: WriteStream | NodeJS.WriteStream;

  constructor(path: string) {
    if (path === '-') this.stream = process.stdout;
    else {
      mkdirSync(dirname(path), { recursive: true });
      this.stream = createWriteStream(path, { flags: 'a' });
    }
  }

  async write(values: readonly unknown[]): Promise<void> {
    const text = values.map((value) => JSON.stringify(value)).join('\n') + '\n';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream === process.stdout) return;
    const file = this.stream as WriteStream;
    await new Promise<void>((resolve, reject) => file.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}

export class DeadLetterFile implements DeadLetterSink {
  private readonly file: JsonLinesFile;
  constructor(readonly path: string) {
    this.file = new JsonLinesFile(path);
  }
  send(letters: readonly DeadLetter[]): Promise<void> {
    return this.file.write(letters);
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

export class RecommendationsFile implements RecommendationSink {
  private readonly file: JsonLinesFile;
  constructor(readonly path: string) {
    this.file = new JsonLinesFile(path);
  }
  publish(lists: readonly RecommendationList[]): Promise<void> {
    return this.file.write(lists);
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

export class SimilarItemsFile implements SimilarItemsSink {
  private readonly file: JsonLinesFile;
  constructor(readonly path: string) {
    this.file = new JsonLinesFile(path);
  }
  publish(lists: readonly SimilarItems[]): Promise<void> {
    return this.file.write(lists);
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

/** For runs that only want the figures: lists are computed and kept in state, not written. */
export const discardRecommendations: RecommendationSink = {
  publish: async () => {},
  close: async () => {},
};
