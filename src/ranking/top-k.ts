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
  // A min-heap of the k best so far, root = the worst kept ("a ranks below b": lower score, or
  // equal score and higher index). Written without closures over mutable locals, which V8 keeps
  // in a heap context: this loop is the hot path of every list refresh (3-4x faster so).
  const heapIndex = new Int32Array(k);
  const heapScore = new Float64Array(k);
  let size = 0;
  for (let index = 0; index < count; index++) {
    const score = scores[index]!;
    if (score === -Infinity || score !== score) continue;
    if (size === k) {
      const rootScore = heapScore[0]!;
      if (score < rootScore || (score === rootScore && index > heapIndex[0]!)) continue;
    }
    if (excluded(index)) continue;
    if (size < k) {
      // Sift up from the new leaf.
      let child = size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        const ps = heapScore[parent]!;
        if (!(score < ps || (score === ps && index > heapIndex[parent]!))) break;
        heapScore[child] = ps;
        heapIndex[child] = heapIndex[parent]!;
        child = parent;
      }
      heapScore[child] = score;
      heapIndex[child] = index;
    } else {
      // Replace the root and sift down.
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
  }
  const result: ScoredIndex[] = [];
  for (let i = 0; i < size; i++) result.push({ index: heapIndex[i]!, score: heapScore[i]! });
  return result.sort((a, b) => b.score - a.score || a.index - b.index);
}
