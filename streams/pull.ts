import { concatMap, defer, from, of, repeat, takeWhile, type Observable } from 'rxjs';

const END = Symbol('end of stream');

/**
 * Pull-driven backpressure: ask `poll` for the next micro-batch only after `process` has
 * completed for the previous one, so a slow stage (LMDB commit, publishing) slows the reader
 * instead of filling a buffer. Completes when `poll` resolves null.
 */
export function pullBatches<T, R>(poll: () => Promise<T | null>, process: (batch: T) => Observable<R>): Observable<R> {
  return defer(() => from(poll())).pipe(
    concatMap((batch): Observable<R | typeof END> => (batch === null ? of(END) : process(batch))),
    repeat(),
    takeWhile((result): result is R => result !== END),
  );
}
