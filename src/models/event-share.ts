/**
 * A deterministic position in [0, 1) for a (user, item) pair, so that "a share s of the events"
 * is the same set of events in every run, whatever the batching or the replay speed: an event
 * belongs to the share when eventShare(user, item) < s. Hashed, so the share is spread evenly
 * over users, items and time.
 */
export function eventShare(user: number, item: number): number {
  let h = Math.imul(user ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(item + 0x27d4eb2f, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 4294967296;
}
