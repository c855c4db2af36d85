/**
 * Similarity measures over the ratings two entities share (two items co-rated by users, or two
 * users who rated the same items), from their sufficient statistics, with significance
 * shrinkage. Over the co-rated set with n entries, values x (first entity) and y (second):
 *
 *   pearson          (n Σxy − Σx Σy) / sqrt((n Σx² − (Σx)²)(n Σy² − (Σy)²))
 *                    (means over the common set, as Surprise's `pearson`)
 *   cosine           Σxy / sqrt(Σx² Σy²)
 *   adjusted-cosine  Σ(x − m_c)(y − m_c) / sqrt(Σ(x − m_c)² Σ(y − m_c)²), m_c the mean of all
 *                    of the shared context's ratings (a user's mean for item-item, an item's
 *                    mean for user-user): Sarwar et al. 2001
 *
 *   shrunk sim = n / (n + λ) · sim        (Koren 2010, §2.2, with λ = 100)
 *
 * A zero denominator (n = 1, or constant ratings) gives 0, as in Surprise.
 *
 * References: B. Sarwar, G. Karypis, J. Konstan, J. Riedl, "Item-based collaborative filtering
 * recommendation algorithms", WWW 2001; Y. Koren, "Factor in the neighbors", ACM TKDD 4(1),
 * 2010; Surprise, surprise/similarities.pyx.
 */
export type SimilarityMeasure = 'pearson' | 'cosine' | 'adjusted-cosine';

export const SIMILARITY_MEASURES: readonly SimilarityMeasure[] = ['pearson', 'cosine', 'adjusted-cosine'];

/** λ of the significance shrinkage n / (n + λ); 100 as in common KNN-baseline practice. */
export const DEFAULT_SHRINKAGE = 100;

export function pearson(n: number, sx: number, sy: number, sxx: number, syy: number, sxy: number): number {
  const varianceProduct = (n * sxx - sx * sx) * (n * syy - sy * sy);
  return varianceProduct > 0 ? (n * sxy - sx * sy) / Math.sqrt(varianceProduct) : 0;
}

export function cosine(sxx: number, syy: number, sxy: number): number {
  const normProduct = sxx * syy;
  return normProduct > 0 ? sxy / Math.sqrt(normProduct) : 0;
}

/** Adjusted cosine from the centred sums Σ(x − m)(y − m), Σ(x − m)², Σ(y − m)². */
export function centredCosine(cxx: number, cyy: number, cxy: number): number {
  const normProduct = cxx * cyy;
  return normProduct > 0 ? cxy / Math.sqrt(normProduct) : 0;
}

export function shrink(similarity: number, support: number, shrinkage: number): number {
  return (support / (support + shrinkage)) * similarity;
}

export function parseMeasure(name: string): SimilarityMeasure {
  if ((SIMILARITY_MEASURES as readonly string[]).includes(name)) return name as SimilarityMeasure;
  throw new Error(`unknown similarity measure '${name}': use one of ${SIMILARITY_MEASURES.join(', ')}`);
}
