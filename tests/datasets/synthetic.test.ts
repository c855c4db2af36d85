/** The synthetic generator's promises, checked on the files it writes (read back with the real readers). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openDataset } from '../../src/datasets/detect.js';
import { isMalformed, type ItemRow, type RatingRow, type UserRow } from '../../src/datasets/rows.js';
import { ML100K_SHAPE, createSyntheticMovieLens, syntheticRatingRows, syntheticSpecProblem } from '../../src/datasets/synthetic.js';
import { writeSyntheticDataset } from '../../streams/datasets/write-synthetic.js';
import { createRng } from '../../src/random.js';
import { tempDir } from '../fixtures.js';

interface Loaded {
  dir: string;
  ratings: RatingRow[];
  items: Map<string, ItemRow>;
  users: Map<string, UserRow>;
}

async function load(dir: string): Promise<Loaded> {
  const dataset = await openDataset(dir);
  const ratings: RatingRow[] = [];
  for await (const row of dataset.ratings()) {
    assert.ok(!isMalformed(row), `malformed synthetic line: ${JSON.stringify(row)}`);
    // The line as read is the reader's alone: the in-memory rows have none.
    const { raw: _raw, ...rating } = row;
    ratings.push(rating);
  }
  const items = new Map<string, ItemRow>();
  for await (const row of dataset.items()) if (!isMalformed(row)) items.set(row.itemId, row);
  const users = new Map<string, UserRow>();
  for await (const row of dataset.users()) if (!isMalformed(row)) users.set(row.userId, row);
  return { dir, ratings, items, users };
}

function groupBy<K>(values: readonly RatingRow[], key: (row: RatingRow) => K): Map<K, RatingRow[]> {
  const groups = new Map<K, RatingRow[]>();
  for (const row of values) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

describe('synthetic MovieLens (ML-100K shape, seed 42)', () => {
  let data: Loaded;
  before(async () => {
    const dir = tempDir();
    await writeSyntheticDataset(dir, ML100K_SHAPE);
    data = await load(dir);
  });

  it('writes the ml-100k files with exactly the asked-for sizes and ids 1..N, 1..M', () => {
    assert.deepEqual(readdirSync(data.dir).sort(), ['rxrec-synthetic.json', 'u.data', 'u.genre', 'u.info', 'u.item', 'u.occupation', 'u.user']);
    assert.equal(data.ratings.length, 100_000);
    assert.equal(data.users.size, 943);
    assert.equal(data.items.size, 1682);
    for (const row of data.ratings) {
      assert.ok(data.users.has(row.userId) && Number(row.userId) >= 1 && Number(row.userId) <= 943);
      assert.ok(data.items.has(row.itemId) && Number(row.itemId) >= 1 && Number(row.itemId) <= 1682);
    }
    assert.equal(readFileSync(join(data.dir, 'u.genre'), 'latin1').split('\n')[8], 'Drama|8');
    assert.equal(readFileSync(join(data.dir, 'u.occupation'), 'latin1').trim().split('\n').length, 21);
  });

  it('writes u.item in latin-1 so accented titles read back intact', () => {
    const synthetic = createSyntheticMovieLens(ML100K_SHAPE);
    const titles = [...synthetic.items()].map((item) => item.title);
    // eslint-disable-next-line no-control-regex -- the ASCII range is the point
    const accented = titles.filter((title) => /[^\x00-\x7f]/.test(title));
    assert.ok(accented.length > 0);
    assert.deepEqual(
      [...data.items.values()].map((item) => item.title),
      titles,
    );
    assert.ok(!readFileSync(join(data.dir, 'u.item')).includes(Buffer.from('é', 'utf8')), 'u.item must not hold UTF-8');
  });

  it('gives every user at least 20 ratings, with long-tailed activity', () => {
    const counts = [...groupBy(data.ratings, (row) => row.userId).values()].map((rows) => rows.length).sort((a, b) => a - b);
    assert.equal(counts.length, 943);
    assert.ok(counts[0]! >= 20, `least active user has ${counts[0]}`);
    const median = counts[Math.floor(counts.length / 2)]!;
    assert.ok(counts.at(-1)! > 5 * median, `max ${counts.at(-1)} vs median ${median}`);
  });

  it('never repeats a (user, item) pair', () => {
    const pairs = new Set(data.ratings.map((row) => `${row.userId}:${row.itemId}`));
    assert.equal(pairs.size, data.ratings.length);
  });

  it('rates in whole stars 1–5 shaped like ML-100K: mean near 3.5, few 1s, most 3–4', () => {
    const histogram = [0, 0, 0, 0, 0, 0];
    let sum = 0;
    for (const { rating } of data.ratings) {
      assert.ok(Number.isInteger(rating) && rating >= 1 && rating <= 5, `rating ${rating}`);
      histogram[rating]!++;
      sum += rating;
    }
    const mean = sum / data.ratings.length;
    assert.ok(mean > 3.35 && mean < 3.7, `mean ${mean}`);
    const share = histogram.map((n) => n / data.ratings.length);
    assert.ok(share[1]! < 0.1 && share[1]! < share[2]!, `shares ${share}`);
    assert.ok(share[3]! + share[4]! > 0.5, `shares ${share}`);
    assert.ok(share[4]! === Math.max(...share), `shares ${share}`);
  });

  it('has long-tail item popularity: the top 10% of items hold over 40% of ratings', () => {
    const counts = [...groupBy(data.ratings, (row) => row.itemId).values()].map((rows) => rows.length).sort((a, b) => b - a);
    const top = counts.slice(0, Math.ceil(1682 / 10)).reduce((a, b) => a + b, 0);
    assert.ok(top / data.ratings.length > 0.4, `top 10% share ${top / data.ratings.length}`);
  });

  it('timestamps each user non-decreasing, inside ML-100K window, interleaving users when replayed in time order', () => {
    for (const rows of groupBy(data.ratings, (row) => row.userId).values()) {
      for (let j = 1; j < rows.length; j++) assert.ok(rows[j]!.ts >= rows[j - 1]!.ts);
    }
    const byTime = [...data.ratings].sort((a, b) => a.ts - b.ts);
    assert.ok(byTime[0]!.ts >= Date.UTC(1997, 8, 20) && byTime.at(-1)!.ts <= Date.UTC(1998, 4, 1));
    assert.ok(
      data.ratings.every((row) => Number.isInteger(row.ts / 1000)),
      'whole seconds',
    );
    let switches = 0;
    for (let j = 1; j < byTime.length; j++) if (byTime[j]!.userId !== byTime[j - 1]!.userId) switches++;
    assert.ok(switches > 3 * 943, `only ${switches} user switches in time order`);
    // Users arrive over time: the first ratings of low ids come before those of high ids.
    const firstTs = (userId: string) => Math.min(...data.ratings.filter((row) => row.userId === userId).map((row) => row.ts));
    assert.ok(firstTs('10') < firstTs('900'));
  });

  it('lets genres and demographics shift ratings: genre means differ by gender and age far beyond chance', () => {
    const effect = (groupOf: (user: UserRow) => string): number => {
      // The largest gap, over genres, between two groups' mean ratings of that genre (≥ 300 ratings each).
      const sums = new Map<string, { sum: number; n: number }>();
      for (const row of data.ratings) {
        const group = groupOf(data.users.get(row.userId)!);
        for (const genre of data.items.get(row.itemId)!.genres) {
          const cell = sums.get(`${genre}/${group}`) ?? { sum: 0, n: 0 };
          cell.sum += row.rating;
          cell.n++;
          sums.set(`${genre}/${group}`, cell);
        }
      }
      let largest = 0;
      for (const genre of new Set([...sums.keys()].map((key) => key.split('/')[0]!))) {
        const means = [...sums.entries()].filter(([key, cell]) => key.startsWith(`${genre}/`) && cell.n >= 300).map(([, cell]) => cell.sum / cell.n);
        if (means.length >= 2) largest = Math.max(largest, Math.max(...means) - Math.min(...means));
      }
      return largest;
    };
    // The same statistic with the groups shuffled among users is what chance alone gives.
    const shuffled = (groupOf: (user: UserRow) => string): ((user: UserRow) => string) => {
      const userIds = [...data.users.keys()];
      const groups = userIds.map((id) => groupOf(data.users.get(id)!));
      const rng = createRng(1);
      for (let i = groups.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [groups[i], groups[j]] = [groups[j]!, groups[i]!];
      }
      const shuffledGroup = new Map(userIds.map((id, i) => [id, groups[i]!]));
      return (user) => shuffledGroup.get(user.userId)!;
    };
    const byGender = (user: UserRow) => user.gender!;
    const byAge = (user: UserRow) => (user.age! < 25 ? 'young' : user.age! < 45 ? 'middle' : 'older');
    for (const [name, groupOf] of [
      ['gender', byGender],
      ['age', byAge],
    ] as const) {
      const real = effect(groupOf);
      const chance = effect(shuffled(groupOf));
      assert.ok(real > 0.2 && real > 1.5 * chance, `${name}: largest genre gap ${real.toFixed(3)} vs ${chance.toFixed(3)} by chance`);
    }
  });

  it('yields in memory exactly the rows a reader gets from the written u.data', () => {
    assert.deepEqual([...syntheticRatingRows(ML100K_SHAPE)], data.ratings);
  });
});

describe('synthetic choice model (ML-100K shape, seed 42)', () => {
  const synthetic = createSyntheticMovieLens(ML100K_SHAPE);
  const items = ML100K_SHAPE.items;
  // Each user's first 75% of ratings in time order is what they rated before; the rest, what they rate next.
  const history: number[][] = [];
  const next: Set<number>[] = [];
  for (const user of synthetic.ratingsByUser()) {
    const itemIndices = Array.from(user.itemIds, (id) => id - 1);
    const cut = Math.round(0.75 * itemIndices.length);
    history.push(itemIndices.slice(0, cut));
    next.push(new Set(itemIndices.slice(cut)));
  }
  const popularity = new Float64Array(items);
  for (const rated of history) for (const item of rated) popularity[item]!++;

  /** Mean over users of the share of the top 10 unrated items by `score` that the user rates next. */
  const precisionAt10 = (score: (user: number) => Float64Array): number => {
    let sum = 0;
    for (let user = 0; user < history.length; user++) {
      const scores = score(user);
      for (const item of history[user]!) scores[item] = -Infinity;
      const top = Array.from(scores.keys())
        .sort((a, b) => scores[b]! - scores[a]! || a - b)
        .slice(0, 10);
      sum += top.filter((item) => next[user]!.has(item)).length / 10;
    }
    return sum / history.length;
  };
  const mostPopular = precisionAt10(() => Float64Array.from(popularity));

  it('makes what a user rates next depend on their taste: knowing the factors beats popularity by far', () => {
    const oracle = precisionAt10((user) => Float64Array.from({ length: items }, (_, item) => synthetic.logChoiceWeight(user + 1, item + 1)));
    assert.ok(mostPopular > 0.1, `most-popular P@10 ${mostPopular.toFixed(3)}`);
    assert.ok(oracle > 1.5 * mostPopular, `oracle P@10 ${oracle.toFixed(3)} vs most-popular ${mostPopular.toFixed(3)}`);
  });

  it('makes it learnable from what the user rated before: item co-occurrence beats popularity', () => {
    const cooccurrence = new Float64Array(items * items);
    for (const rated of history) for (const i of rated) for (const j of rated) if (i !== j) cooccurrence[i * items + j]!++;
    for (let i = 0; i < items; i++) {
      for (let j = 0; j < items; j++) cooccurrence[i * items + j]! /= Math.sqrt(popularity[i]! * popularity[j]!) || 1;
    }
    const itemKnn = precisionAt10((user) => {
      const scores = new Float64Array(items);
      for (const j of history[user]!) for (let i = 0; i < items; i++) scores[i]! += cooccurrence[j * items + i]!;
      return scores;
    });
    assert.ok(itemKnn > 1.2 * mostPopular, `item-kNN P@10 ${itemKnn.toFixed(3)} vs most-popular ${mostPopular.toFixed(3)}`);
  });

  it('replays the same ratings for the same seed', () => {
    const again = [...createSyntheticMovieLens(ML100K_SHAPE).ratingsByUser()];
    assert.deepEqual(again, [...synthetic.ratingsByUser()]);
  });
});

describe('synthetic generator determinism and limits', () => {
  const small = { users: 60, items: 200, ratings: 3000, seed: 42 };

  it('writes byte-identical files for one seed and different ratings for another', async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    await writeSyntheticDataset(a, small);
    await writeSyntheticDataset(b, small);
    await writeSyntheticDataset(c, { ...small, seed: 43 });
    for (const file of readdirSync(a)) assert.ok(readFileSync(join(a, file)).equals(readFileSync(join(b, file))), `${file} differs`);
    assert.ok(!readFileSync(join(a, 'u.data')).equals(readFileSync(join(c, 'u.data'))));
  });

  it('rewrites its own folder but refuses a folder it did not make', async () => {
    const dir = tempDir();
    await writeSyntheticDataset(dir, small);
    await writeSyntheticDataset(dir, small);
    const foreign = tempDir();
    await writeSyntheticDataset(join(foreign, 'ok'), small);
    await assert.rejects(writeSyntheticDataset(foreign, small), {
      message: `refusing to write into ${foreign}: it is not empty and was not made by the synthetic generator — choose a new or empty --out directory`,
    });
  });

  it('fills a dense spec where every user rates every item', () => {
    const synthetic = createSyntheticMovieLens({ users: 30, items: 25, ratings: 750, seed: 3 });
    for (const user of synthetic.ratingsByUser())
      assert.deepEqual(
        [...user.itemIds].sort((x, y) => x - y),
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
  });

  it('explains a spec it cannot generate', () => {
    assert.equal(syntheticSpecProblem(ML100K_SHAPE), undefined);
    assert.equal(syntheticSpecProblem({ ...small, users: 0 }), 'users must be a positive integer, got 0');
    assert.equal(syntheticSpecProblem({ ...small, items: 2.5 }), 'items must be a positive integer, got 2.5');
    assert.equal(syntheticSpecProblem({ ...small, ratings: 100 }), 'ratings (100) must be at least 20 per user (1200 for 60 users)');
    assert.equal(syntheticSpecProblem({ ...small, ratings: 12_001 }), 'ratings (12001) cannot exceed users × items (12000): a user rates an item at most once');
    assert.throws(() => createSyntheticMovieLens({ ...small, ratings: 100 }), /^Error: cannot generate synthetic data: ratings \(100\)/);
  });

  it('generates ML-1M size (1,000,209 ratings) in seconds', () => {
    const started = performance.now();
    let ratings = 0;
    for (const user of createSyntheticMovieLens({ users: 6040, items: 3706, ratings: 1_000_209, seed: 42 }).ratingsByUser()) {
      assert.ok(user.itemIds.length >= 20);
      ratings += user.itemIds.length;
    }
    assert.equal(ratings, 1_000_209);
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s`);
  });
});
