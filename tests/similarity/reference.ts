/**
 * From-scratch (batch) similarity over a whole event sequence, written independently of the
 * incremental code and straight from the definitions, for the exactness tests:
 *
 * - `textbookSimilarities`: every pair of entities over ALL their co-rated contexts (no cap, no
 *   pruning), from the final rating matrix, with two-pass (centred) sums.
 * - `cappedSimilarities`: the documented capped definition — each context's entities in order
 *   of first rating, linked when their positions differ by at most H — optionally replaying the
 *   pruning sweeps at the level of individual links.
 */
import type { IndexedRating } from '../../src/models/model.js';
import type { SimilarityKind } from '../../src/similarity/similarity-index.js';
import type { SimilarityMeasure } from '../../src/similarity/measures.js';
import { createRng } from '../../src/random.js';

export interface PairValue {
  readonly sim: number;
  readonly support: number;
}

/** Key of the unordered pair {a, b}. */
export const pairKey = (a: number, b: number): string => (a < b ? `${a},${b}` : `${b},${a}`);

/** A random stream on a grid scale, with re-ratings (same entity, same context, new value). */
export function randomStream(options: {
  events: number;
  users: number;
  items: number;
  seed: number;
  rerate: number;
  step?: number;
  min?: number;
  max?: number;
}): IndexedRating[] {
  const { events, users, items, seed, rerate } = options;
  const step = options.step ?? 1;
  const min = options.min ?? 1;
  const max = options.max ?? 5;
  const rng = createRng(seed);
  const steps = Math.round((max - min) / step) + 1;
  const stream: IndexedRating[] = [];
  for (let k = 0; k < events; k++) {
    let user = rng.int(users);
    let item = rng.int(items);
    if (stream.length > 0 && rng.next() < rerate) ({ user, item } = stream[rng.int(stream.length)]);
    stream.push({ user, item, rating: min + step * rng.int(steps), ts: k });
  }
  return stream;
}

interface ContextHistory {
  readonly entities: number[];
  readonly seqs: number[];
  readonly values: Map<number, number>;
}

/** Per context: entities in order of first rating with the event seq of that rating, latest values. */
function histories(stream: readonly IndexedRating[], kind: SimilarityKind): Map<number, ContextHistory> {
  const byContext = new Map<number, ContextHistory>();
  stream.forEach((r, k) => {
    const context = kind === 'item' ? r.user : r.item;
    const entity = kind === 'item' ? r.item : r.user;
    let history = byContext.get(context);
    if (!history) byContext.set(context, (history = { entities: [], seqs: [], values: new Map() }));
    if (!history.values.has(entity)) {
      history.entities.push(entity);
      history.seqs.push(k + 1);
    }
    history.values.set(entity, r.rating);
  });
  return byContext;
}

function contextMean(history: ContextHistory): number {
  let sum = 0;
  for (const value of history.values.values()) sum += value;
  return sum / history.values.size;
}

/** One link of a pair: the two values (x for the lower entity) and the context's mean. */
interface Link {
  readonly x: number;
  readonly y: number;
  readonly mean: number;
}

function measureOf(links: readonly Link[], measure: SimilarityMeasure, shrinkage: number): number {
  const n = links.length;
  let raw: number;
  if (measure === 'pearson') {
    const mx = links.reduce((s, l) => s + l.x, 0) / n;
    const my = links.reduce((s, l) => s + l.y, 0) / n;
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (const { x, y } of links) {
      xy += (x - mx) * (y - my);
      xx += (x - mx) ** 2;
      yy += (y - my) ** 2;
    }
    raw = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
  } else {
    const centre = measure === 'adjusted-cosine';
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (const { x, y, mean } of links) {
      const cx = centre ? x - mean : x;
      const cy = centre ? y - mean : y;
      xy += cx * cy;
      xx += cx * cx;
      yy += cy * cy;
    }
    raw = xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
  }
  return (n / (n + shrinkage)) * raw;
}

function evaluate(linksByPair: Map<string, Link[]>, measure: SimilarityMeasure, shrinkage: number): Map<string, PairValue> {
  const result = new Map<string, PairValue>();
  for (const [key, links] of linksByPair) result.set(key, { sim: measureOf(links, measure, shrinkage), support: links.length });
  return result;
}

/** The textbook definition: every pair over all co-rated contexts of the final ratings. */
export function textbookSimilarities(
  stream: readonly IndexedRating[],
  kind: SimilarityKind,
  measure: SimilarityMeasure,
  shrinkage: number,
): Map<string, PairValue> {
  const linksByPair = new Map<string, Link[]>();
  for (const history of histories(stream, kind).values()) {
    const mean = contextMean(history);
    const rated = [...history.values.entries()];
    for (const [a, x] of rated) {
      for (const [b, y] of rated) {
        if (a >= b) continue;
        const key = pairKey(a, b);
        if (!linksByPair.has(key)) linksByPair.set(key, []);
        linksByPair.get(key)!.push({ x, y, mean });
      }
    }
  }
  return evaluate(linksByPair, measure, shrinkage);
}

/**
 * The capped definition, and with `prune` the pruning sweeps replayed on individual links: every
 * `pruneAfter` events a pair with fewer than `minSupport` links born `pruneAfter` or more events
 * earlier is forgotten with its links; a later link starts a new pair.
 */
export function cappedSimilarities(
  stream: readonly IndexedRating[],
  kind: SimilarityKind,
  measure: SimilarityMeasure,
  shrinkage: number,
  historyCap: number,
  prune?: { minSupport: number; pruneAfter: number },
): Map<string, PairValue> {
  interface TimedLink extends Link {
    readonly time: number;
    readonly key: string;
  }
  const links: TimedLink[] = [];
  for (const history of histories(stream, kind).values()) {
    const mean = contextMean(history);
    const { entities, seqs, values } = history;
    for (let p = 0; p < entities.length; p++) {
      for (let q = Math.max(0, p - historyCap); q < p; q++) {
        const [a, b] = [entities[p]!, entities[q]!];
        const [lower, upper] = a < b ? [a, b] : [b, a];
        links.push({ key: pairKey(a, b), x: values.get(lower)!, y: values.get(upper)!, mean, time: Math.max(seqs[p]!, seqs[q]!) });
      }
    }
  }
  links.sort((l, m) => l.time - m.time);
  const live = new Map<string, { birth: number; links: Link[] }>();
  let nextSweep = prune?.pruneAfter ?? Infinity;
  const sweep = (now: number) => {
    for (const [key, pair] of live) if (pair.links.length < prune!.minSupport && now - pair.birth >= prune!.pruneAfter) live.delete(key);
  };
  for (const link of links) {
    for (; nextSweep < link.time; nextSweep += prune!.pruneAfter) sweep(nextSweep);
    let pair = live.get(link.key);
    if (!pair) live.set(link.key, (pair = { birth: link.time, links: [] }));
    pair.links.push(link);
  }
  for (; nextSweep <= stream.length; nextSweep += prune!.pruneAfter) sweep(nextSweep);
  return evaluate(new Map([...live].map(([key, pair]) => [key, pair.links])), measure, shrinkage);
}

/**
 * |got − expected| relative to |expected|. Below 1e-6 the error is taken relative to 1e-6: a
 * two-pass sum leaves ~1e-17 of rounding where the exact integer sums give 0.
 */
export function relativeError(got: number, expected: number): number {
  return Math.abs(got - expected) / Math.max(Math.abs(expected), 1e-6);
}

type Neighbours = Array<{ id: number; sim: number; support: number }>;
const partnersCache = new WeakMap<Map<string, PairValue>, Map<number, Neighbours>>();

/** The N best neighbours of `entity` with positive similarity, ties to the lower id. */
export function batchNeighbours(values: Map<string, PairValue>, entity: number, count: number): Neighbours {
  let partners = partnersCache.get(values);
  if (!partners) {
    partners = new Map();
    for (const [key, { sim, support }] of values) {
      if (!(sim > 0)) continue;
      const [a, b] = key.split(',').map(Number) as [number, number];
      for (const [self, other] of [
        [a, b],
        [b, a],
      ] as const) {
        if (!partners.has(self)) partners.set(self, []);
        partners.get(self)!.push({ id: other, sim, support });
      }
    }
    partnersCache.set(values, partners);
  }
  return [...(partners.get(entity) ?? [])].sort((x, y) => y.sim - x.sim || x.id - y.id).slice(0, count);
}

/**
 * `got` is `entity`'s top-N under `expected`: ranked by sim with ties to the lower id, the same
 * sequence of sims as the batch list, and every member's sim and support those of the batch
 * pair. Equal sims may be computed a few ulps apart (different sums, same value), so members
 * tied to rounding may swap places or trade the last place: that is the only freedom allowed.
 */
export function assertTopN(
  got: ReadonlyArray<{ id: number; sim: number; support: number }>,
  expected: Map<string, PairValue>,
  entity: number,
  count: number,
  label: string,
): void {
  const want = batchNeighbours(expected, entity, count);
  const fail = (why: string) => {
    throw new Error(`${label}: ${why}\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
  };
  if (got.length !== want.length) fail('lengths differ');
  for (let k = 0; k < got.length; k++) {
    const { id, sim, support } = got[k]!;
    if (k > 0 && (got[k - 1]!.sim < sim || (got[k - 1]!.sim === sim && got[k - 1]!.id > id))) fail(`not ranked at ${k}`);
    if (relativeError(sim, want[k]!.sim) > 1e-9) fail(`sim at ${k}`);
    const pair = expected.get(pairKey(entity, id));
    if (!pair || relativeError(sim, pair.sim) > 1e-9 || pair.support !== support) fail(`member ${id} is not the batch pair`);
  }
}
