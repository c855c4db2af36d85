import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HALF_STARS, WHOLE_STARS, type RatingScale } from '../../src/events/scale.js';
import type { IndexedRating, StateValue } from '../../src/models/model.js';
import { SIMILARITY_MEASURES, type SimilarityMeasure } from '../../src/similarity/measures.js';
import { SimilarityIndex, type SimilarityKind, type SimilarityOptions } from '../../src/similarity/similarity-index.js';
import { assertTopN, cappedSimilarities, pairKey, randomStream, relativeError, textbookSimilarities, type PairValue } from './reference.js';

const USERS = 14;
const ITEMS = 11;
const KINDS: SimilarityKind[] = ['item', 'user'];

const wholeStream = randomStream({ events: 420, users: USERS, items: ITEMS, seed: 11, rerate: 0.25 });
const halfStream = randomStream({ events: 420, users: USERS, items: ITEMS, seed: 12, rerate: 0.25, step: 0.5, min: 0.5, max: 5 });

function entityCount(kind: SimilarityKind): number {
  return kind === 'item' ? ITEMS : USERS;
}

function learned(scale: RatingScale, stream: readonly IndexedRating[], options: Partial<SimilarityOptions> & { kind: SimilarityKind }): SimilarityIndex {
  const index = new SimilarityIndex(scale, { pruneAfter: Infinity, ...options });
  index.learnBatch(stream);
  return index;
}

/** Every pair's similarity and support match `expected`; pairs absent there are absent here. */
function assertMatches(index: SimilarityIndex, expected: Map<string, PairValue>, kind: SimilarityKind, measure: SimilarityMeasure, label: string): void {
  let worst = 0;
  for (let a = 0; a < entityCount(kind); a++) {
    for (let b = a + 1; b < entityCount(kind); b++) {
      const want = expected.get(pairKey(a, b));
      assert.equal(index.support(a, b), want?.support ?? 0, `${label}: support of {${a}, ${b}}`);
      worst = Math.max(worst, relativeError(index.similarity(a, b, measure), want?.sim ?? 0));
    }
  }
  assert.ok(worst <= 1e-9, `${label}: worst relative error ${worst}`);
  assert.equal(index.footprint().pairs, expected.size, `${label}: pair count`);
}

for (const kind of KINDS) {
  for (const measure of SIMILARITY_MEASURES) {
    for (const [scaleName, scale, stream] of [
      ['whole', WHOLE_STARS, wholeStream],
      ['half', HALF_STARS, halfStream],
    ] as const) {
      test(`${kind}-${kind} ${measure} (${scaleName} stars), uncapped: incremental equals the textbook batch definition`, () => {
        const index = learned(scale, stream, { kind, measure, historyCap: Infinity });
        assertMatches(index, textbookSimilarities(stream, kind, measure, 100), kind, measure, 'uncapped');
      });

      test(`${kind}-${kind} ${measure} (${scaleName} stars), history cap 3: incremental equals the capped batch definition`, () => {
        const index = learned(scale, stream, { kind, measure, historyCap: 3 });
        assertMatches(index, cappedSimilarities(stream, kind, measure, 100, 3), kind, measure, 'cap 3');
      });
    }

    test(`${kind}-${kind} ${measure}: pruning equals the batch definition with sweeps replayed on links`, () => {
      const prune = { minSupport: 3, pruneAfter: 40 };
      const index = learned(WHOLE_STARS, wholeStream, { kind, measure, historyCap: 4, ...prune });
      const expected = cappedSimilarities(wholeStream, kind, measure, 100, 4, prune);
      assertMatches(index, expected, kind, measure, 'pruned');
      const unpruned = cappedSimilarities(wholeStream, kind, measure, 100, 4);
      assert.ok(expected.size < unpruned.size, 'the stream exercises pruning');
    });

    test(`${kind}-${kind} ${measure}: neighbour lists equal the batch top-N`, () => {
      for (const historyCap of [Infinity, 3]) {
        const index = learned(WHOLE_STARS, wholeStream, { kind, measure, historyCap, neighbourCount: 4 });
        const expected = cappedSimilarities(wholeStream, kind, measure, 100, historyCap);
        for (let entity = 0; entity < entityCount(kind); entity++) {
          const got = index.neighbours(entity);
          assertTopN(got, expected, entity, 4, `cap ${historyCap}, entity ${entity}`);
          assert.deepEqual(index.neighbours(entity, 2), got.slice(0, 2));
        }
      }
    });
  }
}

test('shrinkage: n / (n + λ) times the raw Pearson correlation', () => {
  // Items 0 and 1 co-rated by three users: x = (1, 2, 3), y = (2, 3, 5); r = 3 / √(28/3).
  const ratings = [
    [0, 0, 1],
    [0, 1, 2],
    [1, 0, 2],
    [1, 1, 3],
    [2, 0, 3],
    [2, 1, 5],
  ].map(([user, item, rating], ts) => ({ user: user!, item: item!, rating: rating!, ts }));
  const raw = 3 / Math.sqrt(28 / 3);
  for (const shrinkage of [0, 100, 7]) {
    const index = learned(WHOLE_STARS, ratings, { kind: 'item', shrinkage });
    assert.ok(Math.abs(index.similarity(0, 1) - (3 / (3 + shrinkage)) * raw) < 1e-15, `λ = ${shrinkage}`);
    assert.equal(index.support(0, 1), 3);
  }
});

test('a re-rating replaces the old value: same as having given the new value first', () => {
  const first = [
    { user: 0, item: 0, rating: 1, ts: 0 },
    { user: 0, item: 1, rating: 4, ts: 1 },
    { user: 1, item: 0, rating: 2, ts: 2 },
    { user: 1, item: 1, rating: 2, ts: 3 },
  ];
  const rerated = learned(WHOLE_STARS, [...first, { user: 0, item: 0, rating: 5, ts: 4 }], { kind: 'item', measure: 'cosine' });
  const direct = learned(WHOLE_STARS, [{ ...first[0]!, rating: 5 }, ...first.slice(1)], { kind: 'item', measure: 'cosine' });
  assert.equal(rerated.similarity(0, 1), direct.similarity(0, 1));
  assert.equal(rerated.support(0, 1), 2);
});

test('pruning drops pairs of tiny support and keeps the rest', () => {
  const stream = randomStream({ events: 3000, users: 100, items: 300, seed: 5, rerate: 0.05 });
  const index = learned(WHOLE_STARS, stream, { kind: 'item', historyCap: 10, minSupport: 2, pruneAfter: 200 });
  const all = cappedSimilarities(stream, 'item', 'pearson', 100, 10);
  let tinyKept = 0;
  let strongKept = 0;
  for (const key of all.keys()) {
    const [a, b] = key.split(',').map(Number) as [number, number];
    const support = index.support(a, b);
    if (support === 1) tinyKept++;
    if (support >= 2) strongKept++;
  }
  const tinyAll = [...all.values()].filter((pair) => pair.support < 2).length;
  assert.ok(tinyKept < tinyAll / 2, `${tinyKept} of ${tinyAll} support-1 pairs kept`);
  assert.ok(strongKept > 0 && index.footprint().pairs === tinyKept + strongKept);
});

test('refreshNeighbours reports exactly the entities whose list changed', () => {
  const index = new SimilarityIndex(WHOLE_STARS, { kind: 'item', historyCap: 5, neighbourCount: 3, pruneAfter: Infinity });
  const lists = () => Array.from({ length: ITEMS }, (_, item) => JSON.stringify(index.neighbours(item)));
  index.learnBatch(wholeStream.slice(0, 200));
  const initial = index.refreshNeighbours(true);
  assert.deepEqual(
    initial,
    lists().flatMap((list, item) => (list === '[]' ? [] : [item])),
  );
  for (let from = 200; from < wholeStream.length; from += 20) {
    const before = lists();
    index.learnBatch(wholeStream.slice(from, from + 20));
    const changed = index.refreshNeighbours(true);
    const after = lists();
    assert.deepEqual(
      changed,
      after.flatMap((list, item) => (list === before[item] ? [] : [item])),
      `batch at ${from}`,
    );
  }
});

test('a refresh of many dirty lists (one in-order pass over all pairs) equals the batch top-N', () => {
  const stream = randomStream({ events: 4000, users: 100, items: 300, seed: 8, rerate: 0.1 });
  for (const measure of ['pearson', 'cosine'] as const) {
    const index = new SimilarityIndex(WHOLE_STARS, { kind: 'item', measure, historyCap: 10, neighbourCount: 5, pruneAfter: Infinity });
    index.learnBatch(stream.slice(0, 3000));
    for (let item = 0; item < 300; item += 7) index.neighbours(item);
    index.learnBatch(stream.slice(3000));
    const changed = index.refreshNeighbours(true);
    const expected = cappedSimilarities(stream, 'item', measure, 100, 10);
    for (let item = 0; item < 300; item++) assertTopN(index.neighbours(item), expected, item, 5, `${measure}, item ${item}`);
    assert.ok(changed.length > 250);
  }
});

test('refreshNeighbours waits until events have paid for it; reads stay exact meanwhile', () => {
  const index = new SimilarityIndex(WHOLE_STARS, { kind: 'item', refreshBudget: 0.001, pruneAfter: Infinity });
  index.learnBatch(wholeStream);
  assert.deepEqual(index.refreshNeighbours(), []);
  const reference = learned(WHOLE_STARS, wholeStream, { kind: 'item' });
  assert.deepEqual(index.neighbours(3), reference.neighbours(3));
  assert.deepEqual(index.refreshNeighbours(), [3], 'a list recomputed on read is still reported');
  assert.ok(index.refreshNeighbours(true).length > 0);
});

/** Everything observable: all similarities under every measure, supports and neighbour lists. */
function snapshot(index: SimilarityIndex, kind: SimilarityKind): unknown {
  const pairs: number[] = [];
  for (let a = 0; a < entityCount(kind); a++) {
    for (let b = a + 1; b < entityCount(kind); b++) {
      pairs.push(index.support(a, b), ...SIMILARITY_MEASURES.map((m) => index.similarity(a, b, m)));
    }
  }
  const lists = Array.from({ length: entityCount(kind) }, (_, e) => index.neighbours(e));
  return { pairs, lists, count: index.footprint().pairs, ratings: index.footprint().ratings, events: index.events };
}

for (const kind of KINDS) {
  test(`${kind}-${kind}: drain in two halves, restore into a fresh index, equals the uninterrupted run`, () => {
    const options = { kind, historyCap: 4, minSupport: 2, pruneAfter: 45 };
    const uninterrupted = learned(WHOLE_STARS, wholeStream, options);
    const stored = new Map<string, StateValue>();
    const save = (index: SimilarityIndex) => {
      for (const [key, value] of index.drainChanges()) stored.set(key, value);
    };
    const first = learned(WHOLE_STARS, wholeStream.slice(0, 213), options);
    save(first);
    const resumed = new SimilarityIndex(WHOLE_STARS, options);
    resumed.restore(stored);
    assert.deepEqual(resumed.drainChanges(), [], 'a restore leaves nothing to drain');
    resumed.learnBatch(wholeStream.slice(213));
    save(resumed);
    assert.deepEqual(snapshot(resumed, kind), snapshot(uninterrupted, kind));
    const fromScratch = new SimilarityIndex(WHOLE_STARS, options);
    fromScratch.restore(stored);
    assert.deepEqual(snapshot(fromScratch, kind), snapshot(uninterrupted, kind));
  });

  test(`${kind}-${kind}: results do not depend on where batch boundaries fall`, () => {
    const options = { kind, historyCap: 3, minSupport: 2, pruneAfter: 50 };
    const whole = learned(WHOLE_STARS, wholeStream, options);
    for (const size of [1, 7, 64]) {
      const split = new SimilarityIndex(WHOLE_STARS, options);
      for (let from = 0; from < wholeStream.length; from += size) {
        split.learnBatch(wholeStream.slice(from, from + size));
        split.refreshNeighbours();
      }
      assert.deepEqual(snapshot(split, kind), snapshot(whole, kind), `batches of ${size}`);
    }
  });
}

// Long enough for several ranking refreshes (every 1,000 events while pairs / 500 is smaller).
const longStream = randomStream({ events: 4500, users: 40, items: 30, seed: 13, rerate: 0.2 });

function rankingIndex(options: Partial<SimilarityOptions> = {}): SimilarityIndex {
  const index = new SimilarityIndex(WHOLE_STARS, { kind: 'item', historyCap: 5, pruneAfter: Infinity, ...options });
  index.keepRankingLists();
  return index;
}

function rankingLists(index: SimilarityIndex): Array<readonly unknown[]> {
  return Array.from({ length: 30 }, (_, item) => index.rankingNeighbours(item));
}

test('ranking lists are the exact lists of the last refresh position (every 1,000 events here), not recomputed on read', () => {
  const index = rankingIndex();
  index.learnBatch(longStream.slice(0, 999));
  assert.ok(
    rankingLists(index).every((list) => list.length === 0),
    'no list before the first refresh',
  );
  index.learnBatch(longStream.slice(999, 3500));
  assert.equal(new Map(index.drainChanges()).get('rseq'), 3000);
  const atRefresh = learned(WHOLE_STARS, longStream.slice(0, 3000), { kind: 'item', historyCap: 5 });
  for (let item = 0; item < 30; item++) assert.deepEqual(index.rankingNeighbours(item), atRefresh.neighbours(item), `item ${item}`);
  const stale = Array.from({ length: 30 }, (_, item) => item).filter(
    (item) => JSON.stringify(index.rankingNeighbours(item)) !== JSON.stringify(index.neighbours(item)),
  );
  assert.ok(stale.length > 0, 'the 500 events since the refresh changed some exact lists');
  assert.throws(() => learned(WHOLE_STARS, longStream.slice(0, 10), { kind: 'item' }).rankingNeighbours(0), /needs keepRankingLists/);
  assert.throws(() => learned(WHOLE_STARS, longStream.slice(0, 10), { kind: 'item' }).keepRankingLists(), /from the first event/);
});

test('ranking lists: a run stopped between refreshes, restored and resumed (re-ratings, pruning, any batches) reads and stores what an uninterrupted one does', () => {
  const options = { minSupport: 2, pruneAfter: 450 };
  const drained = (index: SimilarityIndex, into = new Map<string, StateValue>()) => {
    for (const [key, value] of index.drainChanges()) into.set(key, value);
    return into;
  };
  const uninterrupted = rankingIndex(options);
  uninterrupted.learnBatch(longStream);
  const whole = drained(uninterrupted);
  assert.ok(
    [...whole.keys()].some((key) => /^r\d+$/.test(key)),
    'ranking lists are stored',
  );

  const first = rankingIndex(options);
  for (let from = 0; from < 2345; from += 7) first.learnBatch(longStream.slice(from, Math.min(2345, from + 7)));
  const stored = drained(first);
  const resumed = rankingIndex(options);
  resumed.restore(stored);
  assert.deepEqual(rankingLists(resumed), rankingLists(first), 'restored as stored');
  assert.deepEqual(resumed.drainChanges(), [], 'a restore leaves nothing to drain');
  resumed.learnBatch(longStream.slice(2345));
  drained(resumed, stored);
  assert.deepEqual(rankingLists(resumed), rankingLists(uninterrupted));
  assert.deepEqual(stored, whole);
});

test('a drain holds only what changed: the event counter and the touched history chunk', () => {
  const index = learned(WHOLE_STARS, wholeStream, { kind: 'item' });
  index.drainChanges();
  assert.deepEqual(index.drainChanges(), []);
  index.learn({ user: 20, item: 2, rating: 5, ts: 0 });
  const keys = index.drainChanges().map(([key]) => key);
  assert.deepEqual(keys, ['seq', 'h20.0']);
});

test('unknown or negative ids have no neighbours and no similarity', () => {
  const index = learned(WHOLE_STARS, wholeStream, { kind: 'item' });
  assert.deepEqual(index.neighbours(-1), []);
  assert.deepEqual(index.neighbours(ITEMS + 5), []);
  assert.equal(index.similarity(-1, 2), 0);
  assert.equal(index.support(3, ITEMS + 5), 0);
});

test('errors name the problem', () => {
  const index = learned(WHOLE_STARS, wholeStream.slice(0, 5), { kind: 'item' });
  assert.throws(() => index.restore([]), /fresh index/);
  assert.throws(() => index.learn({ user: 0, item: 0, rating: 3.5, ts: 0 }), /not on the scale's grid/);
  assert.throws(() => new SimilarityIndex(WHOLE_STARS, { kind: 'item', historyCap: 0 }), /historyCap/);
  assert.throws(() => new SimilarityIndex(WHOLE_STARS, { kind: 'item', pruneAfter: 2.5 }), /pruneAfter must be a whole number/);
  assert.throws(() => new SimilarityIndex(WHOLE_STARS, { kind: 'item' }).restore([['x', 1]]), /unknown state key 'x'/);
});
