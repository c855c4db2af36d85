/**
 * A MovieLens-shaped synthetic dataset, deterministic for a seed, for tests, benchmarks and the
 * demo on machines where MovieLens cannot be downloaded (and may not be redistributed).
 *
 * Rating model (k = 8 latent factors), rounded to the nearest star and clamped to 1–5:
 *
 *   r_ui = μ + b_u + b_i + p_u · q_i + ε,   ε ~ N(0, σ²), minus a fixed drop for an occasional dislike
 *   p_u  = A[age bucket] + G[gender] + O[occupation] + user noise
 *   q_i  = Σ_{g ∈ genres(i)} E[g] / √|genres(i)| + item noise
 *   b_i  = popularity term + mean genre bias + item noise,  b_u = small age trend + user noise
 *
 * so side features (genres, age, gender, occupation) carry real signal that a model can learn.
 *
 * Choice model: each user rates 20 + a log-normal number of distinct items, drawn one after
 * another without replacement with
 *
 *   P(u picks i) ∝ w_i · exp(β a_ui),   w_i ∝ (popularity rank_i + c)^-1.6
 *   a_ui = ρ · p_u · q_i / s + √(1 − ρ²) · c_u · d_i / s'
 *   c_u  = A'[age bucket] + G'[gender] + O'[occupation] + user noise,  d_i = Σ_g E'[g] / √|genres(i)| + item noise
 *
 * (s, s': the standard deviations of p_u · q_i and c_u · d_i over the catalogue within a user, so
 * a_ui has unit spread and β means the same whatever the seed's embeddings). c_u and d_i are
 * choice-only factors, built like p_u and q_i from their own embeddings on their own random
 * stream: people choose films by more than how much they will like them (what friends watch,
 * what is on, a favourite actor), so choice shares only part (ρ = 0.5) of its taste with rating.
 * Which items a user rates thus depends on their taste and on genres and demographics; users rate
 * what they tend to like (chosen items skew high, as in real data), and what a user rates next is
 * predictable from what they rated before. Both factor pairs are fixed per user, so choice
 * persists over all their sessions. Were choice by taste alone (ρ = 1), users would rate mostly
 * films they like, which leaves little p_u · q_i spread among the chosen items: MF and item-kNN
 * would no longer beat the biases on RMSE as they do on ML-100K. β, ρ and the popularity exponent
 * are calibrated to ML-100K's ranking facts (most-popular P@10 ≈ 0.23, item-kNN ≈ 1.5× that,
 * prequential most-rated-so-far hit@10 ≈ 0.095, most-rated item ≈ 583 ratings) and to MF and
 * item-kNN beating the Baseline prequentially; μ is centred on the chosen items so the ratings
 * keep ML-100K's distribution (bench/synthetic-calibration.ts prints the ranking facts and the
 * distribution). Sampling is exact: per user, the weights go into a reused Float64Array, scaled
 * to integers, and a Fenwick tree over them is built in O(items), then each draw is O(log items)
 * and removes the drawn item, so there is no rejection loop even for dense users. That is
 * O(items · 2k) per user: ML-1M's size takes about 3 s, a 10M-rating set (71,567 users × 10,681
 * items) a minute or two.
 *
 * Users arrive one after another over the ML-100K window (Sept 1997 – Apr 1998) and rate in
 * sessions, so a timestamp-ordered replay interleaves them. Ids are 1..users and 1..items as in
 * ML-100K.
 *
 * Memory is O(users + items) in typed arrays; ratings are generated one user at a time.
 *
 *   const synthetic = createSyntheticMovieLens({ users: 943, items: 1682, ratings: 100_000, seed: 42 });
 *   for (const user of synthetic.ratingsByUser()) user.itemIds; // Int32Array of 1-based item ids
 */
import { createRng, deriveSeed, type Rng } from '../random.js';
import type { RatingRow } from './rows.js';
import { ML100K_GENRES, ML100K_OCCUPATIONS } from './vocabulary.js';

export interface SyntheticSpec {
  readonly users: number;
  readonly items: number;
  readonly ratings: number;
  readonly seed: number;
}

/** Bump when the generator's output changes for a given spec, so cached sets are regenerated. */
export const GENERATOR_VERSION = 3;

/** The size of MovieLens 100K, with seed 42. */
export const ML100K_SHAPE: SyntheticSpec = { users: 943, items: 1682, ratings: 100_000, seed: 42 };

/** The size of MovieLens 1M, with seed 42 (benchmarks of batch fits at scale). */
export const ML1M_SHAPE: SyntheticSpec = { users: 6040, items: 3706, ratings: 1_000_209, seed: 42 };

/** MovieLens guarantees every user at least this many ratings; so does the generator. */
export const MIN_RATINGS_PER_USER = 20;

export interface SyntheticItem {
  readonly itemId: number;
  readonly title: string;
  /** `01-Jan-1995`, or '' for the rare item without a date (as in ML-100K). */
  readonly releaseDate: string;
  readonly year?: number;
  /** Indices into ML100K_GENRES. */
  readonly genreIndices: readonly number[];
}

export interface SyntheticUser {
  readonly userId: number;
  readonly age: number;
  readonly gender: 'M' | 'F';
  /** One of ML100K_OCCUPATIONS. */
  readonly occupation: string;
  readonly zip: string;
}

/** One user's ratings, in the order they were made. */
export interface UserRatings {
  readonly userId: number;
  readonly itemIds: Int32Array;
  readonly ratings: Uint8Array;
  /** Unix seconds, non-decreasing. */
  readonly seconds: Float64Array;
}

export interface SyntheticMovieLens {
  readonly spec: SyntheticSpec;
  items(): Generator<SyntheticItem>;
  users(): Generator<SyntheticUser>;
  /** Users in id order; calling it again replays the same ratings. */
  ratingsByUser(): Generator<UserRatings>;
  /**
   * The true log choice weight of a user (1-based) for an item (1-based), log w_i + β a_ui (the
   * choice affinity, see the header), up to a per-user constant: what an oracle that knows the
   * factors ranks by.
   */
  logChoiceWeight(userId: number, itemId: number): number;
}

/** Why `spec` cannot be generated, or undefined when it can. */
export function syntheticSpecProblem(spec: SyntheticSpec): string | undefined {
  for (const name of ['users', 'items', 'ratings'] as const) {
    const value = spec[name];
    if (!Number.isSafeInteger(value) || value < 1) return `${name} must be a positive integer, got ${value}`;
  }
  if (!Number.isSafeInteger(spec.seed)) return `seed must be an integer, got ${spec.seed}`;
  if (spec.users > 0x7fffffff || spec.items > 0x7fffffff) return 'users and items must each be below 2^31';
  if (spec.ratings < MIN_RATINGS_PER_USER * spec.users) {
    return `ratings (${spec.ratings}) must be at least ${MIN_RATINGS_PER_USER} per user (${MIN_RATINGS_PER_USER * spec.users} for ${spec.users} users)`;
  }
  if (spec.ratings > spec.users * spec.items) {
    return `ratings (${spec.ratings}) cannot exceed users × items (${spec.users * spec.items}): a user rates an item at most once`;
  }
  return undefined;
}

const FACTORS = 8;
/** The mean of the latent score before the dislike drop, rounding and clamping (which lower it to ~3.54). */
const GLOBAL_MEAN = 3.75;
/**
 * Now and then a user strongly dislikes a movie: without this left tail, rounded Gaussian ratings
 * have half of ML-100K's share of 1s (6%). Tuned with the rest to ML-100K's distribution
 * (1: 6%, 2: 11%, 3: 27%, 4: 34%, 5: 21%, mean 3.53).
 */
const DISLIKE_SHARE = 0.08;
const DISLIKE_DROP = 2.3;
/**
 * ε's spread. 0.55 when users chose by taste alone; choosing partly by other things (ρ below) keeps
 * more of the p_u · q_i spread among the rated items, so ε gives some of it back, which keeps the
 * distribution and the Baseline's prequential RMSE near ML-100K's (0.98 here vs 0.954 real).
 */
const NOISE_SD = 0.45;
const USER_BIAS_SD = 0.35;
const ITEM_BIAS_SD = 0.3;
const POPULARITY_BIAS = 0.2;
const GENRE_BIAS_SD = 0.15;
/** Per-dimension standard deviations of the side-feature parts and the free parts of the factors. */
const GENRE_FACTOR_SD = 0.4;
/**
 * 0.3 when users chose by taste alone: choosing what one likes amplified the demographic genre
 * gaps in the observed means, and with that gone 0.35 keeps them clearly beyond chance.
 */
const DEMOGRAPHIC_FACTOR_SD = 0.35;
const ITEM_FACTOR_NOISE_SD = 0.3;
const USER_FACTOR_NOISE_SD = 0.44;
/**
 * Zipf-like popularity: weight ∝ (rank + offset)^-exponent, offset as a share of the catalogue.
 * Steeper than the counts it yields, since the choice tilt spreads them: at ML-100K's size the
 * top 10% of items hold ~43% of ratings and the most rated has ~600 (ML: 583).
 */
const POPULARITY_OFFSET_SHARE = 0.03;
const POPULARITY_EXPONENT = 1.6;
/** Log-normal spread of the extra ratings per user beyond the minimum (ML-100K: mean/median ≈ 1.9). */
const ACTIVITY_SIGMA = 1.14;
/** The heaviest ML-100K user rated 44% of the catalogue. */
const MAX_CATALOGUE_SHARE_PER_USER = 0.5;
/**
 * β, how strongly the choice affinity a_ui tilts a user's choice away from popularity, per
 * standard deviation of a_ui within a user (a_ui has unit spread by construction): an item one
 * deviation closer to what the user picks is e^1.7 ≈ 5.5 times as likely to be chosen. Set so that
 * ML-100K's ranking facts hold together (most-popular P@10 ≈ 0.2, a SAR-like item-kNN about 1.5×
 * that, prequential most-popular hit@10 ≈ 0.085); bench/synthetic-calibration.ts measures them.
 */
const CHOICE_STRENGTH = 1.7;
/**
 * ρ, the correlation of choice affinity with rating affinity p_u · q_i within a user: taste
 * explains ρ² = 25% of why a user picks a film, the choice-only factors c_u · d_i the rest. With
 * ρ = 1 (choice by taste alone) the selection on p_u · q_i leaves too little of it among the
 * chosen items for MF or item-kNN to beat the biases prequentially (MF 0.955 vs Baseline 0.955
 * RMSE, while real ML-100K has 0.948 vs 0.954); ρ = 0.5 restores a clear margin (on ML100K_SHAPE,
 * seed 42, prequential replay: Baseline 0.981, MF 0.967, knn-item 0.960) and leaves the ranking
 * facts in range. ρ = 0.6 or 0.7 leaves MF only 0.003–0.006 ahead.
 */
const TASTE_SHARE = 0.5;
/** Users sampled to measure the affinity spread and centre the mean rating, cheap at any size. */
const EXPECTATION_USERS = 1000;

const WINDOW_START = 874_724_710; // 1997-09-20, the first ML-100K rating
const WINDOW_END = 893_286_638; // 1998-04-22, the last
/** Users arrive over the first 90% of the window so late arrivals still have time to rate. */
const ARRIVAL_SPAN = 0.9 * (WINDOW_END - WINDOW_START);
const MEAN_SECONDS_BETWEEN_RATINGS = 30;

/** ML-1M's age buckets by lower bound: under 18, 18–24, 25–34, 35–44, 45–49, 50–55, 56+. */
const AGE_BUCKET_BOUNDS = [18, 25, 35, 45, 50, 56];
/** Genre shares of ML-100K's u.item, index-aligned with ML100K_GENRES ('unknown' is never drawn). */
const GENRE_WEIGHTS = [0, 251, 135, 42, 122, 505, 109, 50, 725, 22, 24, 92, 56, 61, 247, 101, 251, 71, 27];
/** Genres per movie: 1, 2, 3 or 4, with ML-100K's rough shares. */
const GENRE_COUNT_WEIGHTS = [0.5, 0.33, 0.14, 0.03];
/** ML-100K's u.user occupation counts, index-aligned with ML100K_OCCUPATIONS. */
const OCCUPATION_WEIGHTS = [79, 28, 7, 95, 67, 18, 32, 16, 7, 12, 51, 26, 9, 105, 66, 14, 12, 31, 196, 27, 45];
const STUDENT = ML100K_OCCUPATIONS.indexOf('student');
const RETIRED = ML100K_OCCUPATIONS.indexOf('retired');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Latin-1 letters on purpose, so the u.item writer and readers are exercised on them. */
const TITLE_ADJECTIVES = [
  'Silent',
  'Last',
  'Crimson',
  'Naïve',
  'Lost',
  'Broken',
  'Golden',
  'Wild',
  'Hidden',
  'Dark',
  'Little',
  'Endless',
  'Frozen',
  'Secret',
  'Electric',
  'Bitter',
];
const TITLE_NOUNS = [
  'Café',
  'River',
  'Summer',
  'Señorita',
  'Garden',
  'Stranger',
  'Château',
  'Kingdom',
  'Promise',
  'Mirror',
  'Harbor',
  'Fiancée',
  'Storm',
  'Highway',
  'Orchard',
  'Piñata',
  'Witness',
  'Carnival',
];

const STREAM_ITEMS = 1;
const STREAM_EMBEDDINGS = 2;
const STREAM_USERS = 3;
const STREAM_RATINGS = 4;
const STREAM_TITLES = 5;
const STREAM_ZIPS = 6;
const STREAM_CHOICE_FACTORS = 7;

export function createSyntheticMovieLens(spec: SyntheticSpec): SyntheticMovieLens {
  const problem = syntheticSpecProblem(spec);
  if (problem) throw new Error(`cannot generate synthetic data: ${problem}`);
  const catalogue = buildCatalogue(spec);
  return {
    spec,
    items: () => generateItems(spec, catalogue),
    users: () => generateUsers(spec, catalogue),
    ratingsByUser: () => generateRatings(spec, catalogue),
    logChoiceWeight: (userId, itemId) => catalogue.itemLogWeight[itemId - 1]! + choiceTilt(catalogue, userId - 1, itemId - 1),
  };
}

/**
 * The synthetic ratings as the rows a reader of the written u.data would yield (ts in epoch ms,
 * line = the line in u.data), without touching the file system.
 */
export function* syntheticRatingRows(spec: SyntheticSpec): Generator<RatingRow> {
  let line = 0;
  for (const user of createSyntheticMovieLens(spec).ratingsByUser()) {
    const userId = String(user.userId);
    for (let j = 0; j < user.itemIds.length; j++) {
      yield { userId, itemId: String(user.itemIds[j]), rating: user.ratings[j]!, ts: user.seconds[j]! * 1000, line: ++line };
    }
  }
}

/** Everything drawn once per item and per user, in typed arrays. */
interface Catalogue {
  readonly itemGenreMask: Uint32Array;
  /** Release year, 0 when the item has no date. */
  readonly itemYear: Uint16Array;
  readonly itemMonth: Uint8Array;
  readonly itemDay: Uint8Array;
  /** log w_i, the popularity part of the choice weight (0 for the most popular item). */
  readonly itemLogWeight: Float64Array;
  readonly itemBias: Float32Array;
  readonly itemFactors: Float32Array;
  readonly userAge: Uint8Array;
  readonly userFemale: Uint8Array;
  readonly userOccupation: Uint8Array;
  readonly userBias: Float32Array;
  readonly userFactors: Float32Array;
  readonly userRatingCount: Int32Array;
  readonly userArrival: Float64Array;
  /** μ less the expected bias and interaction terms, so the mean rating does not drift with the seed. */
  readonly centredMean: number;
  /**
   * Per user, the 2k-dimensional choice vector [β ρ / s · p_u, β √(1−ρ²) / s' · c_u], so that its
   * dot product with itemChoiceFactors is β a_ui.
   */
  readonly userChoiceFactors: Float32Array;
  /** Per item, [q_i, d_i]. */
  readonly itemChoiceFactors: Float32Array;
}

function buildCatalogue(spec: SyntheticSpec): Catalogue {
  const embeddingRng = createRng(deriveSeed(spec.seed, STREAM_EMBEDDINGS));
  const genreEmbedding = gaussianMatrix(embeddingRng, ML100K_GENRES.length, GENRE_FACTOR_SD);
  const genreBias = Float32Array.from(ML100K_GENRES, () => GENRE_BIAS_SD * embeddingRng.normal());
  // The three demographic parts share the demographic variance.
  const demographicPartSd = DEMOGRAPHIC_FACTOR_SD / Math.sqrt(3);
  const ageEmbedding = gaussianMatrix(embeddingRng, AGE_BUCKET_BOUNDS.length + 1, demographicPartSd);
  const genderEmbedding = gaussianMatrix(embeddingRng, 2, demographicPartSd);
  const occupationEmbedding = gaussianMatrix(embeddingRng, ML100K_OCCUPATIONS.length, demographicPartSd);

  const items = buildItems(spec, genreEmbedding, genreBias);
  const users = buildUsers(spec, ageEmbedding, genderEmbedding, occupationEmbedding);
  const choice = { ...items, ...users, ...buildChoiceFactors(spec, items, users) };
  return { ...choice, centredMean: GLOBAL_MEAN - expectedTerms(choice) };
}

/**
 * The choice-only factors c_u, d_i, built like p_u, q_i (from genres and demographics, with their
 * own embeddings, plus noise) on their own random stream, so the rating side does not change with
 * them; then both factor pairs are scaled into one 2k-dimensional dot product equal to β a_ui.
 */
function buildChoiceFactors(
  spec: SyntheticSpec,
  items: { itemGenreMask: Uint32Array; itemFactors: Float32Array },
  users: { userAge: Uint8Array; userFemale: Uint8Array; userOccupation: Uint8Array; userFactors: Float32Array },
): { userChoiceFactors: Float32Array; itemChoiceFactors: Float32Array } {
  const rng = createRng(deriveSeed(spec.seed, STREAM_CHOICE_FACTORS));
  const genreEmbedding = gaussianMatrix(rng, ML100K_GENRES.length, GENRE_FACTOR_SD);
  const demographicPartSd = DEMOGRAPHIC_FACTOR_SD / Math.sqrt(3);
  const ageEmbedding = gaussianMatrix(rng, AGE_BUCKET_BOUNDS.length + 1, demographicPartSd);
  const genderEmbedding = gaussianMatrix(rng, 2, demographicPartSd);
  const occupationEmbedding = gaussianMatrix(rng, ML100K_OCCUPATIONS.length, demographicPartSd);

  const itemCount = spec.items;
  const otherItemFactors = new Float32Array(itemCount * FACTORS);
  for (let item = 0; item < itemCount; item++) {
    const mask = items.itemGenreMask[item]!;
    const genres = ML100K_GENRES.map((_, genre) => genre).filter((genre) => mask & (1 << genre));
    const norm = 1 / Math.sqrt(genres.length);
    for (let f = 0; f < FACTORS; f++) {
      let value = ITEM_FACTOR_NOISE_SD * rng.normal();
      for (const genre of genres) value += genreEmbedding[genre * FACTORS + f]! * norm;
      otherItemFactors[item * FACTORS + f] = value;
    }
  }
  const userCount = spec.users;
  const otherUserFactors = new Float32Array(userCount * FACTORS);
  for (let user = 0; user < userCount; user++) {
    const ageBucket = ageBucketOf(users.userAge[user]!);
    for (let f = 0; f < FACTORS; f++) {
      otherUserFactors[user * FACTORS + f] =
        ageEmbedding[ageBucket * FACTORS + f]! +
        genderEmbedding[users.userFemale[user]! * FACTORS + f]! +
        occupationEmbedding[users.userOccupation[user]! * FACTORS + f]! +
        USER_FACTOR_NOISE_SD * rng.normal();
    }
  }

  const tasteScale = (CHOICE_STRENGTH * TASTE_SHARE) / withinUserDotSd(users.userFactors, items.itemFactors);
  const otherScale = (CHOICE_STRENGTH * Math.sqrt(1 - TASTE_SHARE ** 2)) / withinUserDotSd(otherUserFactors, otherItemFactors);
  const userChoiceFactors = new Float32Array(userCount * 2 * FACTORS);
  for (let user = 0; user < userCount; user++) {
    for (let f = 0; f < FACTORS; f++) {
      userChoiceFactors[user * 2 * FACTORS + f] = tasteScale * users.userFactors[user * FACTORS + f]!;
      userChoiceFactors[user * 2 * FACTORS + FACTORS + f] = otherScale * otherUserFactors[user * FACTORS + f]!;
    }
  }
  const itemChoiceFactors = new Float32Array(itemCount * 2 * FACTORS);
  for (let item = 0; item < itemCount; item++) {
    itemChoiceFactors.set(items.itemFactors.subarray(item * FACTORS, (item + 1) * FACTORS), item * 2 * FACTORS);
    itemChoiceFactors.set(otherItemFactors.subarray(item * FACTORS, (item + 1) * FACTORS), item * 2 * FACTORS + FACTORS);
  }
  return { userChoiceFactors, itemChoiceFactors };
}

function buildItems(spec: SyntheticSpec, genreEmbedding: Float32Array, genreBias: Float32Array) {
  const rng = createRng(deriveSeed(spec.seed, STREAM_ITEMS));
  const count = spec.items;
  const itemGenreMask = new Uint32Array(count);
  const itemYear = new Uint16Array(count);
  const itemMonth = new Uint8Array(count);
  const itemDay = new Uint8Array(count);
  const itemLogWeight = new Float64Array(count);
  const itemBias = new Float32Array(count);
  const itemFactors = new Float32Array(count * FACTORS);

  // Popularity ranks are a random permutation of the ids, so popular items are spread over 1..M.
  const rankOf = Int32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rankOf[i], rankOf[j]] = [rankOf[j]!, rankOf[i]!];
  }
  const offset = Math.max(1, POPULARITY_OFFSET_SHARE * count);
  const logWeights = Float64Array.from(rankOf, (rank) => -POPULARITY_EXPONENT * Math.log(rank + offset));
  const { mean: logMean, sd: logSd } = meanAndSd(logWeights);
  const maxLogWeight = -POPULARITY_EXPONENT * Math.log(offset);

  for (let item = 0; item < count; item++) {
    const genres = drawGenres(rng);
    let mask = 0;
    let biasSum = 0;
    for (const genre of genres) {
      mask |= 1 << genre;
      biasSum += genreBias[genre]!;
    }
    itemGenreMask[item] = mask;

    const norm = 1 / Math.sqrt(genres.length);
    for (let f = 0; f < FACTORS; f++) {
      let value = ITEM_FACTOR_NOISE_SD * rng.normal();
      for (const genre of genres) value += genreEmbedding[genre * FACTORS + f]! * norm;
      itemFactors[item * FACTORS + f] = value;
    }

    const popularityZ = logSd > 0 ? (logWeights[item]! - logMean) / logSd : 0;
    itemBias[item] = POPULARITY_BIAS * popularityZ + biasSum / genres.length + ITEM_BIAS_SD * rng.normal();
    itemLogWeight[item] = logWeights[item]! - maxLogWeight;

    // Mostly the 1990s, as in ML-100K; one item in a thousand has no date.
    const undated = rng.next() < 0.001;
    const year = rng.next() < 0.85 ? 1998 - Math.floor(-6 * Math.log(1 - rng.next())) : 1926 + rng.int(65);
    itemYear[item] = undated ? 0 : Math.max(1926, year);
    itemMonth[item] = rng.int(12);
    itemDay[item] = 1 + rng.int(28);
  }
  return { itemGenreMask, itemYear, itemMonth, itemDay, itemLogWeight, itemBias, itemFactors };
}

function buildUsers(spec: SyntheticSpec, ageEmbedding: Float32Array, genderEmbedding: Float32Array, occupationEmbedding: Float32Array) {
  const rng = createRng(deriveSeed(spec.seed, STREAM_USERS));
  const count = spec.users;
  const userAge = new Uint8Array(count);
  const userFemale = new Uint8Array(count);
  const userOccupation = new Uint8Array(count);
  const userBias = new Float32Array(count);
  const userFactors = new Float32Array(count * FACTORS);
  const userArrival = new Float64Array(count);

  for (let user = 0; user < count; user++) {
    // ML-100K ages: 7–73, mean 34, with a bump of students in their early twenties.
    const age = rng.next() < 0.3 ? 22 + 3 * rng.normal() : 37 + 11 * rng.normal();
    userAge[user] = Math.min(73, Math.max(7, Math.round(age)));
    userFemale[user] = rng.next() < 0.29 ? 1 : 0;
    userOccupation[user] = drawOccupation(rng, userAge[user]!);
    userBias[user] = USER_BIAS_SD * rng.normal() + 0.005 * (userAge[user]! - 34);

    const ageBucket = ageBucketOf(userAge[user]!);
    for (let f = 0; f < FACTORS; f++) {
      userFactors[user * FACTORS + f] =
        ageEmbedding[ageBucket * FACTORS + f]! +
        genderEmbedding[userFemale[user]! * FACTORS + f]! +
        occupationEmbedding[userOccupation[user]! * FACTORS + f]! +
        USER_FACTOR_NOISE_SD * rng.normal();
    }
    userArrival[user] = WINDOW_START + (ARRIVAL_SPAN * (user + rng.next())) / count;
  }
  const userRatingCount = drawActivity(spec, rng);
  return { userAge, userFemale, userOccupation, userBias, userFactors, userRatingCount, userArrival };
}

/**
 * Ratings per user: the minimum plus a log-normal share of the rest, capped at the catalogue size
 * (water-filling the excess onto the other users), rounded so the total is exact.
 */
function drawActivity(spec: SyntheticSpec, rng: Rng): Int32Array {
  const count = spec.users;
  // The heaviest ML users rate about half the catalogue; only a dense spec needs more.
  const softCap = Math.floor(MAX_CATALOGUE_SHARE_PER_USER * spec.items);
  const cap = (spec.ratings <= softCap * count ? softCap : spec.items) - MIN_RATINGS_PER_USER;
  const share = Float64Array.from({ length: count }, () => Math.exp(ACTIVITY_SIGMA * rng.normal()));
  const extra = new Float64Array(count);
  const capped = new Uint8Array(count);
  let remaining = spec.ratings - MIN_RATINGS_PER_USER * count;
  for (let changed = true; changed;) {
    changed = false;
    let shareSum = 0;
    for (let user = 0; user < count; user++) if (!capped[user]) shareSum += share[user]!;
    const scale = remaining / shareSum;
    for (let user = 0; user < count; user++) {
      if (capped[user]) continue;
      extra[user] = share[user]! * scale;
      if (extra[user]! >= cap) {
        extra[user] = cap;
        capped[user] = 1;
        remaining -= cap;
        changed = true;
      }
    }
  }

  const counts = new Int32Array(count);
  let cumulative = 0;
  let assigned = 0;
  for (let user = 0; user < count; user++) {
    cumulative += extra[user]!;
    const upTo = Math.min(Math.floor(cumulative + 1e-9), spec.ratings - MIN_RATINGS_PER_USER * count);
    counts[user] = MIN_RATINGS_PER_USER + Math.min(cap, upTo - assigned);
    assigned += counts[user]! - MIN_RATINGS_PER_USER;
  }
  // Rounding can leave a few ratings over; give them to users with room.
  for (let user = 0; assigned < spec.ratings - MIN_RATINGS_PER_USER * count; user = (user + 1) % count) {
    if (counts[user]! < spec.items) {
      counts[user]!++;
      assigned++;
    }
  }
  return counts;
}

function* generateRatings(spec: SyntheticSpec, catalogue: Catalogue): Generator<UserRatings> {
  const rng = createRng(deriveSeed(spec.seed, STREAM_RATINGS));
  const sampler = new ChoiceSampler(spec.items);
  const logWeights = new Float64Array(spec.items);
  for (let user = 0; user < spec.users; user++) {
    const count = catalogue.userRatingCount[user]!;
    logChoiceWeights(catalogue, user, logWeights);
    const picked = sampler.drawDistinct(rng, logWeights, count);
    const itemIds = new Int32Array(count);
    const ratings = new Uint8Array(count);
    const userBase = catalogue.centredMean + catalogue.userBias[user]!;
    for (let j = 0; j < count; j++) {
      const item = picked[j]!;
      let score = userBase + catalogue.itemBias[item]! + affinity(catalogue, user, item) + NOISE_SD * rng.normal();
      if (rng.next() < DISLIKE_SHARE) score -= DISLIKE_DROP;
      itemIds[j] = item + 1;
      ratings[j] = Math.min(5, Math.max(1, Math.round(score)));
    }
    const seconds = sessionTimestamps(rng, catalogue.userArrival[user]!, count);
    yield { userId: user + 1, itemIds, ratings, seconds };
  }
}

/** p_u · q_i, the interaction term of the rating model (and, scaled by ρ / s, part of the choice affinity). */
function affinity(catalogue: Pick<Catalogue, 'userFactors' | 'itemFactors'>, user: number, item: number): number {
  let sum = 0;
  for (let f = 0; f < FACTORS; f++) sum += catalogue.userFactors[user * FACTORS + f]! * catalogue.itemFactors[item * FACTORS + f]!;
  return sum;
}

/** β a_ui, the choice tilt of a user towards an item. */
function choiceTilt(catalogue: Pick<Catalogue, 'userChoiceFactors' | 'itemChoiceFactors'>, user: number, item: number): number {
  let sum = 0;
  for (let f = 0; f < 2 * FACTORS; f++) sum += catalogue.userChoiceFactors[user * 2 * FACTORS + f]! * catalogue.itemChoiceFactors[item * 2 * FACTORS + f]!;
  return sum;
}

/** Fills `logWeights` with the user's log choice weights log w_i + β a_ui. */
function logChoiceWeights(
  catalogue: Pick<Catalogue, 'userChoiceFactors' | 'itemChoiceFactors' | 'itemLogWeight'>,
  user: number,
  logWeights: Float64Array,
): void {
  const { itemChoiceFactors, itemLogWeight } = catalogue;
  const width = 2 * FACTORS;
  const userFactors = catalogue.userChoiceFactors.subarray(user * width, (user + 1) * width);
  for (let item = 0; item < logWeights.length; item++) {
    let dot = 0;
    for (let f = 0; f < width; f++) dot += userFactors[f]! * itemChoiceFactors[item * width + f]!;
    logWeights[item] = itemLogWeight[item]! + dot;
  }
}

/**
 * A user's rating times: a first session at arrival holding half or more of their ratings, then
 * a few later sessions at random days before the window ends; within a session, ratings are
 * tens of seconds apart.
 */
function sessionTimestamps(rng: Rng, arrival: number, count: number): Float64Array {
  const sessions = 1 + rng.int(1 + Math.min(8, Math.floor(count / 20)));
  const starts = [arrival];
  for (let s = 1; s < sessions; s++) starts.push(arrival + rng.next() * (WINDOW_END - arrival));
  starts.sort((a, b) => a - b);
  const firstSessionShare = 0.5 + 0.4 * rng.next();
  const sessionSizes = new Int32Array(sessions);
  for (let j = 0; j < count; j++) {
    const session = sessions === 1 || rng.next() < firstSessionShare ? 0 : 1 + rng.int(sessions - 1);
    sessionSizes[session]!++;
  }

  const seconds = new Float64Array(count);
  let time = Math.floor(arrival);
  let j = 0;
  for (let s = 0; s < sessions; s++) {
    time = Math.max(time, Math.floor(starts[s]!));
    for (let n = 0; n < sessionSizes[s]!; n++) {
      seconds[j++] = time;
      time += 1 + Math.floor(-MEAN_SECONDS_BETWEEN_RATINGS * Math.log(1 - rng.next()));
    }
  }
  return seconds;
}

/**
 * Draws distinct items with probability proportional to their weight, by a Fenwick tree over
 * integer weights (so removals are exact): a drawn item's weight is removed for the rest of the
 * user's draws. The tree is rebuilt for each user in O(items), each node adding itself into its
 * parent, so a draw is O(log items) whatever the density.
 */
class ChoiceSampler {
  private readonly integerWeights: Float64Array;
  private readonly tree: Float64Array;
  private readonly topStep: number;
  /** Weights are scaled to integers whose sum stays below 2^52, where doubles add exactly. */
  private readonly resolution: number;
  private total = 0;

  constructor(size: number) {
    this.integerWeights = new Float64Array(size);
    this.tree = new Float64Array(size + 1);
    this.topStep = 2 ** Math.floor(Math.log2(size));
    this.resolution = 2 ** (52 - Math.ceil(Math.log2(size + 1)));
  }

  /** Every item keeps a weight of at least 1, so a dense user can rate them all. */
  drawDistinct(rng: Rng, logWeights: Float64Array, count: number): Int32Array {
    const { integerWeights, tree, resolution } = this;
    const size = logWeights.length;
    let max = -Infinity;
    for (let i = 0; i < size; i++) if (logWeights[i]! > max) max = logWeights[i]!;
    let total = 0;
    for (let i = 0; i < size; i++) {
      const weight = Math.max(1, Math.round(resolution * Math.exp(logWeights[i]! - max)));
      integerWeights[i] = weight;
      tree[i + 1] = weight;
      total += weight;
    }
    for (let i = 1; i <= size; i++) {
      const parent = i + (i & -i);
      if (parent <= size) tree[parent]! += tree[i]!;
    }
    this.total = total;
    const picked = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      const item = this.find(Math.min(this.total - 1, Math.floor(rng.next() * this.total)));
      picked[j] = item;
      this.remove(item);
    }
    return picked;
  }

  private remove(item: number): void {
    const weight = this.integerWeights[item]!;
    this.total -= weight;
    for (let i = item + 1; i < this.tree.length; i += i & -i) this.tree[i]! -= weight;
  }

  /** The item whose cumulative weight range holds `target` (0 ≤ target < total). */
  private find(target: number): number {
    let position = 0;
    for (let step = this.topStep; step > 0; step >>= 1) {
      const next = position + step;
      if (next < this.tree.length && this.tree[next]! <= target) {
        position = next;
        target -= this.tree[next]!;
      }
    }
    return position;
  }
}

function* generateItems(spec: SyntheticSpec, catalogue: Catalogue): Generator<SyntheticItem> {
  const rng = createRng(deriveSeed(spec.seed, STREAM_TITLES));
  for (let item = 0; item < spec.items; item++) {
    const year = catalogue.itemYear[item]!;
    const name = movieName(rng);
    const genreIndices: number[] = [];
    for (let genre = 0; genre < ML100K_GENRES.length; genre++) {
      if (catalogue.itemGenreMask[item]! & (1 << genre)) genreIndices.push(genre);
    }
    if (year === 0) {
      yield { itemId: item + 1, title: name, releaseDate: '', genreIndices };
      continue;
    }
    const day = String(catalogue.itemDay[item]).padStart(2, '0');
    const releaseDate = `${day}-${MONTHS[catalogue.itemMonth[item]!]}-${year}`;
    yield { itemId: item + 1, title: `${name} (${year})`, releaseDate, year, genreIndices };
  }
}

function* generateUsers(spec: SyntheticSpec, catalogue: Catalogue): Generator<SyntheticUser> {
  const rng = createRng(deriveSeed(spec.seed, STREAM_ZIPS));
  for (let user = 0; user < spec.users; user++) {
    yield {
      userId: user + 1,
      age: catalogue.userAge[user]!,
      gender: catalogue.userFemale[user] ? 'F' : 'M',
      occupation: ML100K_OCCUPATIONS[catalogue.userOccupation[user]!]!,
      zip: zipCode(rng),
    };
  }
}

/** ML-style titles, with the article moved to the end as MovieLens does ("Storm, The"). */
function movieName(rng: Rng): string {
  const adjective = TITLE_ADJECTIVES[rng.int(TITLE_ADJECTIVES.length)]!;
  const noun = TITLE_NOUNS[rng.int(TITLE_NOUNS.length)]!;
  const other = TITLE_NOUNS[rng.int(TITLE_NOUNS.length)]!;
  switch (rng.int(4)) {
    case 0:
      return `${adjective} ${noun}`;
    case 1:
      return `${adjective} ${noun}, The`;
    case 2:
      return `${noun} of the ${other}`;
    default:
      return `${noun} and the ${other}`;
  }
}

/** Five digits, and now and then a Canadian-style code, since ML-100K zips are not all numeric. */
function zipCode(rng: Rng): string {
  if (rng.next() < 0.02) {
    const letter = (): string => String.fromCharCode(65 + rng.int(26));
    return `${letter()}${rng.int(10)}${letter()}${rng.int(10)}${letter()}`;
  }
  return String(rng.int(100_000)).padStart(5, '0');
}

function drawGenres(rng: Rng): number[] {
  const howMany = 1 + drawIndex(rng, GENRE_COUNT_WEIGHTS);
  const weights = GENRE_WEIGHTS.slice();
  const genres: number[] = [];
  for (let n = 0; n < howMany; n++) {
    const genre = drawIndex(rng, weights);
    genres.push(genre);
    weights[genre] = 0;
  }
  return genres.sort((a, b) => a - b);
}

/** Students are young and the retired old, as in ML-100K. */
function drawOccupation(rng: Rng, age: number): number {
  const weights = OCCUPATION_WEIGHTS.slice();
  if (age < 18) return rng.next() < 0.85 ? STUDENT : ML100K_OCCUPATIONS.indexOf('none');
  if (age < 25) weights[STUDENT]! *= 6;
  if (age > 35) weights[STUDENT]! *= 0.05;
  if (age >= 60) weights[RETIRED]! *= 30;
  else weights[RETIRED] = 0;
  return drawIndex(rng, weights);
}

function ageBucketOf(age: number): number {
  let bucket = 0;
  while (bucket < AGE_BUCKET_BOUNDS.length && age >= AGE_BUCKET_BOUNDS[bucket]!) bucket++;
  return bucket;
}

function drawIndex(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const weight of weights) total += weight;
  let target = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    target -= weights[i]!;
    if (target < 0 && weights[i]! > 0) return i;
  }
  return weights.findLastIndex((weight) => weight > 0);
}

/**
 * The standard deviation of p_u · q_i over the catalogue, pooled within users (a user's mean
 * affinity does not change which items they choose), on the sampled users. How far the shared
 * embeddings spread taste varies with the seed; measuring β in this unit keeps the choice tilt,
 * and so the ranking facts, the same for every seed.
 */
function withinUserDotSd(userFactors: Float32Array, itemFactors: Float32Array): number {
  const itemCount = itemFactors.length / FACTORS;
  let variances = 0;
  const users = sampledUsers(userFactors.length / FACTORS);
  for (const user of users) {
    let sum = 0;
    let squares = 0;
    for (let item = 0; item < itemCount; item++) {
      const value = affinity({ userFactors, itemFactors }, user, item);
      sum += value;
      squares += value * value;
    }
    variances += squares / itemCount - (sum / itemCount) ** 2;
  }
  return Math.sqrt(variances / users.length) || 1;
}

/**
 * The mean of b_u + b_i + p_u · q_i over the ratings drawn, on the sampled users. The shared
 * embeddings and the choice tilt towards liked items make it nonzero, and different for every seed.
 */
function expectedTerms(
  catalogue: Pick<
    Catalogue,
    'itemLogWeight' | 'itemBias' | 'itemFactors' | 'userBias' | 'userFactors' | 'userRatingCount' | 'userChoiceFactors' | 'itemChoiceFactors'
  >,
): number {
  const probabilities = new Float64Array(catalogue.itemLogWeight.length);
  let sum = 0;
  let ratings = 0;
  for (const user of sampledUsers(catalogue.userBias.length)) {
    const count = catalogue.userRatingCount[user]!;
    logChoiceWeights(catalogue, user, probabilities);
    inclusionProbabilities(probabilities, count);
    sum += count * catalogue.userBias[user]!;
    for (let item = 0; item < probabilities.length; item++) {
      sum += probabilities[item]! * (catalogue.itemBias[item]! + affinity(catalogue, user, item));
    }
    ratings += count;
  }
  return sum / ratings;
}

/** At most EXPECTATION_USERS users, evenly spaced over the ids. */
function sampledUsers(userCount: number): number[] {
  const stride = Math.max(1, userCount / EXPECTATION_USERS);
  return Array.from({ length: Math.ceil(userCount / stride) }, (_, sample) => Math.floor(sample * stride));
}

/**
 * Turns log choice weights, in place, into the chance that item i is among `count` draws without
 * replacement, by the usual approximation π_i = 1 − exp(−λ w_i) with λ such that Σ π_i = count
 * (Newton's method from below, which converges monotonically since the sum is concave in λ).
 * Heavy users flatten towards uniform; weighting by w_i alone would overstate the tilt.
 */
function inclusionProbabilities(weights: Float64Array, count: number): void {
  if (count >= weights.length) {
    weights.fill(1);
    return;
  }
  const max = weights.reduce((a, b) => Math.max(a, b), -Infinity);
  for (let item = 0; item < weights.length; item++) weights[item] = Math.exp(weights[item]! - max);
  let lambda = count / weights.reduce((a, b) => a + b, 0);
  for (let iteration = 0; iteration < 100; iteration++) {
    let expected = 0;
    let slope = 0;
    for (const weight of weights) {
      const miss = Math.exp(-lambda * weight);
      expected += 1 - miss;
      slope += weight * miss;
    }
    if (count - expected < 1e-6 * count) break;
    lambda += (count - expected) / slope;
  }
  for (let item = 0; item < weights.length; item++) weights[item] = 1 - Math.exp(-lambda * weights[item]!);
}

function gaussianMatrix(rng: Rng, rows: number, sd: number): Float32Array {
  return Float32Array.from({ length: rows * FACTORS }, () => sd * rng.normal());
}

function meanAndSd(values: Float64Array): { mean: number; sd: number } {
  let sum = 0;
  for (const value of values) sum += value;
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { mean, sd: Math.sqrt(squares / values.length) };
}
