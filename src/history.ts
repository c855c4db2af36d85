/**
 * Which items each user has rated: the filter that keeps already-seen items out of top-k lists.
 * Persisted one (user, item) pair per rating, so a batch writes only its own new pairs.
 */
export class UserHistories {
  private readonly seen: Array<Set<number> | undefined> = [];
  private added: Array<[number, number]> = [];

  /** Record that `user` rated `item`; true when it is a first rating (not a re-rating). */
  add(user: number, item: number): boolean {
    let items = this.seen[user];
    if (!items) this.seen[user] = items = new Set();
    if (items.has(item)) return false;
    items.add(item);
    this.added.push([user, item]);
    return true;
  }

  has(user: number, item: number): boolean {
    return this.seen[user]?.has(item) ?? false;
  }

  itemsOf(user: number): ReadonlySet<number> {
    return this.seen[user] ?? EMPTY;
  }

  drainAdded(): Array<[number, number]> {
    const added = this.added;
    this.added = [];
    return added;
  }

  restore(pairs: Iterable<[number, number]>): void {
    for (const [user, item] of pairs) this.add(user, item);
    this.added = [];
  }
}

const EMPTY: ReadonlySet<number> = new Set();
