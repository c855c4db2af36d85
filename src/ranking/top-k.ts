/**
 * Top-k selection over a score array with a size-k min-heap: O(n log k), no full sort, no
 * allocation beyond the result. The heap is sorted in place at the end (heapsort): sorting the
 * result objects with a comparator took about a third of a call. Ties break towards the lower
 * item index so lists are deterministic.
 */
import { KernelMemory, simdKernels } from '../kernels/wasm-kernels.js';

export interface ScoredIndex {
  readonly index: number;
  readonly score: number;
}

/** The SIMD kernel's memory for `topKExcluding` (one per thread, as `topK`'s heap arrays below). */
let kernels: KernelMemory | undefined;

/**
 * `topK(scores, count, k, (index) => excluded.has(index))`, by the SIMD kernel where it runs
 * (the same list): the candidate scans of the ensemble, which excludes what a user rated. The
 * kernel reads a copy of the scores in which the excluded items' are -Infinity (never listed).
 */
export function topKExcluding(scores: Float64Array, count: number, k: number, excluded: ReadonlySet<number>): ScoredIndex[] {
  if (!simdKernels || k <= 0) return topK(scores, count, k, (index) => excluded.has(index));
  if (scores.length < count) throw new RangeError(`topKExcluding: ${count} items, ${scores.length} scores`);
  // Float64s: the list's scores [0, k), the scores [k, k + count), then the list's indexes (int32s).
  const listIndexesAt = 2 * (k + count);
  kernels ??= new KernelMemory(0);
  const memory = kernels.reserve(Math.ceil((listIndexesAt + k) / 2));
  memory.set(scores.subarray(0, count), k);
  for (const index of excluded) if (index >= 0 && index < count) memory[k + index] = -Infinity;
  const size = kernels.topK(k, count, k, 0, listIndexesAt);
  const indexes = kernels.i32;
  const result: ScoredIndex[] = [];
  for (let i = 0; i < size; i++) result.push({ index: indexes[listIndexesAt + i]!, score: memory[i]! });
  return result;
}

/** The heap's arrays, reused by every call (allocating typed arrays costs more than a short scan). */
let heapIndexes = new Int32Array(64);
let heapScores = new Float64Array(64);

export function topK(scores: Float64Array, count: number, k: number, excluded: (index: number) => boolean): ScoredIndex[] {
  // A min-heap of the k best so far, root = the worst kept ("a ranks below b": lower score, or
  // equal score and higher index). Written without closures over mutable locals, which V8 keeps
  // in a heap context: this loop is the hot path of every list refresh (3-4x faster so).
  if (k <= 0) return [];
  if (heapIndexes.length < k) [heapIndexes, heapScores] = [new Int32Array(k), new Float64Array(k)];
  const heapIndex = heapIndexes;
  const heapScore = heapScores;
  let size = 0;
  // Items come in increasing index, so one that ties the root ranks below it: an item enters
  // only with a score above the root's (above -Infinity while the heap fills, which NaN never is).
  let threshold = -Infinity;
  for (let index = 0; index < count; index++) {
    // Four at a time past the ones that cannot enter: most items, once the heap is full.
    if (index + 3 < count && noneAbove(scores, index, threshold)) {
      index += 3;
      continue;
    }
    const score = scores[index]!;
    if (!(score > threshold) || excluded(index)) continue;
    if (size < k) {
      // Sift up from the new leaf: it ranks below every equal score already kept.
      let child = size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        const ps = heapScore[parent]!;
        if (score > ps) break;
        heapScore[child] = ps;
        heapIndex[child] = heapIndex[parent]!;
        child = parent;
      }
      heapScore[child] = score;
      heapIndex[child] = index;
      if (size === k) threshold = heapScore[0]!;
    } else {
      siftDown(heapIndex, heapScore, size, index, score);
      threshold = heapScore[0]!;
    }
  }
  // Heapsort: each step moves the worst kept to the end of the shrinking heap, so the arrays end best first.
  for (let last = size - 1; last > 0; last--) {
    const index = heapIndex[last]!;
    const score = heapScore[last]!;
    heapIndex[last] = heapIndex[0]!;
    heapScore[last] = heapScore[0]!;
    siftDown(heapIndex, heapScore, last, index, score);
  }
  const result: ScoredIndex[] = [];
  for (let i = 0; i < size; i++) result.push({ index: heapIndex[i]!, score: heapScore[i]! });
  return result;
}

/** Whether none of scores[at..at+3] is above `threshold` (NaN is not), with one branch for the four. */
function noneAbove(scores: Float64Array, at: number, threshold: number): boolean {
  const above =
    Number(scores[at]! > threshold) | Number(scores[at + 1]! > threshold) | Number(scores[at + 2]! > threshold) | Number(scores[at + 3]! > threshold);
  return above === 0;
}

/** Put (index, score) at the root of the heap of `size` entries and sift it down to its place. */
function siftDown(heapIndex: Int32Array, heapScore: Float64Array, size: number, index: number, score: number): void {
  let parent = 0;
  for (;;) {
    const left = 2 * parent + 1;
    if (left >= size) break;
    const right = left + 1;
    let lowest = left;
    if (right < size) {
      const rs = heapScore[right]!;
      const ls = heapScore[left]!;
      if (rs < ls || (rs === ls && heapIndex[right]! > heapIndex[left]!)) lowest = right;
    }
    const lowestScore = heapScore[lowest]!;
    if (!(lowestScore < score || (lowestScore === score && heapIndex[lowest]! > index))) break;
    heapScore[parent] = lowestScore;
    heapIndex[parent] = heapIndex[lowest]!;
    parent = lowest;
  }
  heapScore[parent] = score;
  heapIndex[parent] = index;
}

/**
 * Where `item` would stand in `topK(scores, count, k, excluded)` (1-based), or 0 when it would
 * not be listed: the same order (higher score first, ties to the lower index), found by counting
 * the items that rank above it, which stops at k. The prequential measure needs only the picked
 * item's place, and a count is a fraction of a heap's work.
 */
export function rankInTopK(scores: Float64Array, count: number, k: number, item: number, excluded: (index: number) => boolean): number {
  if (k <= 0 || item < 0 || item >= count || excluded(item)) return 0;
  const score = scores[item]!;
  // topK keeps only scores above -Infinity (NaN never is).
  if (!(score > -Infinity)) return 0;
  let above = 0;
  for (let index = 0; index < count; index++) {
    const other = scores[index]!;
    if (other > score || (other === score && index < item)) {
      if (excluded(index)) continue;
      if (++above === k) return 0;
    }
  }
  return above + 1;
}
