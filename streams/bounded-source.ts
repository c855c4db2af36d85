import type { Positions, RawRecord, RatingSource } from './transport.js';

export interface SourceBounds {
  /** End at this offset: a partial run that a later run resumes. */
  readonly endOffset?: number;
  /** End, between two batches, once aborted (a graceful stop: the batch in flight is finished and stored). */
  readonly signal?: AbortSignal;
}

/** A one-partition source that ends at an offset or when a signal is aborted, whichever comes first. */
export class BoundedSource implements RatingSource {
  private position = 0;

  constructor(
    private readonly inner: RatingSource,
    private readonly bounds: SourceBounds,
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
    if (this.bounds.signal?.aborted) return null;
    const remaining = (this.bounds.endOffset ?? Infinity) - this.position;
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
