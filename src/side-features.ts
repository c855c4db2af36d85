/**
 * Side features: what the items and users topics (or a dataset's item and user files) say about
 * an id beyond its ratings. They arrive by id, possibly before the id's first rating, and are
 * looked up by the catalogue index models use. Only models that place ids from their features
 * (the two-tower) read them; a missing entry means "nothing known", never an error.
 */
import type { Catalog } from './catalog.js';

export interface UserFeatures {
  readonly age?: number;
  readonly gender?: string;
  readonly occupation?: string;
}

export interface ItemFeatures {
  readonly genres: readonly string[];
}

/** Only the fields `record` defines (a user row or topic record has more, and may leave some out). */
export function userFeaturesOf(record: UserFeatures): UserFeatures {
  const { age, gender, occupation } = record;
  return { ...(age === undefined ? {} : { age }), ...(gender === undefined ? {} : { gender }), ...(occupation === undefined ? {} : { occupation }) };
}

/** Features by catalogue index, as models see them. */
export interface FeatureLookup {
  user(index: number): UserFeatures | undefined;
  item(index: number): ItemFeatures | undefined;
  /** Grows with every change, so what was computed from features can tell it is stale. */
  readonly revision?: number;
}

/** Side features by id, resolved through the catalogue. The latest value for an id wins (compacted topics). */
export class SideFeatures implements FeatureLookup {
  private readonly users = new Map<string, UserFeatures>();
  private readonly items = new Map<string, ItemFeatures>();

  constructor(private readonly catalog: Catalog) {}

  private changes = 0;

  setUser(userId: string, features: UserFeatures): void {
    this.users.set(userId, features);
    this.changes++;
  }

  setItem(itemId: string, features: ItemFeatures): void {
    this.items.set(itemId, features);
    this.changes++;
  }

  get revision(): number {
    return this.changes;
  }

  userById(userId: string): UserFeatures | undefined {
    return this.users.get(userId);
  }

  itemById(itemId: string): ItemFeatures | undefined {
    return this.items.get(itemId);
  }

  user(index: number): UserFeatures | undefined {
    return index < this.catalog.users.size ? this.users.get(this.catalog.users.idAt(index)) : undefined;
  }

  item(index: number): ItemFeatures | undefined {
    return index < this.catalog.items.size ? this.items.get(this.catalog.items.idAt(index)) : undefined;
  }

  get userCount(): number {
    return this.users.size;
  }

  get itemCount(): number {
    return this.items.size;
  }
}
