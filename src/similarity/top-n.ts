/**
 * Many bounded top-N selections at once, in flat typed arrays: heap h keeps the N best
 * (id, sim, tag) offered to it, the tag riding along (a support, a residual). Best = higher sim;
 * equal sims rank the lower id first, so the kept set never depends on the order candidates
 * were visited in (slot order, history order).
 */
export interface Neighbour {
  readonly id: number;
  readonly sim: number;
  readonly support: number;
}

export class TopNHeaps {
  private ids: Int32Array;
  private sims: Float64Array;
  private tags: Float64Array;
  private sizes: Int32Array;

  constructor(readonly capacity: number) {
    this.ids = new Int32Array(capacity);
    this.sims = new Float64Array(capacity);
    this.tags = new Float64Array(capacity);
    this.sizes = new Int32Array(1);
  }

  /** Empty heaps 0..count-1. */
  reset(count: number): void {
    if (count > this.sizes.length) {
      const size = Math.max(count, this.sizes.length * 2);
      this.ids = new Int32Array(size * this.capacity);
      this.sims = new Float64Array(size * this.capacity);
      this.tags = new Float64Array(size * this.capacity);
      this.sizes = new Int32Array(size);
    } else this.sizes.fill(0, 0, count);
  }

  offer(heap: number, id: number, sim: number, tag: number): void {
    const { ids, sims, capacity } = this;
    const base = heap * capacity;
    const size = this.sizes[heap];
    if (size < capacity) {
      let child = size;
      this.sizes[heap] = size + 1;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!worse(sim, id, sims[base + parent], ids[base + parent])) break;
        this.move(base + parent, base + child);
        child = parent;
      }
      this.put(base + child, id, sim, tag);
      return;
    }
    if (!worse(sims[base], ids[base], sim, id)) return;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= capacity) break;
      const right = left + 1;
      const lower = right < capacity && worse(sims[base + right], ids[base + right], sims[base + left], ids[base + left]) ? right : left;
      if (!worse(sims[base + lower], ids[base + lower], sim, id)) break;
      this.move(base + lower, base + parent);
      parent = lower;
    }
    this.put(base + parent, id, sim, tag);
  }

  /** The sim an offer must reach to enter heap h: its worst kept sim when full, else -Infinity. */
  floor(heap: number): number {
    return this.sizes[heap] < this.capacity ? -Infinity : this.sims[heap * this.capacity];
  }

  /** Heap h's entries as neighbours (the tag being the support), best first. */
  sorted(heap: number): Neighbour[] {
    const base = heap * this.capacity;
    const entries: Neighbour[] = [];
    for (let k = 0; k < this.sizes[heap]; k++) entries.push({ id: this.ids[base + k], sim: this.sims[base + k], support: this.tags[base + k] });
    return entries.sort((x, y) => y.sim - x.sim || x.id - y.id);
  }

  /** Σ sim · tag and Σ sim over heap h, with its size, in heap order (fixed for a given offer sequence). */
  weightedSum(heap: number): { weighted: number; weights: number; count: number } {
    const base = heap * this.capacity;
    const count = this.sizes[heap];
    let weighted = 0;
    let weights = 0;
    for (let k = base; k < base + count; k++) {
      weighted += this.sims[k] * this.tags[k];
      weights += this.sims[k];
    }
    return { weighted, weights, count };
  }

  private move(from: number, to: number): void {
    this.ids[to] = this.ids[from];
    this.sims[to] = this.sims[from];
    this.tags[to] = this.tags[from];
  }

  private put(at: number, id: number, sim: number, tag: number): void {
    this.ids[at] = id;
    this.sims[at] = sim;
    this.tags[at] = tag;
  }
}

/** Whether (simA, idA) ranks below (simB, idB). */
function worse(simA: number, idA: number, simB: number, idB: number): boolean {
  return simA < simB || (simA === simB && idA > idB);
}
