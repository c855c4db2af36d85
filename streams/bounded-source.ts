import type { Positions, RawRecord, RatingSource } from './transport.js';

/** A one-partition source that ends at `endOffset`: a partial run that a later run resumes. */
export class BoundedSource implements RatingSource {
  private position = 0;

  constructor(
    private readonly inner: RatingSource,
    private readonly endOffset: number,
  ) {}

  get streamId(): string {
    return this.inner.streamId;
  }

  get topic(): string {
    return this.inner.topic;
  }

  async start(storedPosition: (partition: number) => number | undefined): Promise<void> {
    this.position = storedPosition(0) ?? 0;
    await this.inner.start(storedPosition);
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null> {
    const remaining = this.endOffset - this.position;
    if (remaining <= 0) return null;
    const records = await this.inner.poll(Math.min(maxRecords, remaining), maxWaitMs);
    this.position += records?.length ?? 0;
    return records;
  }

  committed(positions: Positions): Promise<void> {
    return this.inner.committed(positions);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A source that ends, between two batches, once `signal` is aborted (a graceful stop: the batch in flight is finished and stored). */
export class StoppableSource implements RatingSource {
  constructor(
    private readonly inner: RatingSource,
    private readonly signal: AbortSignal,
  ) {}

  get streamId(): string {
    return this.inner.streamId;
  }

  get topic(): string {
    return this.inner.topic;
  }

  start(storedPosition: (partition: number) => number | undefined): Promise<void> {
    return this.inner.start(storedPosition);
  }

  async poll(maxRecords: number, maxWaitMs: number): Promise<RawRecord[] | null> {
    return this.signal.aborted ? null : this.inner.poll(maxRecords, maxWaitMs);
  }

  committed(positions: Positions): Promise<void> {
    return this.inner.committed(positions);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
