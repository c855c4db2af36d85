/**
 * The cached top-N neighbour list of every entity, with the bookkeeping that keeps it cheap:
 * an event only marks the entities whose similarities it changed as dirty; lists are recomputed
 * later (when read, or in a refresh), and a recomputed list that differs from the one last
 * reported is queued as changed, for publishing.
 */
import { withIndex } from '../typed-arrays.js';
import type { Neighbour } from './top-n.js';

export class NeighbourLists {
  private lists: Array<readonly Neighbour[] | undefined> = [];
  private dirty: Uint8Array = new Uint8Array(1024);
  private dirtyQueue: number[] = [];
  private changed = new Set<number>();

  isDirty(entity: number): boolean {
    return entity >= this.dirty.length || this.dirty[entity] !== 0 || this.lists[entity] === undefined;
  }

  markDirty(entity: number): void {
    this.dirty = withIndex(this.dirty, entity);
    if (this.dirty[entity] === 1) return;
    this.dirty[entity] = 1;
    this.dirtyQueue.push(entity);
  }

  /** Entities marked dirty and not yet recomputed, each once, in marking order. */
  dirtyEntities(): number[] {
    // A list recomputed on read and marked again sits in the queue twice: keep the first.
    const unique: number[] = [];
    for (const entity of this.dirtyQueue) {
      if (this.dirty[entity] !== 1) continue;
      this.dirty[entity] = 2;
      unique.push(entity);
    }
    for (const entity of unique) this.dirty[entity] = 1;
    this.dirtyQueue = unique;
    return unique;
  }

  /** Store a recomputed list; queue the entity as changed when the list differs. */
  store(entity: number, list: readonly Neighbour[]): void {
    if (!sameList(this.lists[entity], list)) this.changed.add(entity);
    this.lists[entity] = list;
    if (entity < this.dirty.length) this.dirty[entity] = 0;
  }

  /** The cached list (callers recompute first when `isDirty`). */
  cached(entity: number): readonly Neighbour[] {
    return this.lists[entity] ?? [];
  }

  /** Entities whose list changed since the last call, ascending. */
  drainChanged(): number[] {
    const changed = [...this.changed].sort((a, b) => a - b);
    this.changed.clear();
    return changed;
  }
}

function sameList(before: readonly Neighbour[] | undefined, after: readonly Neighbour[]): boolean {
  if (before === undefined) return after.length === 0;
  if (before.length !== after.length) return false;
  for (let k = 0; k < after.length; k++) {
    const x = before[k];
    const y = after[k];
    if (x.id !== y.id || x.sim !== y.sim || x.support !== y.support) return false;
  }
  return true;
}
