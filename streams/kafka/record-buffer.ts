/**
 * Fetched records waiting for `poll`, kept only for the partitions this consumer is assigned and
 * only from where each partition must resume. Every partition has a resume point: the offset the
 * next record handed out must have at least. Records before it (a batch fetched before a seek,
 * a redelivery after a rebalance) are skipped, so nothing is handed out twice or out of order.
 */
import type { RawRecord } from '../transport.js';

interface Chunk {
  readonly partition: number;
  readonly records: readonly RawRecord[];
  next: number;
}

export class RecordBuffer {
  /** In arrival order; a chunk is one fetched batch of one partition. */
  private chunks: Chunk[] = [];
  private count = 0;
  private readonly assigned = new Set<number>();
  /** Offset after the last record accepted, or the seek target; per assigned partition. */
  private readonly resumeAt = new Map<number, number>();

  get length(): number {
    return this.count;
  }

  assignedPartitions(): number[] {
    return [...this.assigned].sort((a, b) => a - b);
  }

  isAssigned(partition: number): boolean {
    return this.assigned.has(partition);
  }

  /** Replace the assignment: revoked partitions lose their records and their resume point. */
  assign(partitions: readonly number[]): void {
    this.assigned.clear();
    for (const partition of partitions) this.assigned.add(partition);
    for (const partition of [...this.resumeAt.keys()]) if (!this.assigned.has(partition)) this.resumeAt.delete(partition);
    this.dropWhere((chunk) => !this.assigned.has(chunk.partition));
  }

  /** The offset this partition continues from, when records were accepted or a seek was made. */
  nextOffset(partition: number): number | undefined {
    return this.resumeAt.get(partition);
  }

  /** After the consumer was told to fetch the partition from `offset`: what was buffered goes. */
  seek(partition: number, offset: number): void {
    this.resumeAt.set(partition, offset);
    this.dropWhere((chunk) => chunk.partition === partition);
  }

  /**
   * Accept a fetched batch of one partition. Returns how many records were skipped because they
   * lie before the partition's resume point; a batch of an unassigned partition is skipped whole.
   */
  add(partition: number, records: readonly RawRecord[]): number {
    if (!this.assigned.has(partition)) return records.length;
    const from = this.resumeAt.get(partition);
    const fresh = from === undefined ? records : records.filter((record) => record.offset >= from);
    if (fresh.length > 0) {
      this.chunks.push({ partition, records: fresh, next: 0 });
      this.count += fresh.length;
      this.resumeAt.set(partition, fresh[fresh.length - 1]!.offset + 1);
    }
    return records.length - fresh.length;
  }

  /** Up to `max` records, oldest batch first. */
  take(max: number): RawRecord[] {
    const taken: RawRecord[] = [];
    while (taken.length < max && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const end = Math.min(chunk.records.length, chunk.next + (max - taken.length));
      for (let index = chunk.next; index < end; index++) taken.push(chunk.records[index]!);
      chunk.next = end;
      if (chunk.next === chunk.records.length) this.chunks.shift();
    }
    this.count -= taken.length;
    return taken;
  }

  /** Forget everything: after the consumer lost its membership, nothing it held is assigned. */
  clear(): void {
    this.chunks = [];
    this.count = 0;
    this.assigned.clear();
    this.resumeAt.clear();
  }

  private dropWhere(shouldDrop: (chunk: Chunk) => boolean): void {
    this.chunks = this.chunks.filter((chunk) => {
      if (!shouldDrop(chunk)) return true;
      this.count -= chunk.records.length - chunk.next;
      return false;
    });
  }
}
