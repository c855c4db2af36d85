/** Source positions (partition → next offset to read), as the state stores them and log lines show them. */

/** `p0@12 p1@7`; empty for no positions (callers say what that means). */
export function describePositions(positions: Iterable<readonly [partition: number, offset: number]>): string {
  return [...positions].map(([partition, offset]) => `p${partition}@${offset}`).join(' ');
}

/** The records before these positions, over every partition: how far into the stream they are. */
export function recordsBefore(positions: ReadonlyMap<number, number>): number {
  let records = 0;
  for (const offset of positions.values()) records += offset;
  return records;
}
