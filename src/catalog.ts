/**
 * Dense integer indices for user and item ids, assigned in order of first sight. Models keep
 * their parameters in typed arrays addressed by these indices, so a new id is a new row, never a
 * resize of anyone's vocabulary. Assignment depends only on event order, which keeps a resumed
 * run identical to an uninterrupted one.
 */
import { SideFeatures } from './side-features.js';

export class IdIndex {
  private readonly indexById = new Map<string, number>();
  private readonly ids: string[] = [];
  /** Ids added since the last `drainAdded`, for persistence. */
  private addedFrom = 0;

  get size(): number {
    return this.ids.length;
  }

  /** The id's index, adding it when new. */
  intern(id: string): number {
    let index = this.indexById.get(id);
    if (index === undefined) {
      index = this.ids.length;
      this.ids.push(id);
      this.indexById.set(id, index);
    }
    return index;
  }

  /** The id's index, or -1 when it has never been seen. */
  lookup(id: string): number {
    return this.indexById.get(id) ?? -1;
  }

  idAt(index: number): string {
    const id = this.ids[index];
    if (id === undefined) throw new RangeError(`no id at index ${index}`);
    return id;
  }

  /** Ids interned since the last call, with their indices (for the state store). */
  drainAdded(): Array<[number, string]> {
    const added: Array<[number, string]> = [];
    for (let index = this.addedFrom; index < this.ids.length; index++) added.push([index, this.ids[index]!]);
    this.addedFrom = this.ids.length;
    return added;
  }

  /** Rebuild from persisted (index, id) pairs; indices must be dense from 0. */
  restore(entries: Iterable<[number, string]>): void {
    for (const [index, id] of entries) {
      if (index !== this.ids.length) throw new Error(`id index is not dense: expected ${this.ids.length}, found ${index}`);
      this.intern(id);
    }
    this.addedFrom = this.ids.length;
  }
}

/** The users and items a pipeline has seen. Shared by all models of one pipeline. */
export class Catalog {
  readonly users = new IdIndex();
  readonly items = new IdIndex();
  /** Side features by id (items and users topics), looked up by index. */
  readonly features = new SideFeatures(this);
}
