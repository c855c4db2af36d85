/**
 * An open-addressing hash table from an integer pair (a, b) to a fixed-width record of uint32
 * words, stored inline: the table is one Uint32Array of `stride`-word records (word 0 holds
 * a + 1, 0 marking an empty slot; word 1 holds b), probed linearly, plus an optional float64
 * stamp per record. No per-entry objects, and a lookup costs one cache miss: the record is the
 * bucket. The price is that a record's slot changes when the table grows or a neighbouring
 * record is removed, so slots are only valid until the next insert or removal.
 *
 * Measured on 6 M item pairs of an ML-1M-shaped stream: ~110 ns per update, where a
 * bucket-array-plus-records layout took ~170 ns (two misses) and a Map<number, number> ~300 ns.
 */
export class PairTable {
  /** capacity * stride words; slot s at s * stride. */
  records: Uint32Array;
  /** One float64 per slot that moves with its record (empty when not stamped). */
  stamps: Float64Array;
  /** Live records. */
  size = 0;
  private mask: number;

  constructor(
    readonly stride: number,
    initialCapacity: number,
    private readonly stamped = false,
  ) {
    if (stride < 2) throw new RangeError('a pair record needs at least the two key words');
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.records = new Uint32Array(capacity * stride);
    this.stamps = new Float64Array(stamped ? capacity : 0);
    this.mask = capacity - 1;
  }

  /** Slots in the table, live or empty (word 0 is 0). */
  get capacity(): number {
    return this.mask + 1;
  }

  /**
   * Touch the home slot of (a, b) without using it: calling this over a run of keys before
   * reading them lets the CPU overlap the cache misses (JavaScript has no prefetch).
   */
  warm(a: number, b: number): number {
    return this.records[(hashPair(a, b) & this.mask) * this.stride];
  }

  /** Slot of (a, b), or -1. */
  find(a: number, b: number): number {
    const { records, stride, mask } = this;
    const tag = a + 1;
    for (let slot = hashPair(a, b) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * stride;
      const word = records[at];
      if (word === 0) return -1;
      if (word === tag && records[at + 1] === b) return slot;
    }
  }

  /** Slot of (a, b), or -(slot) - 1 when it was just created with a zeroed payload and stamp. */
  findOrInsert(a: number, b: number): number {
    if ((this.size + 1) * 10 > this.capacity * 7) this.grow();
    const { records, stride, mask } = this;
    const tag = a + 1;
    for (let slot = hashPair(a, b) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * stride;
      const word = records[at];
      if (word === tag && records[at + 1] === b) return slot;
      if (word === 0) {
        records[at] = tag;
        records[at + 1] = b;
        this.size++;
        return -slot - 1;
      }
    }
  }

  /**
   * Remove the record at `slot` by backward-shift deletion: later records of the probe run move
   * up into the hole unless their home lies cyclically in (hole, their slot], so no probe chain
   * breaks and no tombstones build up.
   */
  remove(slot: number): void {
    const { records, stamps, stride, mask } = this;
    let hole = slot;
    for (let next = (hole + 1) & mask; records[next * stride] !== 0; next = (next + 1) & mask) {
      const at = next * stride;
      const home = hashPair(records[at] - 1, records[at + 1]) & mask;
      const stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (stays) continue;
      records.copyWithin(hole * stride, at, at + stride);
      if (this.stamped) stamps[hole] = stamps[next];
      hole = next;
    }
    records.fill(0, hole * stride, (hole + 1) * stride);
    if (this.stamped) stamps[hole] = 0;
    this.size--;
  }

  /** Bytes held, spare capacity included. */
  get byteLength(): number {
    return this.records.byteLength + this.stamps.byteLength;
  }

  /** Double the capacity and re-place every record: load stays between 0.35 and 0.7. */
  private grow(): void {
    const { records: old, stamps: oldStamps, stride } = this;
    const capacity = this.capacity * 2;
    const mask = capacity - 1;
    const records = new Uint32Array(capacity * stride);
    const stamps = new Float64Array(this.stamped ? capacity : 0);
    for (let from = 0; from < old.length / stride; from++) {
      const at = from * stride;
      if (old[at] === 0) continue;
      let slot = hashPair(old[at] - 1, old[at + 1]) & mask;
      while (records[slot * stride] !== 0) slot = (slot + 1) & mask;
      records.set(old.subarray(at, at + stride), slot * stride);
      if (this.stamped) stamps[slot] = oldStamps[from];
    }
    this.records = records;
    this.stamps = stamps;
    this.mask = mask;
  }
}

/** Multiplicative mix of two uint32 keys with one finalising round: the low bits feed the mask. */
function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}
