/**
 * Per-user random hold-out split, the offline protocols' first step: each user's ratings are
 * shuffled (seeded) and a share of them held out for testing, so every test user also has
 * ratings to learn from. A user with fewer than `minRatings` ratings is kept wholly in
 * training (the seed studies' rule for 80/20: fewer than 5).
 *
 *   held out per user = min(n − 1, max(1, round(n · testShare)))   for n ≥ minRatings
 *
 * Users are visited in index order and each draws from one seeded generator (partial
 * Fisher–Yates), so a split depends only on the seed and the ratings' order.
 *
 * Example:
 *   const split = splitPerUser(users.length, (position) => users[position]!, { testShare: 0.2, minRatings: 5, seed: 42 });
 *   split.isTest[position]; // 1 when that rating is held out
 */
import { createRng } from '../random.js';

export interface SplitRule {
  /** Share of each user's ratings held out for testing, in (0, 1). */
  readonly testShare: number;
  /** Users with fewer ratings are kept wholly in training; at least 2 (one to learn, one to test). */
  readonly minRatings: number;
  readonly seed: number;
}

export interface PerUserSplit {
  /** By rating position: 1 when held out for testing, 0 when in training. */
  readonly isTest: Uint8Array;
  readonly testCount: number;
  readonly users: number;
  /** Users with at least one rating held out. */
  readonly splitUsers: number;
  /** Users with fewer than `minRatings` ratings, all of them in training. */
  readonly keptWhole: number;
}

/** Split `count` ratings, the one at `position` being by user index `userAt(position)` (dense from 0). */
export function splitPerUser(count: number, userAt: (position: number) => number, rule: SplitRule): PerUserSplit {
  if (!(rule.testShare > 0 && rule.testShare < 1)) throw new RangeError(`the test share must be in (0, 1), got ${rule.testShare}`);
  if (!(Number.isInteger(rule.minRatings) && rule.minRatings >= 2))
    throw new RangeError(`a split user needs at least 2 ratings, got minRatings ${rule.minRatings}`);
  const positions = positionsByUser(count, userAt);
  const isTest = new Uint8Array(count);
  const rng = createRng(rule.seed);
  let testCount = 0;
  let splitUsers = 0;
  let keptWhole = 0;
  for (const own of positions) {
    const n = own.length;
    if (n < rule.minRatings) {
      keptWhole += 1;
      continue;
    }
    const held = Math.min(n - 1, Math.max(1, Math.round(n * rule.testShare)));
    for (let j = 0; j < held; j++) {
      const pick = j + rng.int(n - j);
      [own[j], own[pick]] = [own[pick]!, own[j]!];
      isTest[own[j]!] = 1;
    }
    testCount += held;
    splitUsers += 1;
  }
  return { isTest, testCount, users: positions.length, splitUsers, keptWhole };
}

/** Each user's rating positions in input order, by a counting sort over the user indices. */
function positionsByUser(count: number, userAt: (position: number) => number): Uint32Array[] {
  const sizes: number[] = [];
  for (let position = 0; position < count; position++) {
    const user = userAt(position);
    sizes[user] = (sizes[user] ?? 0) + 1;
  }
  const positions = Array.from(sizes, (size) => new Uint32Array(size ?? 0));
  const filled = new Uint32Array(positions.length);
  for (let position = 0; position < count; position++) {
    const user = userAt(position);
    positions[user]![filled[user]!++] = position;
  }
  return positions;
}
