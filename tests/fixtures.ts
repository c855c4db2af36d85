/** Small MovieLens-format directories written by tests (never MovieLens itself). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../src/random.js';
import type { IndexedRating, StateValue } from '../src/models/model.js';

const createdDirs: string[] = [];
process.on('exit', () => {
  for (const dir of createdDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = 'rxrec-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  createdDirs.push(dir);
  return dir;
}

export { freePorts } from '../deploy/kafka/free-ports.js';

/** A random rating stream from biases plus a rank-2 interaction plus noise, on the 1–5 scale. */
export function randomRatings(count: number, users: number, items: number, seed: number): IndexedRating[] {
  const rng = createRng(seed);
  const userTaste = Array.from({ length: users }, () => [rng.normal(), rng.normal(), 0.5 * rng.normal()]);
  const itemTaste = Array.from({ length: items }, () => [rng.normal(), rng.normal(), 0.7 * rng.normal()]);
  const ratings: IndexedRating[] = [];
  for (let n = 0; n < count; n++) {
    const user = rng.int(users);
    const item = Math.min(items - 1, Math.floor(items * rng.next() ** 2));
    const affinity = userTaste[user]![0]! * itemTaste[item]![0]! + userTaste[user]![1]! * itemTaste[item]![1]!;
    const bias = userTaste[user]![2]! + itemTaste[item]![2]!;
    const rating = Math.min(5, Math.max(1, Math.round(3.5 + bias + affinity + 0.5 * rng.normal())));
    ratings.push({ user, item, rating, ts: 1_000_000 + n * 1000 });
  }
  return ratings;
}

/** An ml-100k directory (u.data, u.item, u.user) holding `ratings`; extra raw lines appended to u.data. */
export function writeMl100k(ratings: readonly IndexedRating[], options: { extraLines?: string[]; dir?: string } = {}): string {
  const dir = options.dir ?? tempDir();
  mkdirSync(dir, { recursive: true });
  const lines = ratings.map((r) => `${r.user + 1}\t${r.item + 1}\t${r.rating}\t${Math.floor(r.ts / 1000)}`);
  writeFileSync(join(dir, 'u.data'), [...lines, ...(options.extraLines ?? [])].join('\n') + '\n');
  const items = Math.max(...ratings.map((r) => r.item)) + 1;
  const users = Math.max(...ratings.map((r) => r.user)) + 1;
  const flags = (i: number) => Array.from({ length: 19 }, (_, g) => (g === 1 + (i % 18) ? '1' : '0')).join('|');
  writeFileSync(
    join(dir, 'u.item'),
    Array.from({ length: items }, (_, i) => `${i + 1}|Film ${i + 1} (1995)|01-Jan-1995||http://example.org/${i + 1}|${flags(i)}`).join('\n') + '\n',
    'latin1',
  );
  writeFileSync(join(dir, 'u.user'), Array.from({ length: users }, (_, u) => `${u + 1}|${20 + (u % 40)}|${u % 2 ? 'M' : 'F'}|other|0${u}`).join('\n') + '\n');
  return dir;
}

/** Apply a model's drained changes to a stored map the way the state store does (null deletes). */
export function storeChanges(stored: Map<string, StateValue>, changes: Iterable<[string, StateValue | null]>): void {
  for (const [key, value] of changes) {
    if (value === null) stored.delete(key);
    else stored.set(key, value);
  }
}
