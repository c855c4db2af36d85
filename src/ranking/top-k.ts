/**
 * Top-k selection over a score array with a size-k min-heap: O(n log k), no full sort, no
 * allocation beyond the result. Ties break towards the lower item index so lists are
 * deterministic.
 */
export interface ScoredIndex {
  readonly index: number;
  readonly score: number;
}

export function topK(scores: Float64Array, count: number, k: number, excluded: (index: number) => boolean): ScoredIndex[] {
  const heapIndex = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  // "a ranks below b": lower score, or equal score and higher index.
  const below = (sa: number, ia: number, sb: number, ib: number) => sa < sb || (sa === sb && ia > ib);
  const siftDown = (from: number) => {
    let parent = from;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= size) return;
      const right = left + 1;
      let lowest = left;
      if (right < size && below(heapScore[right]!, heapIndex[right]!, heapScore[left]!, heapIndex[left]!)) lowest = right;
      if (!below(heapScore[lowest]!, heapIndex[lowest]!, heapScore[parent]!, heapIndex[parent]!)) return;
      swap(parent, lowest);
      parent = lowest;
    }
  };
  const swap = (a: number, b: number) => {
    const i = heapIndex[a]!;
    heapIndex[a] = heapIndex[b]!;
    heapIndex[b] = i;
    const s = heapScore[a]!;
    heapScore[a] = heapScore[b]!;
    heapScore[b] = s;
  };
  for (let index = 0; index < count; index++) {
    const score = scores[index]!;
    if (score === -Infinity || Number.isNaN(score)) continue;
    if (size === k && !below(heapScore[0]!, heapIndex[0]!, score, index)) continue;
    if (excluded(index)) continue;
    if (size < k) {
      let child = size++;
      heapIndex[child] = index;
      heapScore[child] = score;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!below(heapScore[child]!, heapIndex[child]!, heapScore[parent]!, heapIndex[parent]!)) break;
        swap(child, parent);
        child = parent;
      }
    } else {
      heapIndex[0] = index;
      heapScore[0] = score;
      siftDown(0);
    }
  }
  const result: ScoredIndex[] = [];
  for (let i = 0; i < size; i++) result.push({ index: heapIndex[i]!, score: heapScore[i]! });
  return result.sort((a, b) => b.score - a.score || a.index - b.index);
}
