/** The user and item rows a model changed since its last drain. */
export class DirtyRows {
  readonly users = new Set<number>();
  readonly items = new Set<number>();

  clear(): void {
    this.users.clear();
    this.items.clear();
  }
}
